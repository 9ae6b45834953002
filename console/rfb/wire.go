package rfb

import (
	"encoding/binary"
	"io"
)

func appendU16(b []byte, v uint16) []byte { return binary.BigEndian.AppendUint16(b, v) }
func appendU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }

// appendString appends an RFB string: a u32 length, then the bytes.
func appendString(b []byte, s string) []byte {
	return append(appendU32(b, uint32(len(s))), s...)
}

func readU8(r io.Reader) (uint8, error) {
	var b [1]byte
	_, err := io.ReadFull(r, b[:])
	return b[0], err
}

func readU16(r io.Reader) (uint16, error) {
	var b [2]byte
	_, err := io.ReadFull(r, b[:])
	return binary.BigEndian.Uint16(b[:]), err
}

func readU32(r io.Reader) (uint32, error) {
	var b [4]byte
	_, err := io.ReadFull(r, b[:])
	return binary.BigEndian.Uint32(b[:]), err
}

// readN reads exactly n bytes.
func readN(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, n)
	_, err := io.ReadFull(r, b)
	return b, err
}

// readString reads an RFB string (u32 length, then bytes) of at most limit
// bytes; a longer one is a protocol error.
func readString(r io.Reader, limit int) (string, error) {
	n, err := readU32(r)
	if err != nil {
		return "", err
	}
	if int64(n) > int64(limit) {
		return "", protocolErrorf("string of %d bytes exceeds limit %d", n, limit)
	}
	b, err := readN(r, int(n))
	return string(b), err
}

// discard skips n bytes.
func discard(r io.Reader, n int64) error {
	_, err := io.CopyN(io.Discard, r, n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return err
}
