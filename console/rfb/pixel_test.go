package rfb

import (
	"encoding/hex"
	"image"
	"image/color"
	"testing"
)

func rgb565(bigEndian bool) pixelFormat {
	return pixelFormat{BPP: 16, Depth: 16, BigEndian: bigEndian, TrueColour: true,
		RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 11, GreenShift: 5, BlueShift: 0}
}

func bgr233() pixelFormat {
	return pixelFormat{BPP: 8, Depth: 8, TrueColour: true,
		RedMax: 7, GreenMax: 7, BlueMax: 3, RedShift: 0, GreenShift: 3, BlueShift: 6}
}

func bgr888BigEndian() pixelFormat {
	return pixelFormat{BPP: 32, Depth: 24, BigEndian: true, TrueColour: true,
		RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 0, GreenShift: 8, BlueShift: 16}
}

func encodeOne(f pixelFormat, c color.RGBA) string {
	img := image.NewRGBA(image.Rect(0, 0, 1, 1))
	img.SetRGBA(0, 0, c)
	return hex.EncodeToString(newPixelEncoder(f).appendRect(nil, img, img.Bounds()))
}

func TestPixelEncodingKnownAnswers(t *testing.T) {
	red := color.RGBA{255, 0, 0, 255}
	rgb := color.RGBA{1, 2, 3, 255}
	cases := []struct {
		name string
		f    pixelFormat
		c    color.RGBA
		want string
	}{
		{"native", nativeFormat(), rgb, "03020100"},
		{"native big-endian", func() pixelFormat { f := nativeFormat(); f.BigEndian = true; return f }(), rgb, "00010203"},
		{"bgr888 big-endian", bgr888BigEndian(), rgb, "00030201"},
		{"rgb565 big-endian red", rgb565(true), red, "f800"},
		{"rgb565 little-endian red", rgb565(false), red, "00f8"},
		{"rgb565 white", rgb565(true), color.RGBA{255, 255, 255, 255}, "ffff"},
		{"rgb565 mid grey", rgb565(true), color.RGBA{128, 128, 128, 255}, "8410"},
		{"bgr233 red", bgr233(), red, "07"},
		{"bgr233 blue", bgr233(), color.RGBA{0, 0, 255, 255}, "c0"},
		{"colour map red", pixelFormat{BPP: 8, Depth: 8}, red, "07"},
		{"colour map white, 16 bits", pixelFormat{BPP: 16, Depth: 8, BigEndian: true}, color.RGBA{255, 255, 255, 255}, "00ff"},
	}
	for _, c := range cases {
		if got := encodeOne(c.f, c.c); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}

// Every format decodes back to the original colour within half a
// quantisation step per channel; 8-bit channels are exact.
func TestPixelEncodingRoundTrip(t *testing.T) {
	formats := []pixelFormat{nativeFormat(), bgr888BigEndian(), rgb565(true), rgb565(false), bgr233()}
	img := image.NewRGBA(image.Rect(0, 0, 256, 3))
	for x := range 256 {
		img.SetRGBA(x, 0, color.RGBA{uint8(x), 0, 0, 255})
		img.SetRGBA(x, 1, color.RGBA{0, uint8(x), 0, 255})
		img.SetRGBA(x, 2, color.RGBA{uint8(x), uint8(255 - x), uint8(x * 7), 255})
	}
	for i, f := range formats {
		if err := f.validate(); err != nil {
			t.Fatalf("format %d: %v", i, err)
		}
		wire := newPixelEncoder(f).appendRect(nil, img, img.Bounds())
		bpp := int(f.BPP) / 8
		if len(wire) != 256*3*bpp {
			t.Fatalf("format %d: %d bytes, want %d", i, len(wire), 256*3*bpp)
		}
		tol := func(mx uint16) int { return (255/int(mx))/2 + 1 }
		for p := range 256 * 3 {
			r, g, b := f.decodePixel(f.readPixel(wire[p*bpp:]))
			want := img.RGBAAt(p%256, p/256)
			for _, ch := range []struct {
				got, want uint8
				mx        uint16
			}{{r, want.R, f.RedMax}, {g, want.G, f.GreenMax}, {b, want.B, f.BlueMax}} {
				d := int(ch.got) - int(ch.want)
				if d < 0 {
					d = -d
				}
				if d > tol(ch.mx) || (ch.mx == 255 && d != 0) {
					t.Fatalf("format %d pixel %d: decoded %v, want %v", i, p, [3]uint8{r, g, b}, want)
				}
			}
		}
	}
}

func TestPixelFormatValidate(t *testing.T) {
	bad := []pixelFormat{
		{BPP: 24, Depth: 24, TrueColour: true, RedMax: 255, GreenMax: 255, BlueMax: 255, RedShift: 16, GreenShift: 8},
		{BPP: 32, Depth: 24, TrueColour: true, RedMax: 0, GreenMax: 255, BlueMax: 255},
		{BPP: 32, Depth: 24, TrueColour: true, RedMax: 254, GreenMax: 255, BlueMax: 255},
		{BPP: 16, Depth: 16, TrueColour: true, RedMax: 31, GreenMax: 63, BlueMax: 31, RedShift: 12, GreenShift: 5},
		{BPP: 0},
	}
	for i, f := range bad {
		if f.validate() == nil {
			t.Errorf("format %d (%+v) accepted", i, f)
		}
	}
	for i, f := range []pixelFormat{nativeFormat(), rgb565(true), bgr233(), {BPP: 8, Depth: 8}} {
		if err := f.validate(); err != nil {
			t.Errorf("good format %d rejected: %v", i, err)
		}
	}
}

func TestPixelFormatMarshalRoundTrip(t *testing.T) {
	for _, f := range []pixelFormat{nativeFormat(), rgb565(true), bgr233()} {
		if got := parsePixelFormat(f.marshal()); got != f {
			t.Errorf("parse(marshal(%+v)) = %+v", f, got)
		}
	}
}

func TestColourMapMessage(t *testing.T) {
	m := colourMapMessage()
	if len(m) != 6+256*6 || m[0] != msgSetColourMapEntries {
		t.Fatalf("message of %d bytes, type %d", len(m), m[0])
	}
	entry := func(i int) string { return hex.EncodeToString(m[6+6*i : 12+6*i]) }
	for i, want := range map[int]string{0: "000000000000", 7: "ffff00000000", 0xff: "ffffffffffff", 0xc0: "00000000ffff"} {
		if got := entry(i); got != want {
			t.Errorf("entry %#x = %s, want %s", i, got, want)
		}
	}
}

// A colour-map client first gets the 3-3-2 palette, then one index per pixel.
func TestColourMapFormatOnTheWire(t *testing.T) {
	cfg := (&passwords{vnc: "Passw0rd"}).config()
	cfg.Screen = colourPattern
	dial, _ := startPipe(t, cfg)
	cc := dial()
	c, err := Login(t.Context(), cc, "Passw0rd")
	if err != nil {
		t.Fatal(err)
	}
	f := pixelFormat{BPP: 8, Depth: 8}
	msg := append([]byte{msgSetPixelFormat, 0, 0, 0}, f.marshal()...)
	msg = append(msg, msgUpdateRequest, 0, 0, 0, 0, 0, 0, 64, 0, 32)
	if _, err := cc.Write(msg); err != nil {
		t.Fatal(err)
	}
	palette, err := readN(c.br, len(colourMapMessage()))
	if err != nil {
		t.Fatal(err)
	}
	if string(palette) != string(colourMapMessage()) {
		t.Fatal("the first message is not the 3-3-2 colour map")
	}
	head, err := readN(c.br, 4+12)
	if err != nil {
		t.Fatal(err)
	}
	if head[0] != msgFramebufferUpdate || head[3] != 1 {
		t.Fatalf("update header % x", head)
	}
	idx, err := readN(c.br, 64*32)
	if err != nil {
		t.Fatal(err)
	}
	src := colourPattern()
	for i, v := range idx {
		p := src.RGBAAt(i%64, i/64)
		if want := p.R>>5 | p.G>>5<<3 | p.B>>6<<6; v != want {
			t.Fatalf("pixel (%d,%d) index %#x, want %#x", i%64, i/64, v, want)
		}
	}
}
