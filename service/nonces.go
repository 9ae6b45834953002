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

// Nonces implements core.Nonces over the store (core.Tx RecordNonce): every
// replica sharing the store sees a recorded nonce and it survives
// restarts. Recording one is a write, in the Update of the call's change
// or group-committed with the other writes of the moment (README,
// "Replay protection").
type Nonces struct {
	store core.Store
	n     atomic.Uint64
}

var _ core.Nonces = (*Nonces)(nil)

// NewNonces returns the nonce registry over st.
func NewNonces(st core.Store) *Nonces { return &Nonces{store: st} }

// Use implements core.Nonces with an Update of its own.
func (s *Nonces) Use(ctx context.Context, key core.AccessKeyID, value string, now, expires time.Time) (fresh bool, err error) {
	err = s.store.Update(ctx, func(tx core.Tx) (err error) {
		fresh, err = s.UseIn(ctx, tx, key, value, now, expires)
		return err
	})
	return fresh, err
}

// UseIn implements core.Nonces.
func (s *Nonces) UseIn(ctx context.Context, tx core.Tx, key core.AccessKeyID, value string, now, expires time.Time) (bool, error) {
	fresh, err := tx.RecordNonce(ctx, key, value, now, expires)
	if err != nil || !fresh {
		return false, err
	}
	if s.n.Add(1)%sweepEvery == 0 {
		if _, err := tx.SweepNonces(ctx, now, sweepBatch); err != nil {
			return false, err
		}
	}
	return true, nil
}
