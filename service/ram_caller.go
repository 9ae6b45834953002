package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// CallerUser implements core.RAM: it reads the caller's own user, without
// authorization or the account's RAM state (STS GetCallerIdentity needs
// neither).
func (s *RAM) CallerUser(ctx context.Context, c core.Caller) (*core.RAMUser, error) {
	if c.IsRoot() {
		return nil, userNotFound()
	}
	var u *core.RAMUser
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		u, err = loadUser(ctx, tx, c.AccountID, c.User)
		return err
	})
	return u, err
}
