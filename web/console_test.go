package web

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, method, target string) *httptest.ResponseRecorder {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle(ConsolePath, Console())
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(method, target, nil))
	return rec
}

func TestConsolePage(t *testing.T) {
	rec := serve(t, "GET", "/console/?vncUrl=wss%3A%2F%2F127.0.0.1%3A8443%2Fvnc%2F%3Fs%3Dabc&instanceId=i-bp1&isWindows=false")
	if rec.Code != http.StatusOK {
		t.Fatalf("GET /console/ = %d, want 200", rec.Code)
	}
	body := rec.Body.String()
	for _, want := range []string{`id="status"`, `id="password-form"`, `id="screen"`, `src="console.js"`} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	// CSP-friendly: no inline script or style, no style attribute.
	if regexp.MustCompile(`<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=`).MatchString(body) {
		t.Error("the page has inline script, style or an event handler attribute")
	}
	h := rec.Header()
	if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
	if h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy = %q, want no-referrer", h.Get("Referrer-Policy"))
	}
}

func TestConsoleAssets(t *testing.T) {
	for path, wantType := range map[string]string{
		"/console/console.js":                 "text/javascript",
		"/console/console.css":                "text/css",
		"/console/novnc/core/rfb.js":          "text/javascript",
		"/console/novnc/LICENSE.txt":          "text/plain",
		"/console/novnc/docs/LICENSE.MPL-2.0": "",
	} {
		rec := serve(t, "GET", path)
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s = %d, want 200", path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, wantType) {
			t.Errorf("GET %s: Content-Type %q, want %s", path, ct, wantType)
		}
	}
}

// TestNoVNCImportsResolve checks that every relative module import in the
// page's script and the vendored noVNC names an embedded file, so that a
// trimmed copy of the npm package cannot break the page.
func TestNoVNCImportsResolve(t *testing.T) {
	importRE := regexp.MustCompile(`(?m)^\s*(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]`)
	root, err := fs.Sub(staticFiles, "static")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	err = fs.WalkDir(root, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".js") {
			return err
		}
		src, err := fs.ReadFile(root, p)
		if err != nil {
			return err
		}
		dir := p[:strings.LastIndex(p, "/")+1]
		for _, m := range importRE.FindAllStringSubmatch(string(src), -1) {
			target := cleanJoin(dir, m[1])
			if _, err := fs.Stat(root, target); err != nil {
				t.Errorf("%s imports %s: %s is not embedded", p, m[1], target)
			}
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 20 {
		t.Errorf("found %d imports; the pattern no longer matches the sources", n)
	}
}

// cleanJoin resolves a relative module path against dir ("" or ending in /).
func cleanJoin(dir, rel string) string {
	parts := strings.Split(strings.TrimSuffix(dir, "/"), "/")
	if dir == "" {
		parts = nil
	}
	for _, seg := range strings.Split(rel, "/") {
		switch seg {
		case ".":
		case "..":
			if len(parts) > 0 {
				parts = parts[:len(parts)-1]
			}
		default:
			parts = append(parts, seg)
		}
	}
	return strings.Join(parts, "/")
}

func TestConsoleRefusals(t *testing.T) {
	if rec := serve(t, "POST", "/console/"); rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /console/ = %d, want 405", rec.Code)
	}
	for _, p := range []string{"/console/novnc/", "/console/novnc/core/", "/console/nope.js"} {
		if rec := serve(t, "GET", p); rec.Code != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, rec.Code)
		}
	}
	rec := serve(t, "GET", "/console?vncUrl=x")
	if rec.Code/100 != 3 || rec.Header().Get("Location") != "/console/?vncUrl=x" {
		t.Errorf("GET /console?vncUrl=x = %d to %q, want a redirect to /console/?vncUrl=x", rec.Code, rec.Header().Get("Location"))
	}
}
