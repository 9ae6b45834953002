package rfb

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"image"
	"io"
	"net"
	"slices"
	"time"
)

// ServerConfig configures Serve. The zero value is not usable: at least one
// of VNCPassword and CheckPlain must be set.
type ServerConfig struct {
	// DesktopName is sent to the client in ServerInit.
	DesktopName string

	// Security lists the security types offered, in order of preference.
	// Empty means SecurityVNCAuth if VNCPassword is set, then
	// SecurityVeNCrypt if CheckPlain is set. Offering a type without its
	// callback is a configuration error. An RFB 3.3 client, for which the
	// server has to choose, gets the first VNC Authentication entry; VeNCrypt
	// needs RFB 3.7 or later.
	Security []SecurityType

	// VNCPassword returns the current console password for VNC
	// Authentication. It is called once per login attempt, after the client
	// has answered the challenge, so a changed password applies to every
	// later connection. An error or an empty password refuses the login.
	VNCPassword func(ctx context.Context) (string, error)

	// CheckPlain reports whether user and pass, sent whole by a VeNCrypt
	// Plain client, may log in. It should compare in constant time. It is
	// never called with an empty password: that is refused beforehand.
	CheckPlain func(ctx context.Context, user, pass string) bool

	// OnAuth, if set, is called once per authentication attempt with its
	// outcome, for metrics. It must not block.
	OnAuth func(ok bool)

	// Screen returns the framebuffer. It is called when the connection is
	// initialised, for every update sent and, while an incremental update
	// request waits for a change, once per RefreshInterval. It must be safe
	// for concurrent use, and it must not modify an image after returning
	// it. The first image fixes the framebuffer size for the connection
	// (the server does not resize); later images are cropped or padded with
	// black to that size. Nil, or a nil image, means a black 640x480 screen.
	Screen func() *image.RGBA

	// Rand is the source of VNC Authentication challenges; nil means
	// crypto/rand.
	Rand io.Reader

	// RefreshInterval is how often the screen is checked for changes while
	// an incremental update request waits. Zero means one second.
	RefreshInterval time.Duration

	// HandshakeTimeout bounds everything before the message loop: version,
	// security and initialisation. Zero means 30 seconds; negative means no
	// limit.
	HandshakeTimeout time.Duration

	// OnKey, OnPointer and OnCutText, if set, receive the client's input.
	// They are called from the connection's reading goroutine, in order,
	// and must not block for long.
	OnKey     func(down bool, keysym uint32)
	OnPointer func(buttons uint8, x, y int)
	OnCutText func(text string)
}

const (
	defaultRefresh          = time.Second
	defaultHandshakeTimeout = 30 * time.Second
	defaultWidth            = 640
	defaultHeight           = 480
)

// offered returns the security types to offer, or an error when the
// configuration cannot authenticate anyone.
func (cfg *ServerConfig) offered() ([]SecurityType, error) {
	types := cfg.Security
	if len(types) == 0 {
		if cfg.VNCPassword != nil {
			types = append(types, SecurityVNCAuth)
		}
		if cfg.CheckPlain != nil {
			types = append(types, SecurityVeNCrypt)
		}
	}
	if len(types) == 0 {
		return nil, errors.New("rfb: server config offers no security type")
	}
	for _, t := range types {
		switch {
		case t == SecurityVNCAuth && cfg.VNCPassword == nil:
			return nil, errors.New("rfb: server config offers VncAuth without VNCPassword")
		case t == SecurityVeNCrypt && cfg.CheckPlain == nil:
			return nil, errors.New("rfb: server config offers VeNCrypt without CheckPlain")
		case t != SecurityVNCAuth && t != SecurityVeNCrypt:
			return nil, errors.New("rfb: server config offers unsupported " + t.String())
		}
	}
	return slices.Clone(types), nil
}

// Serve speaks RFB as the server on conn until the client disconnects, ctx
// is cancelled or an error occurs, and closes conn before returning. It
// returns nil when the client disconnects after logging in, an error
// matching ErrAuthFailed when the login failed, ctx.Err() on cancellation,
// and a *ProtocolError or I/O error otherwise. Serve starts one goroutine
// per connection and waits for it before returning.
func Serve(ctx context.Context, conn net.Conn, cfg ServerConfig) error {
	defer conn.Close()
	types, err := cfg.offered()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	s := &session{
		ctx:   ctx,
		cfg:   &cfg,
		conn:  conn,
		br:    bufio.NewReader(conn),
		bw:    bufio.NewWriterSize(conn, 64<<10),
		types: types,
	}
	if s.cfg.Rand == nil {
		s.cfg.Rand = rand.Reader
	}
	if err := s.handshake(); err != nil {
		return s.cause(err)
	}
	return s.cause(s.loop())
}

// session is the server side of one connection.
type session struct {
	ctx   context.Context
	cfg   *ServerConfig
	conn  net.Conn
	br    *bufio.Reader // read only by the handshake, then by the reader goroutine
	bw    *bufio.Writer // written only by the goroutine running Serve
	types []SecurityType
	ver   version

	width, height int // fixed by the first screen
}

// cause prefers ctx's error: once ctx is done, conn is closed under the
// session and I/O errors are a consequence, not the cause.
func (s *session) cause(err error) error {
	if err != nil && s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	return err
}

// handshake runs everything up to and including ServerInit (RFC 6143 §7.1,
// §7.3).
func (s *session) handshake() error {
	if t := s.cfg.HandshakeTimeout; t >= 0 {
		if t == 0 {
			t = defaultHandshakeTimeout
		}
		if err := s.conn.SetDeadline(time.Now().Add(t)); err != nil {
			return err
		}
	}
	if err := s.write(version38.message()); err != nil {
		return err
	}
	var msg [12]byte
	if _, err := io.ReadFull(s.br, msg[:]); err != nil {
		return err
	}
	v, err := parseVersion(msg[:])
	if err != nil {
		return err
	}
	s.ver = v
	if err := s.security(); err != nil {
		return err
	}
	if _, err := s.br.ReadByte(); err != nil { // ClientInit: the shared flag, ignored
		return err
	}
	if err := s.serverInit(); err != nil {
		return err
	}
	// A client may already have hung up, which some net.Conn
	// implementations (net.Pipe) report here; the loop then sees EOF.
	_ = s.conn.SetDeadline(time.Time{})
	return nil
}

// serverInit fixes the framebuffer size and sends ServerInit.
func (s *session) serverInit() error {
	s.width, s.height = defaultWidth, defaultHeight
	if s.cfg.Screen != nil {
		if img := s.cfg.Screen(); img != nil && !img.Bounds().Empty() {
			s.width = min(img.Bounds().Dx(), 0xffff)
			s.height = min(img.Bounds().Dy(), 0xffff)
		}
	}
	b := make([]byte, 0, 24+len(s.cfg.DesktopName))
	b = appendU16(b, uint16(s.width))
	b = appendU16(b, uint16(s.height))
	b = append(b, nativeFormat().marshal()...)
	b = appendString(b, s.cfg.DesktopName)
	return s.write(b)
}

// write writes b and flushes.
func (s *session) write(b []byte) error {
	if _, err := s.bw.Write(b); err != nil {
		return err
	}
	return s.bw.Flush()
}
