package rfb

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"slices"
)

// security negotiates the security type, authenticates the client and sends
// SecurityResult (RFC 6143 §7.1.2, §7.1.3, §7.2.2; VeNCrypt 0.2 Plain).
// A failed login returns an error matching ErrAuthFailed, with the callback's
// error joined when a password lookup failed.
func (s *session) security() error {
	var t SecurityType
	if s.ver == version33 {
		// In 3.3 the server decides, and only VNC Authentication exists.
		if !slices.Contains(s.types, SecurityVNCAuth) {
			const reason = "no security type available for RFB 3.3"
			_ = s.write(appendString(appendU32(nil, securityInvalid), reason)) // best effort: closing anyway
			return errors.New("rfb: " + reason)
		}
		t = SecurityVNCAuth
		if err := s.write(appendU32(nil, uint32(t))); err != nil {
			return err
		}
	} else {
		b := []byte{byte(len(s.types))}
		for _, t := range s.types {
			b = append(b, byte(t))
		}
		if err := s.write(b); err != nil {
			return err
		}
		c, err := readU8(s.br)
		if err != nil {
			return err
		}
		t = SecurityType(c)
		if !slices.Contains(s.types, t) {
			return protocolErrorf("client chose security type %d, which was not offered", c)
		}
	}

	var ok bool
	var lookupErr error
	var err error
	switch t {
	case SecurityVNCAuth:
		ok, lookupErr, err = s.vncAuth()
	case SecurityVeNCrypt:
		ok, err = s.plainAuth()
	}
	if err != nil {
		return err
	}
	if s.cfg.OnAuth != nil {
		s.cfg.OnAuth(ok)
	}
	if ok {
		return s.write(appendU32(nil, 0))
	}
	b := appendU32(nil, 1)
	if s.ver == version38 {
		b = appendString(b, reasonAuthFailed)
	}
	if err := s.write(b); err != nil {
		return err
	}
	if lookupErr != nil {
		return errors.Join(ErrAuthFailed, fmt.Errorf("rfb: password lookup: %w", lookupErr))
	}
	return ErrAuthFailed
}

// vncAuth runs VNC Authentication: a random 16-byte challenge, answered with
// the challenge DES-encrypted under the password's first 8 bytes. The
// password is looked up after the response arrives so that each attempt
// sees the current one. lookupErr is the VNCPassword callback's error; err
// is an I/O or random-source failure.
func (s *session) vncAuth() (ok bool, lookupErr, err error) {
	challenge := make([]byte, 16)
	if _, err := io.ReadFull(s.cfg.Rand, challenge); err != nil {
		return false, nil, fmt.Errorf("rfb: reading random challenge: %w", err)
	}
	if err := s.write(challenge); err != nil {
		return false, nil, err
	}
	resp, err := readN(s.br, 16)
	if err != nil {
		return false, nil, err
	}
	pw, lookupErr := s.cfg.VNCPassword(s.ctx)
	if lookupErr != nil || pw == "" {
		return false, lookupErr, nil
	}
	want := challengeResponse(pw, challenge)
	return subtle.ConstantTimeCompare(want, resp) == 1, nil, nil
}

// plainAuth runs VeNCrypt version negotiation and the Plain subtype: the
// client sends a username and password, both whole, which CheckPlain judges.
func (s *session) plainAuth() (bool, error) {
	if err := s.write([]byte{0, 2}); err != nil {
		return false, err
	}
	v, err := readN(s.br, 2)
	if err != nil {
		return false, err
	}
	if !bytes.Equal(v, []byte{0, 2}) {
		_ = s.write([]byte{0xff}) // best effort: closing anyway
		return false, protocolErrorf("unsupported VeNCrypt version %d.%d", v[0], v[1])
	}
	b := []byte{0, 1} // version accepted; one subtype follows
	if err := s.write(appendU32(b, vencryptPlain)); err != nil {
		return false, err
	}
	sub, err := readU32(s.br)
	if err != nil {
		return false, err
	}
	if sub != vencryptPlain {
		return false, protocolErrorf("client chose VeNCrypt subtype %d, which was not offered", sub)
	}
	ulen, err := readU32(s.br)
	if err != nil {
		return false, err
	}
	plen, err := readU32(s.br)
	if err != nil {
		return false, err
	}
	if ulen > maxPlainField || plen > maxPlainField {
		return false, protocolErrorf("VeNCrypt Plain credentials too long")
	}
	creds, err := readN(s.br, int(ulen+plen))
	if err != nil {
		return false, err
	}
	user, pass := string(creds[:ulen]), string(creds[ulen:])
	if pass == "" {
		return false, nil
	}
	return s.cfg.CheckPlain(s.ctx, user, pass), nil
}
