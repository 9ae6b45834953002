package service

import (
	"context"
	"maps"
	"slices"

	"github.com/latchkey/latchkey/core"
)

// Accounts reads and changes account state: which services an account has
// enabled and whether it is in debt (PRODUCT.md §4, §8). Products check
// the state in their gate; the internal API changes it.
type Accounts struct {
	cfg Config
}

// NewAccounts returns the account-state service.
func NewAccounts(cfg Config) *Accounts {
	cfg.fill()
	return &Accounts{cfg: cfg}
}

// AccountState is the part of an account the internal API shows and
// changes. Services lists every known service with whether it is enabled.
type AccountState struct {
	AccountID core.AccountID        `json:"account_id"`
	Services  map[core.Service]bool `json:"services"`
	InDebt    bool                  `json:"in_debt"`
}

// AccountChange is a partial update: nil fields are left alone, and
// Services changes only the services it names.
type AccountChange struct {
	Services map[core.Service]bool `json:"services,omitempty"`
	InDebt   *bool                 `json:"in_debt,omitempty"`
}

// KnownServices returns the services an account can enable, in a fixed
// order.
func KnownServices() []core.Service {
	return []core.Service{core.ServiceECS, core.ServiceEHPC, core.ServiceBCC, core.ServiceRAM}
}

func stateOf(a *core.Account) AccountState {
	st := AccountState{AccountID: a.ID, Services: make(map[core.Service]bool), InDebt: a.InDebt}
	for _, s := range KnownServices() {
		st.Services[s] = a.Enabled(s)
	}
	return st
}

// List returns the state of every account, oldest first.
func (s *Accounts) List(ctx context.Context) ([]AccountState, error) {
	var out []AccountState
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		all, err := core.List[core.Account](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		for _, a := range all {
			out = append(out, stateOf(a))
		}
		return nil
	})
	return out, err
}

// Get returns one account's state; an unknown account gives KindNotFound.
func (s *Accounts) Get(ctx context.Context, id core.AccountID) (AccountState, error) {
	var st AccountState
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		a, err := core.Get[core.Account](ctx, tx, string(id))
		if err != nil {
			return err
		}
		st = stateOf(a)
		return nil
	})
	return st, err
}

// Ensure creates the account when the store does not know it and reports
// whether it did.
func (s *Accounts) Ensure(ctx context.Context, id core.AccountID) (bool, error) {
	created := false
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		_, err := core.Get[core.Account](ctx, tx, string(id))
		if created = core.KindOf(err) == core.KindNotFound; !created {
			return err
		}
		return core.Put(ctx, tx, &core.Account{ID: id, CreatedAt: tx.Now()})
	})
	return created, err
}

// resetAccount returns an account's state to the defaults: every service
// enabled, no debt.
func resetAccount(ctx context.Context, tx core.Tx, id core.AccountID) error {
	a, err := core.Get[core.Account](ctx, tx, string(id))
	if err != nil || a.Disabled == nil && !a.InDebt {
		return err
	}
	a.Disabled, a.InDebt = nil, false
	return core.Put(ctx, tx, a)
}

// Change applies ch to the account and returns its new state. A service
// name that is not one of KnownServices gives KindInvalid naming it.
func (s *Accounts) Change(ctx context.Context, id core.AccountID, ch AccountChange) (AccountState, error) {
	for svc := range ch.Services {
		if !slices.Contains(KnownServices(), svc) {
			return AccountState{}, &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Field: "services." + string(svc), Message: "unknown service"}
		}
	}
	var st AccountState
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		a, err := core.Get[core.Account](ctx, tx, string(id))
		if err != nil {
			return err
		}
		for svc, enabled := range ch.Services {
			if a.Disabled == nil {
				a.Disabled = make(map[core.Service]bool)
			}
			if enabled {
				delete(a.Disabled, svc)
			} else {
				a.Disabled[svc] = true
			}
		}
		if len(a.Disabled) == 0 {
			a.Disabled = nil
		}
		if ch.InDebt != nil {
			a.InDebt = *ch.InDebt
		}
		if err := core.Put(ctx, tx, a); err != nil {
			return err
		}
		st = stateOf(a)
		return tx.AppendAudit(ctx, core.AuditEvent{
			Time: tx.Now(), AccountID: id, Product: "latchkey", Action: "ChangeAccountState",
			Resource: "account/" + string(id), Result: "Success", Detail: describeChange(ch),
		})
	})
	return st, err
}

func describeChange(ch AccountChange) string {
	var parts []string
	for _, svc := range slices.Sorted(maps.Keys(ch.Services)) {
		if ch.Services[svc] {
			parts = append(parts, "enable "+string(svc))
		} else {
			parts = append(parts, "disable "+string(svc))
		}
	}
	if ch.InDebt != nil {
		if *ch.InDebt {
			parts = append(parts, "in debt")
		} else {
			parts = append(parts, "not in debt")
		}
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}
