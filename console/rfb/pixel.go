package rfb

import (
	"encoding/binary"
	"image"
	"math/bits"
)

// pixelFormat is the RFB PIXEL_FORMAT structure (RFC 6143 §7.4).
type pixelFormat struct {
	BPP        uint8 // bits per pixel on the wire: 8, 16 or 32
	Depth      uint8
	BigEndian  bool
	TrueColour bool
	RedMax     uint16
	GreenMax   uint16
	BlueMax    uint16
	RedShift   uint8
	GreenShift uint8
	BlueShift  uint8
}

// nativeFormat is the format the server announces and the client asks for:
// 32 bits per pixel, little-endian, 8 bits per channel, red in bits 16–23.
// It is also how TigerVNC's Xvnc describes its own framebuffer.
func nativeFormat() pixelFormat {
	return pixelFormat{
		BPP: 32, Depth: 24, TrueColour: true,
		RedMax: 255, GreenMax: 255, BlueMax: 255,
		RedShift: 16, GreenShift: 8, BlueShift: 0,
	}
}

// marshal encodes f as the 16-byte wire structure (3 bytes of padding last).
func (f pixelFormat) marshal() []byte {
	b := make([]byte, 16)
	b[0], b[1] = f.BPP, f.Depth
	if f.BigEndian {
		b[2] = 1
	}
	if f.TrueColour {
		b[3] = 1
	}
	binary.BigEndian.PutUint16(b[4:], f.RedMax)
	binary.BigEndian.PutUint16(b[6:], f.GreenMax)
	binary.BigEndian.PutUint16(b[8:], f.BlueMax)
	b[10], b[11], b[12] = f.RedShift, f.GreenShift, f.BlueShift
	return b
}

// parsePixelFormat decodes the 16-byte wire structure.
func parsePixelFormat(b []byte) pixelFormat {
	return pixelFormat{
		BPP: b[0], Depth: b[1], BigEndian: b[2] != 0, TrueColour: b[3] != 0,
		RedMax:     binary.BigEndian.Uint16(b[4:]),
		GreenMax:   binary.BigEndian.Uint16(b[6:]),
		BlueMax:    binary.BigEndian.Uint16(b[8:]),
		RedShift:   b[10],
		GreenShift: b[11],
		BlueShift:  b[12],
	}
}

// validate reports whether this package can produce pixels in f: 8, 16 or
// 32 bits per pixel and, for true colour, channels that are non-empty, that
// are contiguous bit masks and that fit in the pixel.
func (f pixelFormat) validate() error {
	if f.BPP != 8 && f.BPP != 16 && f.BPP != 32 {
		return protocolErrorf("unsupported bits per pixel %d", f.BPP)
	}
	if !f.TrueColour {
		return nil
	}
	for _, c := range [...]struct {
		max   uint16
		shift uint8
	}{{f.RedMax, f.RedShift}, {f.GreenMax, f.GreenShift}, {f.BlueMax, f.BlueShift}} {
		if c.max == 0 || c.max&(c.max+1) != 0 {
			return protocolErrorf("colour maximum %d is not 2^n-1", c.max)
		}
		if int(c.shift)+bits.Len16(c.max) > int(f.BPP) {
			return protocolErrorf("colour channel does not fit in %d bits", f.BPP)
		}
	}
	return nil
}

// pixelEncoder converts RGBA pixels into one client pixel format. Each
// channel goes through a 256-entry table, so a pixel costs three lookups.
//
// A true-colour format gets each 8-bit channel scaled to its maximum and
// shifted into place. A colour-map format gets an index into the fixed
// 3-3-2 palette that colourMapMessage sends: red in bits 0–2, green in
// bits 3–5, blue in bits 6–7.
type pixelEncoder struct {
	bytes            int // bytes per pixel
	bigEndian        bool
	lutR, lutG, lutB [256]uint32
}

func newPixelEncoder(f pixelFormat) *pixelEncoder {
	e := &pixelEncoder{bytes: int(f.BPP) / 8, bigEndian: f.BigEndian}
	for c := range 256 {
		if f.TrueColour {
			e.lutR[c] = scale(c, f.RedMax) << f.RedShift
			e.lutG[c] = scale(c, f.GreenMax) << f.GreenShift
			e.lutB[c] = scale(c, f.BlueMax) << f.BlueShift
		} else {
			e.lutR[c] = uint32(c >> 5)
			e.lutG[c] = uint32(c>>5) << 3
			e.lutB[c] = uint32(c>>6) << 6
		}
	}
	return e
}

// scale maps an 8-bit channel value onto 0..mx, rounding to nearest.
func scale(c int, mx uint16) uint32 {
	return uint32((c*int(mx) + 127) / 255)
}

// appendRect appends the pixels of r (which must lie inside img) in row
// order, as a Raw-encoded rectangle carries them.
func (e *pixelEncoder) appendRect(dst []byte, img *image.RGBA, r image.Rectangle) []byte {
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := img.Pix[img.PixOffset(r.Min.X, y):img.PixOffset(r.Max.X, y)]
		for i := 0; i < len(row); i += 4 {
			v := e.lutR[row[i]] | e.lutG[row[i+1]] | e.lutB[row[i+2]]
			dst = e.appendPixel(dst, v)
		}
	}
	return dst
}

func (e *pixelEncoder) appendPixel(dst []byte, v uint32) []byte {
	switch {
	case e.bytes == 1:
		return append(dst, byte(v))
	case e.bytes == 2 && e.bigEndian:
		return binary.BigEndian.AppendUint16(dst, uint16(v))
	case e.bytes == 2:
		return binary.LittleEndian.AppendUint16(dst, uint16(v))
	case e.bigEndian:
		return binary.BigEndian.AppendUint32(dst, v)
	default:
		return binary.LittleEndian.AppendUint32(dst, v)
	}
}

// colourMapMessage is the SetColourMapEntries message (RFC 6143 §7.6.2)
// that installs the 3-3-2 palette used for colour-map pixel formats.
func colourMapMessage() []byte {
	b := []byte{1, 0, 0, 0, 1, 0} // type, padding, first colour 0, 256 colours
	for i := range 256 {
		r := uint16((i & 7) * 0xffff / 7)
		g := uint16((i >> 3 & 7) * 0xffff / 7)
		bl := uint16((i >> 6) * 0xffff / 3)
		b = binary.BigEndian.AppendUint16(b, r)
		b = binary.BigEndian.AppendUint16(b, g)
		b = binary.BigEndian.AppendUint16(b, bl)
	}
	return b
}

// decodePixel converts one true-colour pixel value in f back to 8-bit
// channels. The client uses it to read Raw rectangles.
func (f pixelFormat) decodePixel(v uint32) (r, g, b uint8) {
	ch := func(mx uint16, shift uint8) uint8 {
		return uint8((int(v>>shift&uint32(mx))*255 + int(mx)/2) / int(mx))
	}
	return ch(f.RedMax, f.RedShift), ch(f.GreenMax, f.GreenShift), ch(f.BlueMax, f.BlueShift)
}

// readPixel reads one pixel value of f's size from b.
func (f pixelFormat) readPixel(b []byte) uint32 {
	switch {
	case f.BPP == 8:
		return uint32(b[0])
	case f.BPP == 16 && f.BigEndian:
		return uint32(binary.BigEndian.Uint16(b))
	case f.BPP == 16:
		return uint32(binary.LittleEndian.Uint16(b))
	case f.BigEndian:
		return binary.BigEndian.Uint32(b)
	default:
		return binary.LittleEndian.Uint32(b)
	}
}
