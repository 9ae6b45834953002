package metrics

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// outcome is what a handler tells the Middleware about its request.
type outcome struct {
	mu                    sync.Mutex
	product, action, code string
}

type outcomeKey struct{}

// SetOutcome tells the Middleware serving ctx's request what the request
// was and how it ended: the product (empty keeps the middleware's
// surface), the action as the API names it (empty for an action that does
// not exist) and the result code ("Success" or the provider's error
// code). Front ends call it once, after the outcome is known; outside a
// Middleware it does nothing.
func SetOutcome(ctx context.Context, product, action, code string) {
	o, _ := ctx.Value(outcomeKey{}).(*outcome)
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if product != "" {
		o.product = product
	}
	o.action, o.code = action, code
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
		o := &outcome{}
		rec := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), outcomeKey{}, o)))
		if rec.hijacked {
			return
		}
		o.mu.Lock()
		product, action, code := o.product, o.action, o.code
		o.mu.Unlock()
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
