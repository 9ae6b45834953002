package rfb

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"time"
)

// ClientConn is a logged-in client connection. Its methods must not be
// called concurrently.
type ClientConn struct {
	conn   net.Conn
	br     *bufio.Reader
	width  int
	height int
	name   string

	formatSent bool // SetPixelFormat and SetEncodings have been sent
}

// Width is the framebuffer width the server announced.
func (c *ClientConn) Width() int { return c.width }

// Height is the framebuffer height the server announced.
func (c *ClientConn) Height() int { return c.height }

// Name is the desktop name the server announced.
func (c *ClientConn) Name() string { return c.name }

// Close closes the underlying connection.
func (c *ClientConn) Close() error { return c.conn.Close() }

// Login logs in to the RFB server on conn with VNC Authentication and
// completes initialisation (shared session). It speaks RFB 3.8, or 3.7 or
// 3.3 when the server offers only those. A rejected password gives an error
// matching ErrAuthFailed; a server that refuses before asking for a password,
// or that does not offer VNC Authentication, one matching ErrRefused. The
// password is sent as VNC sends it, so only its first 8 bytes count, and an
// empty password is sent as such. ctx bounds the login (its deadline
// becomes conn's for the duration). On error conn is left open; the caller
// closes it.
func Login(ctx context.Context, conn net.Conn, password string) (*ClientConn, error) {
	return login(ctx, conn, SecurityVNCAuth, func(br *bufio.Reader) error {
		challenge, err := readN(br, 16)
		if err != nil {
			return err
		}
		_, err = conn.Write(challengeResponse(password, challenge))
		return err
	})
}

// LoginPlain logs in like Login but with VeNCrypt's Plain subtype, which
// sends user and the whole of pass unencrypted; use it only on a trusted
// or otherwise protected path. It needs RFB 3.7 or later.
func LoginPlain(ctx context.Context, conn net.Conn, user, pass string) (*ClientConn, error) {
	return login(ctx, conn, SecurityVeNCrypt, func(br *bufio.Reader) error {
		v, err := readN(br, 2)
		if err != nil {
			return err
		}
		if v[0] != 0 || v[1] < 2 {
			return fmt.Errorf("%w: VeNCrypt version %d.%d is not supported", ErrRefused, v[0], v[1])
		}
		if _, err := conn.Write([]byte{0, 2}); err != nil {
			return err
		}
		ack, err := readU8(br)
		if err != nil {
			return err
		}
		if ack != 0 {
			return fmt.Errorf("%w: server rejected VeNCrypt 0.2", ErrRefused)
		}
		n, err := readU8(br)
		if err != nil {
			return err
		}
		subtypes := make([]uint32, n)
		for i := range subtypes {
			if subtypes[i], err = readU32(br); err != nil {
				return err
			}
		}
		if !slices.Contains(subtypes, vencryptPlain) {
			return fmt.Errorf("%w: server offers VeNCrypt subtypes %v, not Plain", ErrRefused, subtypes)
		}
		b := appendU32(nil, vencryptPlain)
		b = appendU32(b, uint32(len(user)))
		b = appendU32(b, uint32(len(pass)))
		b = append(b, user...)
		b = append(b, pass...)
		_, err = conn.Write(b)
		return err
	})
}

// login runs the handshake with security type want, whose exchange auth
// performs, then ClientInit and ServerInit.
func login(ctx context.Context, conn net.Conn, want SecurityType, auth func(*bufio.Reader) error) (*ClientConn, error) {
	c := &ClientConn{conn: conn, br: bufio.NewReader(conn)}
	err := withContext(ctx, conn, func() error {
		msg, err := readN(c.br, 12)
		if err != nil {
			return err
		}
		v, err := parseVersion(msg)
		if err != nil {
			return err
		}
		if _, err := conn.Write(v.message()); err != nil {
			return err
		}
		if err := c.chooseSecurity(v, want); err != nil {
			return err
		}
		if err := auth(c.br); err != nil {
			return err
		}
		if err := c.securityResult(v); err != nil {
			return err
		}
		if _, err := conn.Write([]byte{1}); err != nil { // ClientInit: shared
			return err
		}
		return c.readServerInit()
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

// chooseSecurity negotiates security type want (RFC 6143 §7.1.2).
func (c *ClientConn) chooseSecurity(v version, want SecurityType) error {
	if v == version33 {
		t, err := readU32(c.br)
		if err != nil {
			return err
		}
		if t == securityInvalid {
			return c.refused()
		}
		if t != uint32(want) {
			return fmt.Errorf("%w: RFB 3.3 server chose security type %d, not %v", ErrRefused, t, want)
		}
		return nil
	}
	n, err := readU8(c.br)
	if err != nil {
		return err
	}
	if n == 0 {
		return c.refused()
	}
	types, err := readN(c.br, int(n))
	if err != nil {
		return err
	}
	if !slices.Contains(types, byte(want)) {
		return fmt.Errorf("%w: server offers security types %v, not %v", ErrRefused, types, want)
	}
	_, err = c.conn.Write([]byte{byte(want)})
	return err
}

// refused reads the reason that follows a refusal and returns ErrRefused
// with it.
func (c *ClientConn) refused() error {
	reason, err := readString(c.br, maxReason)
	if err != nil {
		return fmt.Errorf("%w (reason unreadable: %v)", ErrRefused, err)
	}
	return fmt.Errorf("%w: %s", ErrRefused, reason)
}

// securityResult reads SecurityResult; a failure carries a reason in 3.8.
func (c *ClientConn) securityResult(v version) error {
	r, err := readU32(c.br)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			// Some servers close instead of answering a bad login.
			return &AuthError{Reason: "connection closed"}
		}
		return err
	}
	if r == 0 {
		return nil
	}
	ae := &AuthError{}
	if v == version38 {
		if reason, err := readString(c.br, maxReason); err == nil {
			ae.Reason = reason
		}
	}
	return ae
}

// readServerInit reads ServerInit (RFC 6143 §7.3.2).
func (c *ClientConn) readServerInit() error {
	b, err := readN(c.br, 20)
	if err != nil {
		return err
	}
	c.width = int(b[0])<<8 | int(b[1])
	c.height = int(b[2])<<8 | int(b[3])
	c.name, err = readString(c.br, maxReason)
	return err
}

// withContext runs fn with conn's deadline set from ctx, and aborts fn's I/O
// when ctx is cancelled. After a cancellation conn keeps a deadline in the
// past and is unusable.
func withContext(ctx context.Context, conn net.Conn, fn func() error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d, ok := ctx.Deadline(); ok {
		if err := conn.SetDeadline(d); err != nil {
			return err
		}
	}
	stop := context.AfterFunc(ctx, func() {
		conn.SetDeadline(time.Unix(1, 0)) // in the past: every pending I/O fails
	})
	err := fn()
	if !stop() {
		return fmt.Errorf("rfb: %w", ctx.Err())
	}
	if _, ok := ctx.Deadline(); ok {
		if derr := conn.SetDeadline(time.Time{}); err == nil {
			err = derr
		}
	}
	return err
}
