package aliyun_test

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"testing"
)

// recorder is an http.RoundTripper that keeps a copy of the last request
// it sent, so a test can send it again byte for byte.
type recorder struct {
	mu     sync.Mutex
	method string
	url    string
	header http.Header
	body   []byte
}

// transport is a direct transport: no proxy, whatever the environment.
func transport() *http.Transport { return &http.Transport{Proxy: nil} }

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	r.mu.Lock()
	r.method, r.url, r.header, r.body = req.Method, req.URL.String(), req.Header.Clone(), body
	r.mu.Unlock()
	return transport().RoundTrip(req)
}

// replayLast sends the last recorded request again and returns the
// status and body of the answer.
func (r *recorder) replayLast(t *testing.T) (int, []byte) {
	t.Helper()
	r.mu.Lock()
	req, err := http.NewRequest(r.method, r.url, bytes.NewReader(r.body))
	if err == nil {
		req.Header = r.header.Clone()
	}
	r.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Transport: transport()}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
