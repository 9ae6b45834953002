package metrics

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/metrics/outcome"
)

// SetOutcome tells the Middleware serving ctx's request what the request
// was and how it ended; see outcome.Set, which front ends may call
// directly without importing this package.
func SetOutcome(ctx context.Context, product, action, code string) {
	outcome.Set(ctx, product, action, code)
}

// Middleware counts each request next serves under surface ("aliyun",
// "bce", "latchkey"): it records the product, action and code the handler
// gave SetOutcome. For a handler that says nothing, the product is the
// surface, the action is the request's x-acs-action header or Action
// query parameter (Alibaba RPC names its action there; the value is an
// action name, never a secret) and the code is the HTTP status.
func (m *Metrics) Middleware(surface string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ctx, slot := outcome.With(r.Context())
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(ctx))
		if rec.hijacked {
			return
		}
		product, action, code := slot.Get()
		if product == "" {
			product = surface
		}
		if code == "" {
			if action == "" {
				action = r.Header.Get("x-acs-action")
			}
			if action == "" {
				action = r.URL.Query().Get("Action")
			}
			code = strconv.Itoa(rec.status)
		}
		m.ObserveRequest(product, action, code, time.Since(start))
	})
}

// statusWriter remembers the response status. It passes Flush and Hijack
// through.
type statusWriter struct {
	http.ResponseWriter
	status   int
	wrote    bool
	hijacked bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.status, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (s *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := s.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijacking not supported")
	}
	s.hijacked = true
	return h.Hijack()
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
