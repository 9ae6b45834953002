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

// Use implements core.Nonces.
func (s *Nonces) Use(ctx context.Context, key core.AccessKeyID, value string, now, expires time.Time) (bool, error) {
	rec := &nonce{AccessKeyID: key, Nonce: value, Expires: expires}
	sweep := s.n.Add(1)%sweepEvery == 0
	fresh := false
	err := s.store.Update(ctx, func(tx core.Tx) error {
		prev, err := core.Get[nonce](ctx, tx, rec.Key())
		switch {
		case err == nil && now.Before(prev.Expires):
			fresh = false
			return nil
		case err != nil && core.KindOf(err) != core.KindNotFound:
			return err
		}
		fresh = true
		if prev != nil {
			// An expired record of the same nonce: forget it first, so
			// the new one takes its place in time order.
			if err := core.Delete(ctx, tx, prev); err != nil {
				return err
			}
		}
		if sweep {
			if err := sweepNonces(ctx, tx, now); err != nil {
				return err
			}
		}
		return core.Put(ctx, tx, rec)
	})
	return fresh, err
}

// sweepNonces deletes up to sweepBatch expired nonces, oldest first. The
// store lists documents in insertion order, which is the order of their
// expiry up to the timestamp window's slack.
func sweepNonces(ctx context.Context, tx core.Tx, now time.Time) error {
	old, err := core.List[nonce](ctx, tx, core.Query{Limit: sweepBatch})
	if err != nil {
		return err
	}
	for _, n := range old {
		if now.Before(n.Expires) {
			continue
		}
		if err := core.Delete(ctx, tx, n); err != nil {
			return err
		}
	}
	return nil
}
