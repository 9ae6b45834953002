package rfb

import (
	"errors"
	"fmt"
)

// ErrAuthFailed reports that the server rejected the credentials. Errors
// returned by Login and LoginPlain match it with errors.Is; they are
// *AuthError values carrying the server's reason when it sent one. Serve
// returns it, wrapped, when a client fails to authenticate.
var ErrAuthFailed = errors.New("rfb: authentication failed")

// ErrRefused reports that the server refused the connection before any
// credentials were checked, for example because it offers no security type
// the client supports, or because it has blacklisted the client's address
// ("Too many security failures").
var ErrRefused = errors.New("rfb: connection refused by server")

// AuthError is a failed login. Reason is the server's text (RFB 3.8 sends
// one, for example TigerVNC's "Authentication failure"; 3.3 and 3.7 do not).
// It never contains the password that was tried.
type AuthError struct {
	Reason string
}

func (e *AuthError) Error() string {
	if e.Reason == "" {
		return ErrAuthFailed.Error()
	}
	return ErrAuthFailed.Error() + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrAuthFailed) hold.
func (e *AuthError) Unwrap() error { return ErrAuthFailed }

// ProtocolError is a violation of the RFB protocol by the peer: a malformed
// or unexpected message, or a value out of range.
type ProtocolError struct {
	Msg string
}

func (e *ProtocolError) Error() string { return "rfb: protocol error: " + e.Msg }

func protocolErrorf(format string, args ...any) error {
	return &ProtocolError{Msg: fmt.Sprintf(format, args...)}
}
