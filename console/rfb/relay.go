package rfb

import (
	"encoding/binary"
	"errors"
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

// ErrNotFollowed reports that RelayAuth met a handshake it cannot follow
// to its outcome: a security type other than VNC Authentication and
// VeNCrypt, a VeNCrypt version other than 0.2, or a VeNCrypt subtype
// other than Plain (those that start TLS, say). Everything RelayAuth read
// until then has been relayed whole, so the caller may go on relaying
// both directions untouched; it just cannot learn whether the login
// succeeded.
var ErrNotFollowed = errors.New("rfb: relay: handshake not followed")

// RelayAuth relays the RFB handshake between a client and a server,
// byte for byte, up to and including the server's SecurityResult, and
// returns what the server decided: nil when the client logged in, an
// error matching ErrAuthFailed (an *AuthError with the server's reason)
// when the credentials were refused, one matching ErrRefused when the
// server refused the connection before asking for any. It follows VNC
// Authentication, and VeNCrypt 0.2 with its Plain subtype (username and
// password in the clear, which it relays without keeping). On a handshake
// it cannot follow it returns an error matching ErrNotFollowed, after
// which the caller may relay the rest untouched. Anything else is an I/O
// error or a *ProtocolError. The caller goes on relaying the session on
// nil or ErrNotFollowed only; otherwise it closes both sides. The verdict
// is known once the server has sent SecurityResult, even if the client
// has gone by then.
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

	var t SecurityType
	if v == version33 {
		b, err := r.fromServer(4)
		if err != nil {
			return err
		}
		switch n := binary.BigEndian.Uint32(b); n {
		case securityInvalid:
			return r.refusal()
		case uint32(SecurityVNCAuth):
			t = SecurityVNCAuth
		default:
			return fmt.Errorf("%w: the server chose security type %d", ErrNotFollowed, n)
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
		t = SecurityType(c[0])
	}

	switch t {
	case SecurityVNCAuth:
		if _, err := r.fromServer(16); err != nil { // challenge
			return err
		}
		if _, err := r.fromClient(16); err != nil { // response
			return err
		}
	case SecurityVeNCrypt:
		if err := r.plain(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: the client chose security type %d", ErrNotFollowed, t)
	}
	return r.result(v)
}

// plain relays VeNCrypt's version negotiation, its subtype choice and, for
// Plain, the credentials, streamed through without being kept.
func (r relay) plain() error {
	if _, err := r.fromServer(2); err != nil { // the server's version
		return err
	}
	cv, err := r.fromClient(2)
	if err != nil {
		return err
	}
	if cv[0] != 0 || cv[1] != 2 {
		return fmt.Errorf("%w: VeNCrypt version %d.%d", ErrNotFollowed, cv[0], cv[1])
	}
	ack, err := r.fromServer(1)
	if err != nil {
		return err
	}
	if ack[0] != 0 {
		return fmt.Errorf("%w: the server refused VeNCrypt 0.2", ErrRefused)
	}
	n, err := r.fromServer(1)
	if err != nil {
		return err
	}
	if n[0] == 0 {
		return fmt.Errorf("%w: the server offers no VeNCrypt subtype", ErrRefused)
	}
	if _, err := r.fromServer(4 * int(n[0])); err != nil {
		return err
	}
	sub, err := r.fromClient(4)
	if err != nil {
		return err
	}
	if st := binary.BigEndian.Uint32(sub); st != vencryptPlain {
		return fmt.Errorf("%w: the client chose VeNCrypt subtype %d", ErrNotFollowed, st)
	}
	lens, err := r.fromClient(8)
	if err != nil {
		return err
	}
	ulen, plen := binary.BigEndian.Uint32(lens), binary.BigEndian.Uint32(lens[4:])
	if ulen > maxPlainField || plen > maxPlainField {
		return protocolErrorf("VeNCrypt Plain credentials too long")
	}
	if _, err := io.CopyN(r.server, r.client, int64(ulen+plen)); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	return nil
}

// result relays the server's SecurityResult (and, in RFB 3.8, the reason
// of a failure) and returns the verdict.
func (r relay) result(v version) error {
	res, err := readN(r.server, 4)
	if err != nil {
		return err
	}
	if binary.BigEndian.Uint32(res) == 0 {
		_, err := r.client.Write(res)
		return err
	}
	// Refused: the verdict stands whatever happens to the reason or to
	// the client.
	fail := &AuthError{}
	if v == version38 {
		if reason, err := readString(r.server, maxReason); err == nil {
			fail.Reason = reason
			res = appendString(res, reason)
		}
	}
	_, _ = r.client.Write(res)
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
