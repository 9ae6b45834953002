package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/latchkey/latchkey/core"
)

// clientToken records the outcome of a creation call made with a client
// token (ECS ClientToken, E-HPC ClientToken, BCC clientToken), so that a
// retry returns the same resources instead of creating more. One record
// serves every product: the key is product, account, action and token.
type clientToken struct {
	Product core.Service
	Account core.AccountID
	Action  string
	Token   string
	// Fingerprint digests the parameters that define the call (see
	// fingerprint); empty means a retry is not compared (E-HPC).
	Fingerprint string `json:",omitempty"`
	// Password is the hash of the call's password, if the product
	// compares it (BCC): a digest of it would be reversible.
	Password core.PasswordHash `json:",omitempty"`
	IDs      []string
	TaskID   string `json:",omitempty"`
	LastSeen time.Time
}

const clientTokenKind core.ResourceKind = "service.clienttoken"

func (*clientToken) Kind() core.ResourceKind { return clientTokenKind }
func (t *clientToken) Key() string {
	return string(t.Product) + "/" + string(t.Account) + "/" + t.Action + "/" + t.Token
}
func (t *clientToken) Owner() core.AccountID { return t.Account }
func (*clientToken) Location() core.RegionID { return "" }

// fingerprint digests the parameters of a call, whose secrets and token
// the caller has cleared: only equality matters.
func fingerprint(in any) string {
	b, _ := json.Marshal(in) // inputs are structs of strings, numbers, bools and maps: cannot fail
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// idempotentCall is one creation call with a client token.
type idempotentCall struct {
	token clientToken
	// lifetime is how long after it was last seen a token is remembered;
	// zero means for ever.
	lifetime time.Duration
	// samePassword, if set, reports whether a retry carries the first
	// call's password (its hash in the record).
	samePassword func(first core.PasswordHash) bool
	// mismatch is the error of a retry with other parameters.
	mismatch error
}

// replay returns the earlier call's record when the token names one that
// is still remembered, after checking the retry is the same call; nil
// when the call is new. A retry refreshes the record's LastSeen.
func (c *idempotentCall) replay(ctx context.Context, tx core.Tx) (*clientToken, error) {
	prev, err := core.Get[clientToken](ctx, tx, c.token.Key())
	switch {
	case core.KindOf(err) == core.KindNotFound:
		return nil, nil
	case err != nil:
		return nil, err
	case c.lifetime > 0 && !tx.Now().Before(prev.LastSeen.Add(c.lifetime)):
		return nil, nil
	case prev.Fingerprint != c.token.Fingerprint, c.samePassword != nil && !c.samePassword(prev.Password):
		return nil, c.mismatch
	}
	prev.LastSeen = tx.Now()
	return prev, core.Put(ctx, tx, prev)
}

// record stores the new call's outcome.
func (c *idempotentCall) record(ctx context.Context, tx core.Tx, ids []string, taskID string) error {
	t := c.token
	t.IDs, t.TaskID, t.LastSeen = ids, taskID, tx.Now()
	return core.Put(ctx, tx, &t)
}

// idStrings converts typed ids for a clientToken record.
func idStrings[ID ~string](ids []ID) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = string(id)
	}
	return out
}

// typedIDs converts a clientToken record's ids back.
func typedIDs[ID ~string](ids []string) []ID {
	out := make([]ID, len(ids))
	for i, id := range ids {
		out[i] = ID(id)
	}
	return out
}

// createAll makes n new resources in one transaction, each from make,
// and returns their ids; when call (nil without a client token) names an
// earlier call, it returns that call's ids and makes nothing.
func createAll[R core.Resource, ID ~string](ctx context.Context, st core.Store, call *idempotentCall, n int, make func(now time.Time) (R, ID, error)) ([]ID, []R, error) {
	var ids []ID
	var created []R
	err := st.Update(ctx, func(tx core.Tx) error {
		ids, created = nil, nil
		if call != nil {
			prev, err := call.replay(ctx, tx)
			if err != nil || prev != nil {
				if prev != nil {
					ids = typedIDs[ID](prev.IDs)
				}
				return err
			}
		}
		for range n {
			r, id, err := make(tx.Now())
			if err != nil {
				return err
			}
			if err := core.Put(ctx, tx, r); err != nil {
				return err
			}
			ids, created = append(ids, id), append(created, r)
		}
		if call != nil {
			return call.record(ctx, tx, idStrings(ids), "")
		}
		return nil
	})
	return ids, created, err
}
