package blacklist

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Audit record of a refused attempt.
const (
	AuditAction = "VncLogin"
	AuditResult = "TooManySecurityFailures"
)

// Recorder counts what a Guard does, by surface; metrics.Metrics is one.
// Its methods must not block.
type Recorder interface {
	// VNCRefused counts one attempt refused because of the blacklist.
	VNCRefused(surface string)
	// VNCBlacklisted counts one address becoming blocked.
	VNCBlacklisted(surface string)
}

// Config is what a Guard works with. Ledger is required; the other fields
// may be nil.
type Config struct {
	Ledger   Ledger
	Clock    core.Clock // nil: the wall clock
	Auditor  core.Auditor
	Recorder Recorder
	Log      *slog.Logger
}

// Guard decides, before each VNC authentication, whether its source
// address may try, and learns the outcome. A nil *Guard admits every
// attempt, so that surfaces built without one (in tests) work unchanged.
// It is safe for concurrent use.
type Guard struct {
	cfg Config
}

// New returns a Guard over cfg.Ledger.
func New(cfg Config) *Guard {
	if cfg.Clock == nil {
		cfg.Clock = core.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	return &Guard{cfg: cfg}
}

// Surface says where attempts come in, for the metrics and the audit log.
type Surface struct {
	// Name is the metrics label: "gateway" or "visual".
	Name string
	// Product and Resource are the audit record's: the product whose
	// login was refused ("latchkey" when the gateway cannot tell yet, as
	// the console ticket is not redeemed for a refused client) and what
	// was logged in to.
	Product  string
	Resource string
}

// settleTimeout bounds the transaction that settles an attempt, which
// runs after its connection is over.
const settleTimeout = 30 * time.Second

// Attempt is an admitted authentication, to be settled once.
type Attempt struct {
	g      *Guard
	ctx    context.Context
	s      Surface
	src    netip.Prefix
	ticket uint64
	once   sync.Once
}

// Admit asks whether addr may authenticate on surface s now. It returns
// the attempt to settle, or nil when addr is refused; the refusal is
// already counted, audited and, when it comes from a block, logged at
// debug level. The caller then tells the client with rfb.Refuse. Attempts
// are counted by source (see Source: an IPv6 address's /64). An invalid
// addr (a connection that is not IP) is admitted unguarded. When the
// Ledger cannot answer (the store is down) the attempt is refused and the
// error logged: a login needs the store anyway.
func (g *Guard) Admit(ctx context.Context, s Surface, addr netip.Addr) *Attempt {
	src := Source(addr)
	if g == nil || !src.IsValid() {
		return &Attempt{}
	}
	now := g.cfg.Clock.Now()
	a, err := g.cfg.Ledger.Admit(ctx, src, now)
	if err != nil {
		g.cfg.Log.Error("VNC login refused: the blacklist cannot be consulted", "surface", s.Name, "resource", s.Resource, "source", src, "err", err)
		return nil
	}
	if a.OK {
		return &Attempt{g: g, ctx: context.WithoutCancel(ctx), s: s, src: src, ticket: a.Ticket}
	}
	if g.cfg.Recorder != nil {
		g.cfg.Recorder.VNCRefused(s.Name)
	}
	detail := "too many authentications from this address in progress"
	if !a.BlockedUntil.IsZero() {
		detail = "source address blocked until " + a.BlockedUntil.UTC().Format(time.RFC3339)
	}
	g.cfg.Log.Debug("VNC login refused: too many security failures", "surface", s.Name, "resource", s.Resource, "source", src)
	if g.cfg.Auditor != nil {
		ev := core.AuditEvent{
			Time: now, SourceIP: addr.Unmap(), Product: s.Product, Action: AuditAction,
			Resource: s.Resource, Result: AuditResult, Detail: detail,
		}
		if err := g.cfg.Auditor.Record(context.WithoutCancel(ctx), ev); err != nil {
			g.cfg.Log.Error("audit record failed", "action", AuditAction, "err", err)
		}
	}
	return nil
}

// Settle records how the attempt ended. Only the first call counts, so a
// surface may settle Abandoned unconditionally once the connection is
// over, after settling the verdict when it was known. A Settle the Ledger
// cannot record is logged; the attempt's place is freed after the
// Ledger's hold.
func (a *Attempt) Settle(v Verdict) {
	if a.g == nil {
		return
	}
	a.once.Do(func() {
		g := a.g
		ctx, cancel := context.WithTimeout(a.ctx, settleTimeout)
		defer cancel()
		until, err := g.cfg.Ledger.Settle(ctx, a.src, a.ticket, g.cfg.Clock.Now(), v)
		if err != nil {
			g.cfg.Log.Error("VNC login outcome not recorded in the blacklist", "surface", a.s.Name, "resource", a.s.Resource, "source", a.src, "err", err)
			return
		}
		if until.IsZero() {
			return
		}
		if g.cfg.Recorder != nil {
			g.cfg.Recorder.VNCBlacklisted(a.s.Name)
		}
		g.cfg.Log.Warn("VNC source address blocked after repeated authentication failures",
			"surface", a.s.Name, "resource", a.s.Resource, "source", a.src, "until", until.UTC().Format(time.RFC3339))
	})
}
