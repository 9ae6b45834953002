package server

import (
	"net/http"
	"sync/atomic"

	"github.com/latchkey/latchkey/bce"
	"github.com/latchkey/latchkey/web"
)

// routeDeps are the handlers the mux routes to. A nil handler leaves its
// routes unregistered.
type routeDeps struct {
	ready *atomic.Bool
	// aliyun serves Alibaba Cloud RPC (ECS, E-HPC, RAM) at "/".
	aliyun http.Handler
	// vnc is the console WebSocket gateway at /vnc/.
	vnc http.Handler
	// bce serves Baidu BCE REST under /v2/, and any request signed with
	// bce-auth-v1 that no more specific route takes.
	bce http.Handler
	// internal is the /_latchkey/ API, served on the HTTPS listener only.
	internal http.Handler
	// metrics serves /metrics in the Prometheus text format.
	metrics http.Handler
}

// newHandler returns the one handler both listeners serve.
func newHandler(d routeDeps) http.Handler {
	mux := http.NewServeMux()
	addRoutes(mux, d)
	return mux
}

// addRoutes is the complete list of latchkey's routes (PRODUCT.md §1, §2,
// §8). Alibaba RPC owns "/" because its clients post to the root path.
func addRoutes(mux *http.ServeMux, d routeDeps) {
	mux.Handle("GET /healthz", handleHealthz(d.ready))
	if d.metrics != nil {
		mux.Handle("GET /metrics", d.metrics)
	}
	if d.vnc != nil {
		mux.Handle("/vnc/", d.vnc)
	}
	mux.Handle(web.ConsolePath, web.Console())
	if d.bce != nil {
		mux.Handle("/v2/", d.bce)
	}
	if d.internal != nil {
		mux.Handle("/_latchkey/", httpsOnly(d.internal))
	}
	if root := bySignature(d.bce, d.aliyun); root != nil {
		mux.Handle("/", root)
	}
}

// bySignature sends a request signed with bce-auth-v1 to bceFront, on any
// path, and every other request to next: a BCE client calling a path
// latchkey does not serve gets BCE's error envelope, never Alibaba's
// (PRODUCT.md §2). Either handler may be nil.
func bySignature(bceFront, next http.Handler) http.Handler {
	if bceFront == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if bce.IsSigned(r) || next == nil {
			bceFront.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
