package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

// ConsolePath is the path the console page is served at; its assets are
// served below it.
const ConsolePath = "/console/"

// staticFiles holds the console page and the vendored noVNC library. It is
// read-only.
//
//go:embed static
var staticFiles embed.FS

// consoleCSP is the Content-Security-Policy of everything under
// ConsolePath. Scripts, styles and images come from latchkey itself (no
// inline script or style); noVNC draws the remote cursor from data: URLs;
// the console WebSocket may be on another port or host than the page
// (the page can be loaded over plain HTTP while vncUrl names the HTTPS
// listener), so any ws: or wss: URL may be connected to.
const consoleCSP = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data: blob:; connect-src 'self' ws: wss:; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Console returns the handler for ConsolePath and below: GET
// /console/?vncUrl=…&instanceId=… answers the page, other paths its
// assets. It answers GET and HEAD only, lists no directory, and sets a
// strict Content-Security-Policy and no-referrer on every answer, so that
// the single-use ticket in the page's own URL is not passed on. It must be
// mounted at ConsolePath.
func Console() http.Handler {
	root, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err) // static is embedded above: it always exists
	}
	files := http.StripPrefix(strings.TrimSuffix(ConsolePath, "/"), http.FileServerFS(root))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", consoleCSP)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		// The page is the only directory with an index; the others
		// are not listed.
		if p := r.URL.Path; strings.HasSuffix(p, "/") && p != ConsolePath {
			http.NotFound(w, r)
			return
		}
		files.ServeHTTP(w, r)
	})
}
