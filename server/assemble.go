package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync/atomic"

	"github.com/latchkey/latchkey/internal/pki"
)

// app is latchkey assembled from a Config: the handler both listeners
// serve and what the banner shows.
type app struct {
	handler http.Handler
	closers []func() error
	banner  banner
}

func (a *app) close() {
	for i := len(a.closers) - 1; i >= 0; i-- {
		a.closers[i]()
	}
}

// assemble builds the whole server: data directory secrets, store,
// services, front ends and routes. eps are the bound addresses.
func assemble(ctx context.Context, cfg Config, eps Endpoints, tlsMat *pki.Material, ready *atomic.Bool) (*app, error) {
	a := &app{banner: banner{dataDir: cfg.DataDir, eps: eps, caFile: tlsMat.CAFile}}
	_, created, err := loadOrCreateToken(filepath.Join(cfg.DataDir, AdminTokenFile), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	if created {
		cfg.Log.Info("admin token written", "file", filepath.Join(cfg.DataDir, AdminTokenFile))
	}
	a.handler = newHandler(routeDeps{ready: ready})
	return a, nil
}

// banner is the startup text for people.
type banner struct {
	dataDir string
	eps     Endpoints
	caFile  string
}

func (b *banner) print(w io.Writer) {
	fmt.Fprintf(w, "latchkey is ready\n  HTTPS  https://%s  (trust %s)\n", b.eps.HTTPS, b.caFile)
	if b.eps.HTTP != "" {
		fmt.Fprintf(w, "  HTTP   http://%s\n", b.eps.HTTP)
	}
}

func (a *app) printBanner(w io.Writer) { a.banner.print(w) }
