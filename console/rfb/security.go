package rfb

import "fmt"

// SecurityType is an RFB security type number (RFC 6143 §7.1.2).
type SecurityType uint8

// The security types this package implements.
const (
	// SecurityVNCAuth is VNC Authentication: a DES challenge and response
	// keyed by the first 8 bytes of the password.
	SecurityVNCAuth SecurityType = 2
	// SecurityVeNCrypt is VeNCrypt; this package implements only its Plain
	// subtype, a username and full-length password sent in the clear.
	SecurityVeNCrypt SecurityType = 19
)

// Internal protocol numbers.
const (
	securityInvalid = 0 // RFB 3.3 "connection failed", followed by a reason

	vencryptPlain = 256 // VeNCrypt subtype Plain

	// maxPlainField bounds each VeNCrypt Plain username and password so that
	// a client cannot make the server allocate without limit.
	maxPlainField = 4096
	// maxReason bounds a reason string read by the client.
	maxReason = 1 << 16

	// reasonAuthFailed is the SecurityResult reason TigerVNC sends.
	reasonAuthFailed = "Authentication failure"
)

func (t SecurityType) String() string {
	switch t {
	case SecurityVNCAuth:
		return "VncAuth"
	case SecurityVeNCrypt:
		return "VeNCrypt"
	}
	return fmt.Sprintf("SecurityType(%d)", uint8(t))
}

// version is a negotiated RFB protocol version: 3 (for 3.3), 7 or 8, the
// minor number of the three versions this package speaks.
type version int

const (
	version33 version = 3
	version37 version = 7
	version38 version = 8
)

// versionMessage is the 12-byte ProtocolVersion message for v.
func (v version) message() []byte {
	return fmt.Appendf(nil, "RFB 003.%03d\n", int(v))
}

// parseVersion reads a 12-byte ProtocolVersion message and maps it onto the
// versions this package speaks, as RFC 6143 §7.1.1 asks: minors below 7
// (3.3 and the non-standard 3.4–3.6) are treated as 3.3, minors above 8 (for
// example Apple's 3.889) as 3.8. Other major versions are an error.
func parseVersion(msg []byte) (version, error) {
	if len(msg) != 12 || string(msg[:4]) != "RFB " || msg[7] != '.' || msg[11] != '\n' {
		return 0, protocolErrorf("malformed protocol version")
	}
	major, ok1 := threeDigits(msg[4:7])
	minor, ok2 := threeDigits(msg[8:11])
	if !ok1 || !ok2 {
		return 0, protocolErrorf("malformed protocol version")
	}
	if major != 3 {
		return 0, protocolErrorf("unsupported protocol version %d.%d", major, minor)
	}
	switch {
	case minor < 7:
		return version33, nil
	case minor == 7:
		return version37, nil
	default:
		return version38, nil
	}
}

// threeDigits parses exactly three ASCII decimal digits.
func threeDigits(b []byte) (int, bool) {
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
