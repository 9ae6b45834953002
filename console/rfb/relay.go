package rfb

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"
)

// ReasonTooManyFailures is the reason Xvnc gives a client from a
// blacklisted address (TigerVNC VNCServerST::addSocket).
const ReasonTooManyFailures = "Too many security failures"

// refuseLinger bounds how long Refuse waits for the client to read the
// refusal before the connection is closed.
const refuseLinger = 2 * time.Second

// Refuse tells a client that it may not connect, the shortest way RFB
// has, which is Xvnc's for a blacklisted address: the RFB 3.3 version
// message, security type 0 (connection failed) and reason, sent at once
// without waiting for the client's version. Every RFB client reads it as
// a refusal with that reason (Login returns ErrRefused). When conn can
// half-close (TCP), Refuse then waits a little for the client to hang up,
// so that the client's own version message arriving late does not make
// the kernel reset the connection before the refusal is read. The caller
// closes conn.
func Refuse(conn net.Conn, reason string) error {
	b := appendU32(version33.message(), securityInvalid)
	if _, err := conn.Write(appendString(b, reason)); err != nil {
		return err
	}
	if cw, ok := conn.(interface{ CloseWrite() error }); ok {
		if err := cw.CloseWrite(); err == nil {
			_ = conn.SetReadDeadline(time.Now().Add(refuseLinger))
			_, _ = io.CopyN(io.Discard, conn, 4096)
		}
	}
	return nil
}

// RelayAuth relays the RFB handshake between a client and a server,
// byte for byte, up to and including the server's SecurityResult, and
// returns what the server decided: nil when the client logged in, an
// error matching ErrAuthFailed (an *AuthError with the server's reason)
// when the credentials were refused, one matching ErrRefused when the
// server refused the connection before asking for any. Anything else is
// an I/O error, a *ProtocolError, or a security type other than VNC
// Authentication, whose exchange RelayAuth does not follow: it cannot
// tell that exchange's outcome, so it relays no further. Only on nil
// should the caller go on relaying the session; otherwise it closes both
// sides. The verdict is known once the server has sent SecurityResult,
// even if the client has gone by then.
//
// RelayAuth reads exactly the bytes of each handshake message, so nothing
// beyond the handshake is consumed from either side. It sets no
// deadline; the caller bounds the handshake (closing both ends ends it).
func RelayAuth(client, server io.ReadWriter) error {
	r := relay{client: client, server: server}
	sv, err := r.fromServer(12)
	if err != nil {
		return err
	}
	cv, err := r.fromClient(12)
	if err != nil {
		return err
	}
	serverVersion, err := parseVersion(sv)
	if err != nil {
		return err
	}
	clientVersion, err := parseVersion(cv)
	if err != nil {
		return err
	}
	v := min(serverVersion, clientVersion)

	if v == version33 {
		b, err := r.fromServer(4)
		if err != nil {
			return err
		}
		switch t := binary.BigEndian.Uint32(b); t {
		case securityInvalid:
			return r.refusal()
		case uint32(SecurityVNCAuth):
		default:
			return fmt.Errorf("rfb: relay: server chose security type %d, which the relay does not follow", t)
		}
	} else {
		n, err := r.fromServer(1)
		if err != nil {
			return err
		}
		if n[0] == 0 {
			return r.refusal()
		}
		if _, err := r.fromServer(int(n[0])); err != nil {
			return err
		}
		c, err := r.fromClient(1)
		if err != nil {
			return err
		}
		if SecurityType(c[0]) != SecurityVNCAuth {
			return fmt.Errorf("rfb: relay: client chose security type %d, which the relay does not follow", c[0])
		}
	}

	if _, err := r.fromServer(16); err != nil { // challenge
		return err
	}
	if _, err := r.fromClient(16); err != nil { // response
		return err
	}
	res, err := readN(server, 4)
	if err != nil {
		return err
	}
	if binary.BigEndian.Uint32(res) == 0 {
		_, err := client.Write(res)
		return err
	}
	// Refused: the verdict stands whatever happens to the reason or to
	// the client.
	fail := &AuthError{}
	if v == version38 {
		if reason, err := readString(server, maxReason); err == nil {
			fail.Reason = reason
			res = appendString(res, reason)
		}
	}
	_, _ = client.Write(res)
	return fail
}

// relay copies handshake messages between the two ends.
type relay struct {
	client, server io.ReadWriter
}

// fromServer copies the server's next n bytes to the client.
func (r relay) fromServer(n int) ([]byte, error) { return copyN(r.client, r.server, n) }

// fromClient copies the client's next n bytes to the server.
func (r relay) fromClient(n int) ([]byte, error) { return copyN(r.server, r.client, n) }

// refusal copies the reason that follows the server's refusal and
// returns ErrRefused with it.
func (r relay) refusal() error {
	n, err := r.fromServer(4)
	if err != nil {
		return err
	}
	size := binary.BigEndian.Uint32(n)
	if size > maxReason {
		return protocolErrorf("reason of %d bytes exceeds limit %d", size, maxReason)
	}
	reason, err := r.fromServer(int(size))
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s", ErrRefused, reason)
}

// copyN reads exactly n bytes from src and writes them to dst.
func copyN(dst io.Writer, src io.Reader, n int) ([]byte, error) {
	b, err := readN(src, n)
	if err != nil {
		return nil, err
	}
	if _, err := dst.Write(b); err != nil {
		return nil, err
	}
	return b, nil
}
