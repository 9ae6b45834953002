package testutil

import (
	"bytes"
	"io"
	"net/http"
)

// Recorder is an http.RoundTripper that sends requests with
// http.DefaultTransport and keeps a copy of the last one: a client's own
// signed request, for a test to replay as an attacker who recorded it
// would. It is not safe for concurrent use.
type Recorder struct {
	method, url string
	header      http.Header
	body        []byte
}

// RoundTrip implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.method, r.url, r.header, r.body = req.Method, req.URL.String(), req.Header.Clone(), nil
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		if err != nil {
			return nil, err
		}
		req.Body.Close()
		r.body = b
		req.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(req)
}

// Replay sends the last request again, byte for byte but to host
// (host:port), without a proxy. The caller closes the answer's body.
func (r *Recorder) Replay(host string) (*http.Response, error) {
	req, err := http.NewRequest(r.method, r.url, bytes.NewReader(r.body))
	if err != nil {
		return nil, err
	}
	req.URL.Host, req.Host, req.Header = host, host, r.header.Clone()
	return (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
}
