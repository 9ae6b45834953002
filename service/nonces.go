package service

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/latchkey/latchkey/core"
)

// sweepEvery and sweepBatch bound the cleanup of expired nonces: every
// sweepEvery-th recorded nonce also deletes up to sweepBatch expired ones,
// oldest first, in the same transaction, so the table stays proportional
// to the nonces of the last acceptance window.
const (
	sweepEvery = 128
	sweepBatch = 512
)

// Nonces implements core.Nonces over the store: a nonce is a document,
// so every replica sharing the store sees it and it survives restarts.
// Recording one is a write, group-committed with the other writes of the
// moment (README, "Replay protection").
type Nonces struct {
	store core.Store
	n     atomic.Uint64
	// notBefore (Unix nanoseconds) is when the oldest nonce the last sweep
	// saw expires: no sweep before then has anything to delete. It only
	// delays deleting expired nonces, which Use ignores anyway.
	notBefore atomic.Int64
	// sweeping is set while UseIn's background sweep runs.
	sweeping atomic.Bool
}

var _ core.Nonces = (*Nonces)(nil)

// NewNonces returns the nonce registry over st.
func NewNonces(st core.Store) *Nonces { return &Nonces{store: st} }

// nonce is a recorded signature nonce.
type nonce struct {
	AccessKeyID core.AccessKeyID
	Nonce       string
	Expires     time.Time
}

const nonceKind core.ResourceKind = "signature.nonce"

func (*nonce) Kind() core.ResourceKind { return nonceKind }

// Key joins the access key and the nonce; an access key id has no "/".
func (n *nonce) Key() string           { return string(n.AccessKeyID) + "/" + n.Nonce }
func (*nonce) Owner() core.AccountID   { return "" }
func (*nonce) Location() core.RegionID { return "" }

// Use implements core.Nonces: one Update of its own; a sweep that is due
// runs after it, on the caller's goroutine.
func (s *Nonces) Use(ctx context.Context, key core.AccessKeyID, value string, now, expires time.Time) (bool, error) {
	sweep := s.due(now)
	fresh := false
	err := s.store.Update(ctx, func(tx core.Tx) (err error) {
		fresh, err = record(ctx, tx, &nonce{AccessKeyID: key, Nonce: value, Expires: expires}, now)
		return err
	})
	if err == nil && sweep {
		s.sweep(ctx, now)
	}
	return fresh, err
}

// UseIn implements core.Nonces. A sweep that is due runs on a goroutine of
// its own, at most one at a time, so that the change's Update stays as
// small as the change: it lists the kind, which in PostgreSQL would lock
// every nonce of the batch's transaction.
func (s *Nonces) UseIn(ctx context.Context, tx core.Tx, key core.AccessKeyID, value string, now, expires time.Time) (bool, error) {
	fresh, err := record(ctx, tx, &nonce{AccessKeyID: key, Nonce: value, Expires: expires}, now)
	if err == nil && fresh && s.due(now) && s.sweeping.CompareAndSwap(false, true) {
		go func() {
			defer s.sweeping.Store(false)
			s.sweep(context.WithoutCancel(ctx), now)
		}()
	}
	return fresh, err
}

// due counts a recorded nonce and reports whether a sweep should follow.
func (s *Nonces) due(now time.Time) bool {
	return s.n.Add(1)%sweepEvery == 0 && now.UnixNano() >= s.notBefore.Load()
}

// record stores rec in tx and reports true, or reports false when the
// same nonce is recorded and has not expired at now.
func record(ctx context.Context, tx core.Tx, rec *nonce, now time.Time) (bool, error) {
	prev, err := core.Get[nonce](ctx, tx, rec.Key())
	switch {
	case err == nil && now.Before(prev.Expires):
		return false, nil
	case err != nil && core.KindOf(err) != core.KindNotFound:
		return false, err
	}
	if prev != nil {
		// An expired record of the same nonce: forget it first, so the
		// new one takes its place in time order.
		if err := core.Delete(ctx, tx, prev); err != nil {
			return false, err
		}
	}
	if err := core.Put(ctx, tx, rec); err != nil {
		return false, err
	}
	return true, nil
}

// sweep deletes up to sweepBatch expired nonces, oldest first: the store
// lists documents in insertion order, which is the order of their expiry
// up to the timestamp window's slack. The listing is a View, so the
// sweep holds no lock on the kind while it decides; each nonce is read
// again before it goes, so one used anew meanwhile stays. A failed sweep
// is left to the next one.
func (s *Nonces) sweep(ctx context.Context, now time.Time) {
	var old []*nonce
	err := s.store.View(ctx, func(tx core.Tx) (err error) {
		old, err = core.List[nonce](ctx, tx, core.Query{Limit: sweepBatch})
		return err
	})
	if err != nil {
		return
	}
	expired := 0
	for _, n := range old {
		if now.Before(n.Expires) {
			s.notBefore.Store(n.Expires.UnixNano())
			break
		}
		expired++
	}
	if expired == 0 {
		return
	}
	_ = s.store.Update(ctx, func(tx core.Tx) error {
		for _, n := range old {
			if now.Before(n.Expires) {
				continue
			}
			// Read again: the nonce may have been used anew since.
			cur, err := core.Get[nonce](ctx, tx, n.Key())
			if core.KindOf(err) == core.KindNotFound || err == nil && now.Before(cur.Expires) {
				continue
			}
			if err != nil {
				return err
			}
			if err := core.Delete(ctx, tx, cur); err != nil {
				return err
			}
		}
		return nil
	})
}
