package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"sync/atomic"
	"time"

	"golang.org/x/net/netutil"
)

// limitListener bounds the connections ln's server holds open to n, so
// that the goroutines, buffers and TLS state of connections are bounded
// whatever clients do: the accept loop takes a connection only while
// fewer than n are open; beyond that, new connections wait in the
// kernel's accept backlog, costing the process nothing, until one closes.
// Every connection counts while it is open: one waiting for its headers
// (readHeaderTimeout), for a place in the body budget
// (RequestReadTimeout), idle between requests (the servers' IdleTimeout)
// or carrying a console session.
func limitListener(ln net.Listener, n int) net.Listener {
	return netutil.LimitListener(ln, n)
}

// Request bounds (PRODUCT.md §10).
const (
	// DefaultRequestReadTimeout bounds reading a request's body, from the
	// end of its headers, which have readHeaderTimeout.
	DefaultRequestReadTimeout = 30 * time.Second
	// DefaultRequestMemory is how many bytes of request bodies may be in
	// the hands of handlers at once.
	DefaultRequestMemory = 32 << 20
	// DefaultMaxConnections is how many connections each listener holds
	// open at once.
	DefaultMaxConnections = 1024

	// readHeaderTimeout bounds reading a request's headers (and a TLS
	// handshake).
	readHeaderTimeout = 10 * time.Second
	// maxRequestBody is the largest body any route reads (the internal
	// API's fleet files; RPC and BCE bodies are at most 1 MiB): a larger
	// Content-Length reserves no more than this.
	maxRequestBody = 4 << 20
	// smallRequestBody is the largest body that needs no reservation:
	// such requests cost little, and a queue of large ones must never
	// hold them up. It is also the unit reservations are counted in.
	smallRequestBody = 64 << 10
)

// requestLimits bounds what requests may cost while they are read and
// handled:
//
//   - time: once its headers are read, a request with a body has
//     RequestReadTimeout to deliver all of it, waiting in line included; a
//     slower one gets a read error and its connection is closed, and one
//     still in line at the deadline is dropped without an answer. The
//     deadline is lifted once the body is read: net/http then watches the
//     idle connection for the client going away, and a deadline there
//     would cancel the request's context while its handler still works.
//     Requests without a body get no deadline beyond their headers' (the
//     console WebSocket's upgrade is one).
//   - memory: a request whose body may be larger than smallRequestBody
//     reserves its Content-Length (maxRequestBody when it has none, as a
//     chunked body) from a budget of RequestMemory bytes before its
//     handler runs, and gives it back when the handler returns. Until the
//     reservation is granted (first come, first served) its body stays
//     unread in the kernel's socket buffers, so the process holds only
//     its headers. A handler's memory is a small multiple of its body
//     (parsing, canonical strings), so the budget bounds the peak.
//
// After a burst of large requests the heap is mostly garbage, which the
// Go runtime would hand back to the system only after later collections:
// minutes, on a server that has gone quiet. So when the last reservation
// of a burst that reserved at least half the budget at once is released,
// the memory is returned at once (debug.FreeOSMemory, one collection).
type requestLimits struct {
	budget      budget
	size        int64
	readTimeout time.Duration

	reserved atomic.Int64 // bytes reserved now
	burst    atomic.Bool  // reserved reached size/2 since it was last 0
}

func newRequestLimits(memory int64, readTimeout time.Duration) *requestLimits {
	memory = max(memory, smallRequestBody)
	return &requestLimits{budget: newBudget(units(memory)), size: memory, readTimeout: readTimeout}
}

// weight is the part of the budget r reserves.
func (l *requestLimits) weight(r *http.Request) int64 {
	n := r.ContentLength
	if n < 0 || n > maxRequestBody {
		n = maxRequestBody
	}
	if n <= smallRequestBody {
		return 0
	}
	return min(n, l.size)
}

// wrap applies the limits to h.
func (l *requestLimits) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 {
			h.ServeHTTP(w, r)
			return
		}
		deadline := time.Now().Add(l.readTimeout)
		rc := http.NewResponseController(w)
		// Not every ResponseWriter has a connection (httptest's has
		// not); then there is nothing to bound.
		if rc.SetReadDeadline(deadline) == nil {
			r.Body = &deadlineBody{ReadCloser: r.Body, rc: rc}
		}
		if n := l.weight(r); n > 0 {
			ctx, cancel := context.WithDeadline(r.Context(), deadline)
			err := l.budget.acquire(ctx, units(n))
			cancel()
			if err != nil {
				// The deadline passed in line (or the client went, or
				// the server is stopping): the body cannot be read in
				// time. Drop the connection without an answer, as a
				// network failure, which clients retry.
				panic(http.ErrAbortHandler)
			}
			defer l.release(n)
			if l.reserved.Add(n) >= l.size/2 {
				l.burst.Store(true)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// release gives n bytes back to the budget, and the memory of a burst
// that ends with it back to the system.
func (l *requestLimits) release(n int64) {
	l.budget.release(units(n))
	if l.reserved.Add(-n) == 0 && l.burst.Swap(false) {
		go debug.FreeOSMemory()
	}
}

// deadlineBody lifts the connection's read deadline when its body has
// been read to the end. After any other error the deadline stays, so that
// net/http, which drains an unread body before reusing the connection,
// gives up at once and closes it.
type deadlineBody struct {
	io.ReadCloser
	rc     *http.ResponseController
	lifted bool
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF && !b.lifted {
		b.lifted = true
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// budget is a counting semaphore whose waiters are served in turn: the
// first in line collects its whole reservation before the next begins,
// so two large requests never each hold part of the budget while they
// wait for the rest.
type budget struct {
	turn  chan struct{} // holds a token while a waiter collects
	units chan struct{} // holds a token per unit reserved
}

func newBudget(n int) budget {
	return budget{turn: make(chan struct{}, 1), units: make(chan struct{}, n)}
}

// acquire reserves n units (at most the budget's size), waiting in turn,
// or gives up with ctx's error, holding nothing.
func (b budget) acquire(ctx context.Context, n int) error {
	select {
	case b.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-b.turn }()
	for i := range n {
		select {
		case b.units <- struct{}{}:
		case <-ctx.Done():
			b.release(i)
			return ctx.Err()
		}
	}
	return nil
}

// release gives back n units acquired earlier.
func (b budget) release(n int) {
	for range n {
		<-b.units
	}
}

// units is how many budget units n bytes take, rounded up.
func units(n int64) int {
	return int((n + smallRequestBody - 1) / smallRequestBody)
}
