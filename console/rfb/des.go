package rfb

import (
	"crypto/des"
	"math/bits"
)

// passwdFileKey is the fixed key with which VNC's vncpasswd obscures a
// password file (vnc-backends.md §2). It is written in VNC's own key
// convention; desKey turns it into a standard DES key like any password.
var passwdFileKey = [8]byte{23, 82, 107, 6, 35, 78, 88, 7}

// desKey turns a VNC password into the DES key VNC uses: the first 8 bytes
// of the password, NUL-padded, with the bit order of every byte reversed.
// VNC's d3des reads key bits least significant first, while crypto/des is
// standard DES, most significant first; reversing each byte reconciles them.
// Bytes after the eighth are ignored, as every VNC server ignores them.
func desKey(password []byte) [8]byte {
	var k [8]byte
	copy(k[:], password)
	for i, b := range k {
		k[i] = bits.Reverse8(b)
	}
	return k
}

// encryptECB encrypts src (a multiple of 8 bytes) with DES-ECB under the VNC
// key derived from password, returning a new slice.
func encryptECB(password, src []byte) []byte {
	k := desKey(password)
	c, err := des.NewCipher(k[:])
	if err != nil {
		// des.NewCipher fails only for a key that is not 8 bytes long.
		panic("rfb: " + err.Error())
	}
	out := make([]byte, len(src))
	for i := 0; i+des.BlockSize <= len(src); i += des.BlockSize {
		c.Encrypt(out[i:i+des.BlockSize], src[i:i+des.BlockSize])
	}
	return out
}

// challengeResponse is the VNC Authentication response to a 16-byte
// challenge: the challenge encrypted with DES-ECB under desKey(password).
func challengeResponse(password string, challenge []byte) []byte {
	return encryptECB([]byte(password), challenge)
}

// PasswdFile returns the contents of a TigerVNC password file for pw, byte
// for byte what `vncpasswd -f` writes: 8 bytes, the first 8 bytes of pw
// NUL-padded and encrypted with DES under VNC's fixed obscuring key. The file
// holds no view-only password. The scheme obscures the password and does
// not protect it: write the file with mode 0600, and replace it atomically
// (temporary file and rename) because Xvnc re-reads it on every connection.
func PasswdFile(pw string) []byte {
	var plain [8]byte
	copy(plain[:], pw)
	return encryptECB(passwdFileKey[:], plain[:])
}
