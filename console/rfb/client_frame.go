package rfb

import (
	"context"
	"image"
	"io"
)

// Server-to-client message types (RFC 6143 §7.6).
const (
	msgFramebufferUpdate   = 0
	msgSetColourMapEntries = 1
	msgBell                = 2
	msgServerCutText       = 3
)

// Snapshot asks for the whole framebuffer (a non-incremental update request)
// and returns the first FramebufferUpdate the server sends, decoded. On its
// first call it asks for 32-bit true colour and the Raw encoding only; a
// server that sends another encoding is a protocol error. Areas the update
// does not cover are black. Bell, ServerCutText and colour map messages that
// arrive first are skipped.
func (c *ClientConn) Snapshot(ctx context.Context) (*image.RGBA, error) {
	var img *image.RGBA
	err := withContext(ctx, c.conn, func() error {
		f := nativeFormat()
		var b []byte
		if !c.formatSent {
			b = append([]byte{msgSetPixelFormat, 0, 0, 0}, f.marshal()...)
			b = append(b, msgSetEncodings, 0, 0, 1, 0, 0, 0, 0) // one encoding: Raw
		}
		b = append(b, msgUpdateRequest, 0) // non-incremental
		b = appendU16(b, 0)
		b = appendU16(b, 0)
		b = appendU16(b, uint16(c.width))
		b = appendU16(b, uint16(c.height))
		if _, err := c.conn.Write(b); err != nil {
			return err
		}
		c.formatSent = true
		for {
			typ, err := readU8(c.br)
			if err != nil {
				return err
			}
			switch typ {
			case msgFramebufferUpdate:
				img, err = c.readUpdate(f)
				return err
			case msgSetColourMapEntries:
				b, err := readN(c.br, 5)
				if err != nil {
					return err
				}
				if err := discard(c.br, 6*(int64(b[3])<<8|int64(b[4]))); err != nil {
					return err
				}
			case msgBell:
			case msgServerCutText:
				if err := discard(c.br, 3); err != nil {
					return err
				}
				n, err := readU32(c.br)
				if err != nil {
					return err
				}
				if err := discard(c.br, int64(n)); err != nil {
					return err
				}
			default:
				return protocolErrorf("unknown server message type %d", typ)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return img, nil
}

// readUpdate reads the body of a FramebufferUpdate whose pixels are in f.
func (c *ClientConn) readUpdate(f pixelFormat) (*image.RGBA, error) {
	img := image.NewRGBA(image.Rect(0, 0, c.width, c.height))
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	b, err := readN(c.br, 3)
	if err != nil {
		return nil, err
	}
	bpp := int(f.BPP) / 8
	for range int(b[1])<<8 | int(b[2]) {
		h, err := readN(c.br, 12)
		if err != nil {
			return nil, err
		}
		x, y := int(h[0])<<8|int(h[1]), int(h[2])<<8|int(h[3])
		r := image.Rect(x, y, x+(int(h[4])<<8|int(h[5])), y+(int(h[6])<<8|int(h[7])))
		if enc := int32(uint32(h[8])<<24 | uint32(h[9])<<16 | uint32(h[10])<<8 | uint32(h[11])); enc != 0 {
			return nil, protocolErrorf("server sent encoding %d, not Raw", enc)
		}
		if !r.In(img.Bounds()) {
			return nil, protocolErrorf("rectangle %v outside the %dx%d framebuffer", r, c.width, c.height)
		}
		row := make([]byte, r.Dx()*bpp)
		for y := r.Min.Y; y < r.Max.Y; y++ {
			if _, err := io.ReadFull(c.br, row); err != nil {
				return nil, err
			}
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb := f.decodePixel(f.readPixel(row[(x-r.Min.X)*bpp:]))
				o := img.PixOffset(x, y)
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = cr, cg, cb
			}
		}
	}
	return img, nil
}
