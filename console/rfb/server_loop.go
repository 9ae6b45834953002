package rfb

import (
	"bytes"
	"errors"
	"image"
	"image/draw"
	"io"
	"time"
)

// Client-to-server message types (RFC 6143 §7.5).
const (
	msgSetPixelFormat = 0
	msgSetEncodings   = 2
	msgUpdateRequest  = 3
	msgKeyEvent       = 4
	msgPointerEvent   = 5
	msgClientCutText  = 6

	// maxCutText bounds ClientCutText; longer text is a protocol error.
	maxCutText = 1 << 20
)

// request is a client message the writing side must act on, in the order
// the client sent it: a pixel format change or an update request.
type request struct {
	format      *pixelFormat // SetPixelFormat when non-nil
	rect        image.Rectangle
	incremental bool
}

// loop runs the message loop: one goroutine reads and parses client
// messages, this one answers them. Update requests are answered with Raw
// rectangles of the requested area. A non-incremental request is answered at
// once; an incremental one when the screen differs from the last frame sent,
// checked once per RefreshInterval. loop returns nil when the client closes
// the connection.
func (s *session) loop() error {
	reqs := make(chan request)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	go func() { readErr <- s.readMessages(reqs, done) }()
	defer func() {
		close(done)
		s.conn.Close() // unblocks the reader
		<-readErr
	}()

	interval := s.cfg.RefreshInterval
	if interval <= 0 {
		interval = defaultRefresh
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()

	enc := newPixelEncoder(nativeFormat())
	var (
		last    []byte // pixels of the last frame sent; nil forces the next update
		pending image.Rectangle
		waiting bool // an incremental request awaits a change
	)
	send := func(frame *image.RGBA, r image.Rectangle) error {
		last = frame.Pix
		return s.sendUpdate(enc, frame, r)
	}
	for {
		var tick <-chan time.Time
		if waiting {
			tick = ticker.C
		}
		select {
		case <-s.ctx.Done():
			return s.ctx.Err()
		case err := <-readErr:
			readErr <- err // for the deferred wait
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		case req := <-reqs:
			if req.format != nil {
				enc = newPixelEncoder(*req.format)
				last = nil
				if !req.format.TrueColour {
					if err := s.write(colourMapMessage()); err != nil {
						return err
					}
				}
				continue
			}
			frame := s.frame()
			if !req.incremental {
				if err := send(frame, req.rect); err != nil {
					return err
				}
				continue
			}
			if waiting {
				pending = pending.Union(req.rect)
			} else {
				pending, waiting = req.rect, true
			}
			if !bytes.Equal(frame.Pix, last) { // last is nil before the first frame and after a format change
				waiting = false
				if err := send(frame, pending); err != nil {
					return err
				}
			}
		case <-tick:
			if frame := s.frame(); !bytes.Equal(frame.Pix, last) {
				waiting = false
				if err := send(frame, pending); err != nil {
					return err
				}
			}
		}
	}
}

// frame returns a private copy of the screen at the connection's size.
func (s *session) frame() *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, s.width, s.height))
	for i := 3; i < len(dst.Pix); i += 4 {
		dst.Pix[i] = 0xff
	}
	if s.cfg.Screen == nil {
		return dst
	}
	if img := s.cfg.Screen(); img != nil {
		draw.Draw(dst, dst.Bounds(), img, img.Bounds().Min, draw.Src)
	}
	return dst
}

// sendUpdate sends a FramebufferUpdate with one Raw rectangle covering r
// clipped to the framebuffer, or no rectangle when nothing is left.
func (s *session) sendUpdate(enc *pixelEncoder, frame *image.RGBA, r image.Rectangle) error {
	r = r.Intersect(frame.Bounds())
	b := []byte{0, 0} // FramebufferUpdate, padding
	if r.Empty() {
		return s.write(appendU16(b, 0))
	}
	b = appendU16(b, 1)
	b = appendU16(b, uint16(r.Min.X))
	b = appendU16(b, uint16(r.Min.Y))
	b = appendU16(b, uint16(r.Dx()))
	b = appendU16(b, uint16(r.Dy()))
	b = appendU32(b, 0) // Raw encoding
	if _, err := s.bw.Write(b); err != nil {
		return err
	}
	row := make([]byte, 0, r.Dx()*4)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row = enc.appendRect(row[:0], frame, image.Rect(r.Min.X, y, r.Max.X, y+1))
		if _, err := s.bw.Write(row); err != nil {
			return err
		}
	}
	return s.bw.Flush()
}

// readMessages parses client messages until an error, handing pixel format
// changes and update requests to reqs and input to the callbacks. It stops
// when done is closed.
func (s *session) readMessages(reqs chan<- request, done <-chan struct{}) error {
	for {
		req, ok, err := s.readMessage()
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		select {
		case reqs <- req:
		case <-done:
			return nil
		}
	}
}

// readMessage reads one client message. ok reports whether it is a request
// for the writing side; other messages are consumed here.
func (s *session) readMessage() (req request, ok bool, err error) {
	typ, err := readU8(s.br)
	if err != nil {
		return req, false, err // io.EOF here is a clean disconnect
	}
	// Any EOF after the type byte is a truncated message.
	defer func() {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
	}()
	switch typ {
	case msgSetPixelFormat:
		b, err := readN(s.br, 3+16)
		if err != nil {
			return req, false, err
		}
		f := parsePixelFormat(b[3:])
		if err := f.validate(); err != nil {
			return req, false, err
		}
		return request{format: &f}, true, nil
	case msgSetEncodings:
		// Only Raw is ever sent, and every client must accept Raw, so the
		// list needs no bookkeeping.
		b, err := readN(s.br, 3)
		if err != nil {
			return req, false, err
		}
		n := int64(b[1])<<8 | int64(b[2])
		return req, false, discard(s.br, 4*n)
	case msgUpdateRequest:
		b, err := readN(s.br, 9)
		if err != nil {
			return req, false, err
		}
		x, y := int(b[1])<<8|int(b[2]), int(b[3])<<8|int(b[4])
		w, h := int(b[5])<<8|int(b[6]), int(b[7])<<8|int(b[8])
		return request{rect: image.Rect(x, y, x+w, y+h), incremental: b[0] != 0}, true, nil
	case msgKeyEvent:
		b, err := readN(s.br, 7)
		if err != nil {
			return req, false, err
		}
		if s.cfg.OnKey != nil {
			s.cfg.OnKey(b[0] != 0, uint32(b[3])<<24|uint32(b[4])<<16|uint32(b[5])<<8|uint32(b[6]))
		}
		return req, false, nil
	case msgPointerEvent:
		b, err := readN(s.br, 5)
		if err != nil {
			return req, false, err
		}
		if s.cfg.OnPointer != nil {
			s.cfg.OnPointer(b[0], int(b[1])<<8|int(b[2]), int(b[3])<<8|int(b[4]))
		}
		return req, false, nil
	case msgClientCutText:
		if err := discard(s.br, 3); err != nil {
			return req, false, err
		}
		text, err := readString(s.br, maxCutText)
		if err != nil {
			return req, false, err
		}
		if s.cfg.OnCutText != nil {
			s.cfg.OnCutText(text)
		}
		return req, false, nil
	}
	return req, false, protocolErrorf("unknown client message type %d", typ)
}
