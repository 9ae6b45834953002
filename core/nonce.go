package core

import (
	"context"
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
}
