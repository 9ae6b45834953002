package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func TestHealthzFollowsReadiness(t *testing.T) {
	var ready atomic.Bool
	h := newHandler(routeDeps{ready: &ready})
	get := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
		return rec.Code
	}
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("/healthz before ready = %d, want 503", got)
	}
	ready.Store(true)
	if got := get(); got != http.StatusOK {
		t.Errorf("/healthz when ready = %d, want 200", got)
	}
	ready.Store(false) // draining
	if got := get(); got != http.StatusServiceUnavailable {
		t.Errorf("/healthz while draining = %d, want 503", got)
	}
}

func TestInternalAPIOnlyOverTLS(t *testing.T) {
	var ready atomic.Bool
	internal := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	h := newHandler(routeDeps{ready: &ready, internal: internal, aliyun: http.NotFoundHandler()})
	plain := httptest.NewRequest("GET", "/_latchkey/health", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, plain)
	if rec.Code == http.StatusTeapot {
		t.Error("the internal API answered on plain HTTP")
	}
	secure := httptest.NewRequest("GET", "/_latchkey/health", nil)
	secure.TLS = &tls.ConnectionState{}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, secure)
	if rec.Code != http.StatusTeapot {
		t.Errorf("the internal API over TLS answered %d, want its handler", rec.Code)
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(*Config)
		ok   bool
	}{
		{"defaults", func(*Config) {}, true},
		{"loopback v6", func(c *Config) { c.HTTPListen = "[::1]:0" }, true},
		{"localhost", func(c *Config) { c.HTTPListen = "localhost:8080" }, true},
		{"http disabled", func(c *Config) { c.HTTPListen = "" }, true},
		{"wildcard http", func(c *Config) { c.HTTPListen = ":8080" }, false},
		{"wildcard http allowed", func(c *Config) { c.HTTPListen = ":8080"; c.InsecureHTTP = true }, true},
		{"public http", func(c *Config) { c.HTTPListen = "10.0.0.1:8080" }, false},
		{"no https", func(c *Config) { c.Listen = "" }, false},
		{"no port", func(c *Config) { c.Listen = "127.0.0.1" }, false},
		{"negative transition", func(c *Config) { c.Transition = -1 }, false},
		{"ehpc 2024", func(c *Config) { c.EHPCPasswordPolicy = "2024" }, true},
		{"ehpc unknown", func(c *Config) { c.EHPCPasswordPolicy = "2023" }, false},
		{"bcc 2025", func(c *Config) { c.BCCPasswordPolicy = "2025" }, true},
		{"bcc unknown", func(c *Config) { c.BCCPasswordPolicy = "x" }, false},
		{"bce region gz", func(c *Config) { c.BCERegion = "gz" }, true},
		{"bce region unknown", func(c *Config) { c.BCERegion = "cn-hangzhou" }, false},
		{"sqlite url", func(c *Config) { c.Store = "sqlite:///tmp/x.db" }, true},
		{"postgres url", func(c *Config) { c.Store = "postgres://u@h/db" }, true},
		{"unknown store", func(c *Config) { c.Store = "mysql://x" }, false},
		{"empty sqlite path", func(c *Config) { c.Store = "sqlite://" }, false},
	} {
		c := Defaults()
		tc.edit(&c)
		if err := c.Validate(); (err == nil) != tc.ok {
			t.Errorf("%s: Validate = %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}
