package blacklist

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Kind is the kind of the store's documents that hold the sources' records,
// one per source, keyed by the source's prefix ("192.0.2.7/32",
// "2001:db8:1:2::/64").
const Kind core.ResourceKind = "console.blacklist"

// sweepInterval is how often, at most, a Store sweeps its documents.
const sweepInterval = time.Minute

// Store is the Ledger over the shared store: every replica on one store
// counts the same failures and refuses the same blocked sources. Each
// Admit and each Settle is one read-write transaction on the source's
// document.
//
// What survives a crash: failures, blocks and offences are durable once
// the transaction that recorded them has committed. An attempt in
// progress in a process that dies is never settled; it stops counting
// against its source after Policy.Hold.
//
// Storage stays bounded under address rotation: an Admit at least
// sweepInterval after this process's last sweep sweeps, in one
// transaction, every source that is stale (nothing in progress, no block,
// no attempt for Policy.ForgetAfter), and then the least recently seen
// beyond Policy.MaxAddresses. Between sweeps the documents grow by at
// most one per new source attempting.
type Store struct {
	st     core.Store
	policy Policy
	// nextSweep (Unix nanoseconds) is when this process sweeps next.
	nextSweep atomic.Int64
}

var _ Ledger = (*Store)(nil)

// NewStore returns the Ledger over st.
func NewStore(st core.Store, p Policy) *Store {
	return &Store{st: st, policy: p.withDefaults()}
}

// Admit implements Ledger.
func (s *Store) Admit(ctx context.Context, src netip.Prefix, now time.Time) (Admission, error) {
	var a Admission
	err := s.st.Update(ctx, func(tx core.Tx) error {
		rec, err := load(ctx, tx, src)
		if err != nil {
			return err
		}
		a = rec.admit(s.policy, now)
		return save(ctx, tx, src, rec)
	})
	if err != nil {
		return Admission{}, err
	}
	if next := s.nextSweep.Load(); now.UnixNano() >= next && s.nextSweep.CompareAndSwap(next, now.Add(sweepInterval).UnixNano()) {
		// A failed sweep is left to the next one; the attempt stands.
		_, _ = s.Sweep(ctx, now)
	}
	return a, nil
}

// Settle implements Ledger.
func (s *Store) Settle(ctx context.Context, src netip.Prefix, ticket uint64, now time.Time, v Verdict) (time.Time, error) {
	var until time.Time
	err := s.st.Update(ctx, func(tx core.Tx) error {
		rec, err := load(ctx, tx, src) // a new record when it was swept meanwhile
		if err != nil {
			return err
		}
		var forget bool
		until, forget = rec.settle(s.policy, ticket, now, v)
		if forget {
			return tx.DeleteDoc(ctx, Kind, src.String())
		}
		return save(ctx, tx, src, rec)
	})
	if err != nil {
		return time.Time{}, err
	}
	return until, nil
}

// Sweep forgets the stale sources, then the least recently seen beyond
// MaxAddresses, and returns how many sources remain.
func (s *Store) Sweep(ctx context.Context, now time.Time) (int, error) {
	remain := 0
	err := s.st.Update(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: Kind})
		if err != nil {
			return err
		}
		type kept struct {
			key  string
			seen time.Time
		}
		var live []kept
		for _, d := range docs {
			var rec record
			if err := json.Unmarshal(d.Body, &rec); err == nil && !rec.stale(now, s.policy.ForgetAfter) {
				live = append(live, kept{d.Key, rec.Seen})
				continue
			}
			if err := tx.DeleteDoc(ctx, Kind, d.Key); err != nil {
				return err
			}
		}
		if over := len(live) - s.policy.MaxAddresses; over > 0 {
			slices.SortFunc(live, func(a, b kept) int { return a.seen.Compare(b.seen) })
			for _, k := range live[:over] {
				if err := tx.DeleteDoc(ctx, Kind, k.key); err != nil {
					return err
				}
			}
			live = live[over:]
		}
		remain = len(live)
		return nil
	})
	return remain, err
}

// load reads src's record; a source without one has an empty record.
func load(ctx context.Context, tx core.Tx, src netip.Prefix) (*record, error) {
	rec := &record{}
	d, err := tx.GetDoc(ctx, Kind, src.String())
	switch {
	case core.KindOf(err) == core.KindNotFound:
		return rec, nil
	case err != nil:
		return nil, err
	}
	if err := json.Unmarshal(d.Body, rec); err != nil {
		// A record this version cannot read counts as none: the
		// blacklist starts over for that source rather than lock it out.
		return &record{}, nil
	}
	return rec, nil
}

func save(ctx context.Context, tx core.Tx, src netip.Prefix, rec *record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return &core.Error{Kind: core.KindInternal, Op: "blacklist.save", Err: err}
	}
	return tx.PutDoc(ctx, core.Doc{Kind: Kind, Key: src.String(), Body: b})
}
