package core

import (
	"context"
	"errors"
	"sync/atomic"
	"time"
)

// Nonces remembers the signature nonces of accepted requests, per access
// key, for as long as their requests could be accepted, so that a
// replayed request is refused by every replica sharing the store and
// after a restart.
type Nonces interface {
	// Use records nonce for key until expires and reports true, or
	// reports false when the nonce is recorded and has not expired at
	// now. Errors are the store's (KindUnavailable).
	Use(ctx context.Context, key AccessKeyID, nonce string, now, expires time.Time) (bool, error)
	// UseIn is Use as one step of tx, an Update: the nonce is recorded
	// if and only if tx commits, and a concurrent Update recording the
	// same nonce is ordered with tx by the store.
	UseIn(ctx context.Context, tx Tx, key AccessKeyID, nonce string, now, expires time.Time) (bool, error)
}

// ErrNonceUsed is what UseNonce returns for a nonce already recorded: the
// Update must fail, and the front end answers that the nonce was used.
var ErrNonceUsed = errors.New("signature nonce already used")

// NonceIntent carries a request's signature nonce to the Update that
// makes the request's change, so that the nonce is recorded in the same
// transaction (one commit instead of two) and a replay is refused before
// anything happens. A front end attaches it (WithNonceIntent) only to a
// call whose service calls UseNonce first in that Update, before any
// effect; after the call it records the nonce itself (Nonces.Use) unless
// the call succeeded with Recorded true, and answers a replay when
// Replayed is true.
type NonceIntent struct {
	Nonces      Nonces
	AccessKeyID AccessKeyID
	Nonce       string
	Now         time.Time // the front end's clock when the signature was checked
	Expires     time.Time
	recorded    atomic.Bool
	replayed    atomic.Bool
}

type nonceIntentKey struct{}

// WithNonceIntent returns ctx carrying in.
func WithNonceIntent(ctx context.Context, in *NonceIntent) context.Context {
	return context.WithValue(ctx, nonceIntentKey{}, in)
}

// Recorded reports whether a service recorded the nonce in a transaction
// (which, when the call succeeded, committed).
func (in *NonceIntent) Recorded() bool { return in.recorded.Load() }

// Replayed reports whether a service found the nonce already recorded.
func (in *NonceIntent) Replayed() bool { return in.replayed.Load() }

// UseNonce records the nonce of ctx's intent in tx, an Update; for a nonce
// already recorded it returns ErrNonceUsed, which the Update must return.
// Without an intent it does nothing. Call it first in the Update whose
// success makes the operation succeed, before anything with an effect.
func UseNonce(ctx context.Context, tx Tx) error {
	in, _ := ctx.Value(nonceIntentKey{}).(*NonceIntent)
	if in == nil {
		return nil
	}
	fresh, err := in.Nonces.UseIn(ctx, tx, in.AccessKeyID, in.Nonce, in.Now, in.Expires)
	if err != nil {
		return err
	}
	if !fresh {
		in.replayed.Store(true)
		return ErrNonceUsed
	}
	in.recorded.Store(true)
	return nil
}
