package guestimage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// Serial is a connection to the guest's serial console (a unix socket
// that QEMU or libvirt serves). Its methods are not safe for concurrent
// use.
type Serial struct {
	conn net.Conn
	seen []byte // output read since the last match
}

// DialSerial connects to the serial console socket at path.
func DialSerial(ctx context.Context, path string) (*Serial, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		return nil, err
	}
	return &Serial{conn: conn}, nil
}

// Close closes the connection.
func (s *Serial) Close() error { return s.conn.Close() }

// Expect reads the console until one of the texts appears and returns its
// index; output up to the end of the match is consumed. ctx bounds the
// wait. Its error never quotes what was typed.
func (s *Serial) Expect(ctx context.Context, texts ...string) (int, error) {
	buf := make([]byte, 4096)
	for {
		for i, t := range texts {
			if j := strings.Index(string(s.seen), t); j >= 0 {
				s.seen = s.seen[j+len(t):]
				return i, nil
			}
		}
		deadline, ok := ctx.Deadline()
		if !ok {
			deadline = time.Now().Add(time.Minute)
		}
		s.conn.SetReadDeadline(deadline)
		n, err := s.conn.Read(buf)
		s.seen = append(s.seen, buf[:n]...)
		if err != nil {
			return -1, fmt.Errorf("guestimage: serial console: waiting for %q: %w", texts, err)
		}
		if err := ctx.Err(); err != nil {
			return -1, err
		}
	}
}

// Send types line and a newline on the console.
func (s *Serial) Send(line string) error {
	_, err := s.conn.Write([]byte(line + "\n"))
	return err
}

// WaitLogin waits for the login prompt, asking for a fresh one first.
func (s *Serial) WaitLogin(ctx context.Context) error {
	if err := s.Send(""); err != nil {
		return err
	}
	_, err := s.Expect(ctx, "login: ")
	return err
}

// Login logs user in with password at the login prompt and reports
// whether the guest took the password; after a success it logs out
// again. It leaves the console at a login prompt either way.
func (s *Serial) Login(ctx context.Context, user, password string) (bool, error) {
	if err := s.WaitLogin(ctx); err != nil {
		return false, err
	}
	if err := s.Send(user); err != nil {
		return false, err
	}
	if _, err := s.Expect(ctx, "Password: "); err != nil {
		return false, err
	}
	if err := s.Send(password); err != nil {
		return false, err
	}
	i, err := s.Expect(ctx, "Login incorrect", "# ")
	if err != nil {
		return false, err
	}
	if i == 0 {
		// login pauses, then prompts again.
		_, err := s.Expect(ctx, "login: ")
		return false, err
	}
	// The shell's prompt ends with a cursor position query (ESC [6n),
	// which nothing needs to answer.
	if err := s.Send("exit"); err != nil {
		return true, err
	}
	if _, err := s.Expect(ctx, "login: "); err != nil {
		return true, errors.Join(errors.New("guestimage: no login prompt after logging out"), err)
	}
	return true, nil
}
