package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// ConsoleSource resolves the resource a console ticket names into the
// driver's target and the driver's name. Each product that hands out
// console tickets (ECS, BCC) is one.
type ConsoleSource interface {
	ResolveConsole(ctx context.Context, tx core.Tx, account core.AccountID, id string) (core.ConsoleTarget, string, error)
}

// Consoles implements core.Consoles over the products' console sources.
type Consoles struct {
	cfg     Config
	sources map[string]ConsoleSource
}

var _ core.Consoles = (*Consoles)(nil)

// NewConsoles returns the console service; sources maps a product name
// ("ecs", "bcc") to its resolver.
func NewConsoles(cfg Config, sources map[string]ConsoleSource) *Consoles {
	cfg.fill()
	return &Consoles{cfg: cfg, sources: sources}
}

// Redeem implements core.Consoles: the ticket is deleted in the same
// transaction that checks it, so it works at most once.
func (s *Consoles) Redeem(ctx context.Context, token string) (core.Conn, error) {
	gone := &core.Error{Kind: core.KindNotFound, Message: "console ticket is unknown, used or expired"}
	var target core.ConsoleTarget
	var driver string
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		tok, err := core.Get[core.VNCToken](ctx, tx, token)
		if core.KindOf(err) == core.KindNotFound {
			return gone
		}
		if err != nil {
			return err
		}
		if err := core.Delete(ctx, tx, tok); err != nil {
			return err
		}
		if !tx.Now().Before(tok.ExpiresAt) {
			return nil // deleting the expired ticket is all there is to do
		}
		src, ok := s.sources[tok.Product]
		if !ok {
			return gone
		}
		target, driver, err = src.ResolveConsole(ctx, tx, tok.AccountID, tok.Target)
		return err
	})
	if err != nil {
		return nil, err
	}
	if driver == "" {
		return nil, gone
	}
	d, err := s.cfg.driver(driver)
	if err != nil {
		return nil, err
	}
	return d.OpenConsole(ctx, target)
}
