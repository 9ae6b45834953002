package rfb

import (
	"bytes"
	"encoding/hex"
	"io"
	"net"
	"testing"

	vnc "github.com/mitchellh/go-vnc"
)

// Vectors from `printf '%s\n' PW | vncpasswd -f | xxd -p` (TigerVNC 1.12),
// vnc-backends.md §2.
func TestPasswdFileMatchesVncpasswd(t *testing.T) {
	vectors := []struct{ pw, hex string }{
		{"Ab1234", "afb16a2ad1a2f2f5"},
		{"Secret12", "50ccb2fc99726c7f"},
		{"Secret12345", "50ccb2fc99726c7f"},
		{"Secret1", "48d2f8b93b224fdf"},
		{"abc", "9c0a172d3482e122"},
		{"ab", "f9b845297cb5d3f2"},
		{"", "5ab2cdc0badcaf13"},
		{"pässwörd", "b2fd172a9c69b143"},
	}
	for i, v := range vectors {
		if got := hex.EncodeToString(PasswdFile(v.pw)); got != v.hex {
			// Vector index only: the table is public but failure output
			// never carries passwords.
			t.Errorf("vector %d: PasswdFile = %s, want %s", i, got, v.hex)
		}
	}
}

func TestDESKeyReversesBitsOfFirstEightBytes(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		// 'A' 0x41 = 01000001 → 10000010 = 0x82, 'b' 0x62 → 0x46, '1' 0x31 → 0x8c …
		{[]byte("Ab1234"), "82468c4ccc2c0000"},
		{[]byte("Ab1234-and-more"), "82468c4ccc2cb486"}, // '-' → 0xb4, 'a' → 0x86; the rest ignored
		{passwdFileKey[:], "e84ad660c4721ae0"},          // vnc-backends.md §2
		{nil, "0000000000000000"},
	}
	for i, c := range cases {
		k := desKey(c.in)
		if got := hex.EncodeToString(k[:]); got != c.want {
			t.Errorf("case %d: desKey = %s, want %s", i, got, c.want)
		}
	}
}

// TestChallengeResponseMatchesGoVNC checks the response against an
// independent implementation: mitchellh/go-vnc's PasswordAuth.
func TestChallengeResponseMatchesGoVNC(t *testing.T) {
	challenge := []byte("0123456789abcdef")
	for _, pw := range []string{"Ab1234", "Passw0rdA", "x", "pässwörd"} {
		a, b := net.Pipe()
		errc := make(chan error, 1)
		go func() {
			errc <- (&vnc.PasswordAuth{Password: pw}).Handshake(b)
			b.Close()
		}()
		if _, err := a.Write(challenge); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 16)
		if _, err := io.ReadFull(a, got); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		a.Close()
		if !bytes.Equal(got, challengeResponse(pw, challenge)) {
			t.Errorf("response for a %d-byte password differs from go-vnc's", len(pw))
		}
	}
}
