package server

import (
	"net/http"
	"sync/atomic"
)

// handleHealthz answers 200 "ok" while the server is ready and 503 before
// that and while it drains (PRODUCT.md §1).
func handleHealthz(ready *atomic.Bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		if !ready.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte("starting or stopping\n"))
			return
		}
		w.Write([]byte("ok\n"))
	})
}

// httpsOnly hides h from the plain-HTTP listener: the internal API lives on
// the HTTPS listener only (PRODUCT.md §8).
func httpsOnly(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil {
			http.NotFound(w, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}
