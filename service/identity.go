package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// Identity manages accounts and access keys and resolves keys for
// signature checks (core.Keyring). A key deleted or disabled through any
// replica is refused by every replica as soon as the change is
// acknowledged: on a shared store every lookup reads the store; on a
// store that is the only writer of its data (core.KindVersions) the keys
// looked up are kept while no Update has written an access key since
// they were read.
type Identity struct {
	cfg  Config
	keys *kindCache[core.AccessKeyID, cachedKey]
}

// cachedKey is an active access key Lookup read.
type cachedKey struct {
	principal core.Principal
	secret    core.Secret
}

var _ core.Keyring = (*Identity)(nil)

// NewIdentity returns the identity service.
func NewIdentity(cfg Config) *Identity {
	cfg.fill()
	return &Identity{cfg: cfg, keys: newKindCache[core.AccessKeyID, cachedKey](cfg.Store, core.AccessKeyKind)}
}

// Credentials are a freshly created access key with its plaintext secret.
type Credentials struct {
	AccountID   core.AccountID
	AccessKeyID core.AccessKeyID
	Secret      core.Secret
}

// Bootstrap returns the first account's root access key, creating the
// account and the key on first start (created reports that). Later starts
// return the existing key.
func (s *Identity) Bootstrap(ctx context.Context) (creds Credentials, created bool, err error) {
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		accounts, err := core.List[core.Account](ctx, tx, core.Query{Limit: 1})
		if err != nil {
			return err
		}
		if len(accounts) == 1 {
			keys, err := core.List[core.AccessKey](ctx, tx, core.Query{Account: accounts[0].ID})
			if err != nil {
				return err
			}
			for _, k := range keys {
				if k.User == "" && k.Status == core.AccessKeyActive {
					secret, err := s.cfg.Sealer.Open(k.Secret, core.AccessKeySealContext(k.ID))
					if err != nil {
						return err
					}
					creds = Credentials{AccountID: k.AccountID, AccessKeyID: k.ID, Secret: secret}
					return nil
				}
			}
		}
		acct, err := s.createAccount(ctx, tx)
		if err != nil {
			return err
		}
		creds, err = s.createAccessKey(ctx, tx, acct.ID, "")
		created = true
		return err
	})
	return creds, created, err
}

// CreateAccount creates a new account with every service enabled and a
// root access key.
func (s *Identity) CreateAccount(ctx context.Context) (Credentials, error) {
	var creds Credentials
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		acct, err := s.createAccount(ctx, tx)
		if err != nil {
			return err
		}
		creds, err = s.createAccessKey(ctx, tx, acct.ID, "")
		return err
	})
	return creds, err
}

// CreateAccessKey creates an access key for the account root (user empty)
// or a RAM user, inside tx.
func (s *Identity) CreateAccessKey(ctx context.Context, tx core.Tx, account core.AccountID, user core.UserName) (Credentials, error) {
	return s.createAccessKey(ctx, tx, account, user)
}

func (s *Identity) createAccount(ctx context.Context, tx core.Tx) (*core.Account, error) {
	digits, err := randomDigits(s.cfg.Rand, 16)
	if err != nil {
		return nil, err
	}
	acct := &core.Account{ID: core.AccountID(digits), CreatedAt: tx.Now()}
	return acct, core.Put(ctx, tx, acct)
}

// createAccessKey makes an id shaped like Alibaba's (LTAI + 20 characters)
// and a 30-character secret.
func (s *Identity) createAccessKey(ctx context.Context, tx core.Tx, account core.AccountID, user core.UserName) (Credentials, error) {
	suffix, err := randomString(s.cfg.Rand, mixedAlnum, 20)
	if err != nil {
		return Credentials{}, err
	}
	plain, err := randomString(s.cfg.Rand, mixedAlnum, 30)
	if err != nil {
		return Credentials{}, err
	}
	id := core.AccessKeyID("LTAI" + suffix)
	secret := core.NewSecret(plain)
	sealed, err := s.cfg.Sealer.Seal(secret, core.AccessKeySealContext(id))
	if err != nil {
		return Credentials{}, err
	}
	key := &core.AccessKey{ID: id, AccountID: account, User: user, Secret: sealed, Status: core.AccessKeyActive, CreatedAt: tx.Now()}
	if err := core.Put(ctx, tx, key); err != nil {
		return Credentials{}, err
	}
	return Credentials{AccountID: account, AccessKeyID: id, Secret: secret}, nil
}

// Lookup implements core.Keyring.
func (s *Identity) Lookup(ctx context.Context, id core.AccessKeyID) (core.Principal, core.Secret, error) {
	k, err := s.keys.load(ctx, id, func(tx core.Tx) (cachedKey, error) { return s.activeKey(ctx, tx, id) })
	return k.principal, k.secret, err
}

// activeKey reads the access key id, which must be active, and opens its
// secret.
func (s *Identity) activeKey(ctx context.Context, tx core.Tx, id core.AccessKeyID) (cachedKey, error) {
	key, err := core.Get[core.AccessKey](ctx, tx, string(id))
	if core.KindOf(err) == core.KindNotFound {
		return cachedKey{}, &core.Error{Kind: core.KindNotFound, Reason: core.ReasonAccessKeyNotFound}
	}
	if err != nil {
		return cachedKey{}, err
	}
	if key.Status != core.AccessKeyActive {
		return cachedKey{}, &core.Error{Kind: core.KindForbidden, Reason: core.ReasonAccessKeyNotFound, Message: "access key is inactive"}
	}
	secret, err := s.cfg.Sealer.Open(key.Secret, core.AccessKeySealContext(id))
	if err != nil {
		return cachedKey{}, err
	}
	return cachedKey{principal: core.Principal{AccountID: key.AccountID, User: key.User, AccessKeyID: id}, secret: secret}, nil
}

// ImportAccessKey makes id an active access key of the account (user
// empty: its root) with the given secret, as a fleet file asks. It
// reports "created", "updated" (the secret or status changed) or
// "unchanged". A key of another account or user gives KindConflict.
func (s *Identity) ImportAccessKey(ctx context.Context, account core.AccountID, user core.UserName, id core.AccessKeyID, secret core.Secret) (string, error) {
	action := "unchanged"
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		action = "unchanged"
		cur, err := core.Get[core.AccessKey](ctx, tx, string(id))
		switch {
		case err == nil && (cur.AccountID != account || cur.User != user):
			return &core.Error{Kind: core.KindConflict, Field: "access_keys", Message: "access key " + string(id) + " belongs to another account or user"}
		case err == nil && cur.Status == core.AccessKeyActive && sealedMatches(s.cfg.Sealer, cur.Secret, core.AccessKeySealContext(cur.ID), secret):
			return nil
		case err != nil && core.KindOf(err) != core.KindNotFound:
			return err
		}
		sealed, err := s.cfg.Sealer.Seal(secret, core.AccessKeySealContext(id))
		if err != nil {
			return err
		}
		key := &core.AccessKey{ID: id, AccountID: account, User: user, Secret: sealed, Status: core.AccessKeyActive, CreatedAt: tx.Now()}
		action = "created"
		if cur != nil {
			key.CreatedAt, action = cur.CreatedAt, "updated"
		}
		return core.Put(ctx, tx, key)
	})
	return action, err
}
