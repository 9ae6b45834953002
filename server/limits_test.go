package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRequestMemoryIsBounded sends many large requests at once to a real
// HTTP server behind requestLimits and checks that the bodies in the
// handlers' hands never exceed the budget, while every request is
// answered; a small request is not held up by large ones waiting.
func TestRequestMemoryIsBounded(t *testing.T) {
	const budget = 3 << 20
	const body = 1 << 20
	l := newRequestLimits(budget, DefaultRequestReadTimeout)
	var inFlight, peak atomic.Int64
	hold := make(chan struct{})
	held := make(chan struct{}, 1)
	srv := httptest.NewServer(l.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := l.weight(r)
		cur := inFlight.Add(n)
		defer inFlight.Add(-n)
		for {
			p := peak.Load()
			if cur <= p || peak.CompareAndSwap(p, cur) {
				break
			}
		}
		if r.URL.Path == "/hold" {
			held <- struct{}{}
			<-hold
		}
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		io.WriteString(w, strings.Repeat("x", len(b)%7))
	})))
	defer srv.Close()
	post := func(path string, n int) (int, error) {
		resp, err := srv.Client().Post(srv.URL+path, "application/octet-stream", bytes.NewReader(make([]byte, n)))
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}

	// A request holding the whole budget leaves small requests through.
	done := make(chan error, 1)
	go func() {
		_, err := post("/hold", 8<<20) // reserves no more than the budget
		done <- err
	}()
	<-held
	if code, err := post("/small", smallRequestBody); err != nil || code != http.StatusOK {
		t.Fatalf("a small request while the budget is spent: %d, %v", code, err)
	}
	close(hold)
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for range 40 {
		wg.Go(func() {
			if code, err := post("/", body); err != nil || code != http.StatusOK {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("a large request failed: %v", err)
	}
	if p := peak.Load(); p > budget {
		t.Fatalf("handlers held %d bytes of bodies at once, budget %d", p, budget)
	}
}

func TestRequestWeight(t *testing.T) {
	l := newRequestLimits(2<<20, DefaultRequestReadTimeout)
	for _, c := range []struct {
		length int64
		want   int64
	}{
		{0, 0},
		{smallRequestBody, 0},
		{smallRequestBody + 1, smallRequestBody + 1},
		{1 << 20, 1 << 20},
		{-1, 2 << 20},      // unknown length: the largest body, capped by the budget
		{1 << 40, 2 << 20}, // a lie in Content-Length costs no more
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.ContentLength = c.length
		if got := l.weight(r); got != c.want {
			t.Errorf("Content-Length %d weighs %d, want %d", c.length, got, c.want)
		}
	}
}

// TestRequestStillInLineAtItsDeadlineIsDropped: a large request that
// cannot get its reservation before its read deadline is dropped without
// an answer, rather than handled after the deadline.
func TestRequestStillInLineAtItsDeadlineIsDropped(t *testing.T) {
	l := newRequestLimits(1<<20, 20*time.Millisecond)
	hold := make(chan struct{})
	held := make(chan struct{})
	var handled atomic.Int32
	srv := httptest.NewServer(l.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			close(held)
			<-hold
			return
		}
		handled.Add(1)
	})))
	defer srv.Close()
	defer close(hold)
	go srv.Client().Post(srv.URL+"/hold", "application/octet-stream", bytes.NewReader(make([]byte, 1<<20)))
	<-held
	resp, err := srv.Client().Post(srv.URL+"/late", "application/octet-stream", bytes.NewReader(make([]byte, 1<<20)))
	if err == nil {
		resp.Body.Close()
		t.Fatalf("a request in line past its deadline was answered: %s", resp.Status)
	}
	if handled.Load() != 0 {
		t.Fatal("a request in line past its deadline reached its handler")
	}
}

// countingListener records, each time its Accept is entered, how many of
// the connections it accepted are still open.
type countingListener struct {
	net.Listener
	open    atomic.Int64
	mu      sync.Mutex
	entered []int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	l.entered = append(l.entered, l.open.Load())
	l.mu.Unlock()
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.open.Add(1)
	return &countedConn{Conn: c, open: &l.open}, nil
}

type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// TestConnectionCap: behind limitListener a server takes no connection
// while it holds its limit open, however many wait; the one waiting is
// taken and served once an open one closes.
func TestConnectionCap(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inner := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(limitListener(inner, 2))
	defer srv.Close()

	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("GET / HTTP/1.1\r\nHost: latchkey\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		return c, bufio.NewReader(c)
	}
	answered := func(r *bufio.Reader) {
		t.Helper()
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("no answer: %v", err)
		}
		resp.Body.Close()
	}
	a, ra := dial() // both kept alive
	answered(ra)
	_, rb := dial()
	answered(rb)
	_, rc := dial() // waits for a place
	a.Close()
	answered(rc)

	inner.mu.Lock()
	defer inner.mu.Unlock()
	if len(inner.entered) < 3 {
		t.Fatalf("Accept entered %d times, want at least 3", len(inner.entered))
	}
	for i, open := range inner.entered {
		if open >= 2 {
			t.Fatalf("Accept entered (call %d) with %d connections open; the limit is 2", i+1, open)
		}
	}
}
