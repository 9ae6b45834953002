package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
	"github.com/latchkey/latchkey/policy"
)

// RAM is a Product: RAM users and custom policies. They have no status,
// no console and no password to check.
var _ Product = (*RAM)(nil)

// Name implements Product.
func (*RAM) Name() string { return string(core.ServiceRAM) }

// Kinds implements Product.
func (*RAM) Kinds() []core.ResourceKind {
	return []core.ResourceKind{core.RAMUserKind, core.RAMPolicyKind}
}

// Describe implements Product.
func (*RAM) Describe(d core.Doc, _ time.Time) (Description, error) {
	if d.Kind == core.RAMPolicyKind {
		return describeKind(d, func(p *core.RAMPolicy) string { return p.Name }, func(*core.RAMPolicy) string { return "" })
	}
	return describeKind(d, func(u *core.RAMUser) string { return string(u.Name) }, func(*core.RAMUser) string { return "" })
}

// Settle implements Product: nothing is scheduled.
func (*RAM) Settle(context.Context, core.Tx) (int, error) { return 0, nil }

// Pending implements Product.
func (*RAM) Pending(context.Context, core.Tx) (int, error) { return 0, nil }

// Reconcile implements Product: nothing runs outside the store.
func (*RAM) Reconcile(context.Context) error { return nil }

// Stop implements Product.
func (*RAM) Stop(context.Context) {}

// CheckPassword implements Product: RAM users have no console password.
func (*RAM) CheckPassword(_ context.Context, d core.Doc, _ PasswordCheck) (PasswordMatch, error) {
	return noPasswords(d.Kind)
}

// Apply implements Product: custom policies, then users with exactly the
// attachments the file lists, and their access keys.
func (s *RAM) Apply(ap *Apply, account core.AccountID, fa *fleet.Account) error {
	ctx, c := ap.Context(), ap.Caller(account)
	for _, p := range fa.RAM.Policies {
		key := core.RAMPolicyKey(account, p.Name)
		x := Applied{Kind: string(core.RAMPolicyKind), Name: p.Name, ID: key, Account: string(account), Action: "unchanged"}
		cur, err := getOptional[core.RAMPolicy](ctx, s.cfg.Store, key)
		if err != nil {
			return err
		}
		switch {
		case cur == nil:
			err := ap.Step(account, "ram.policies "+p.Name, func() error {
				_, err := s.CreatePolicy(ctx, c, p.Name, p.Document, p.Description)
				return err
			})
			if err != nil {
				return err
			}
			x.Action = "created"
		case cur.Document != p.Document:
			return &core.Error{Kind: core.KindConflict, Field: "ram.policies", Message: "policy " + p.Name + " exists with another document; reset, or give the new document another name"}
		}
		ap.Record(x)
	}
	for _, u := range fa.RAM.Users {
		if err := s.applyUser(ap, account, u); err != nil {
			return err
		}
	}
	return nil
}

func (s *RAM) applyUser(ap *Apply, account core.AccountID, u fleet.RAMUser) error {
	ctx, c := ap.Context(), ap.Caller(account)
	name := core.UserName(u.Name)
	x := Applied{Kind: string(core.RAMUserKind), Name: u.Name, ID: core.RAMUserKey(account, name), Account: string(account), Action: "unchanged"}
	cur, err := getOptional[core.RAMUser](ctx, s.cfg.Store, core.RAMUserKey(account, name))
	if err != nil {
		return err
	}
	if cur == nil {
		err := ap.Step(account, "ram.users "+u.Name, func() (err error) {
			cur, err = s.CreateUser(ctx, c, core.CreateRAMUserInput{Name: name, DisplayName: u.DisplayName, Email: u.Email, Comments: u.Comments})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
	}
	// Attach what the file lists, detach what it does not.
	want := map[string]core.PolicyType{}
	for _, p := range u.Policies {
		typ := core.PolicyCustom
		if _, ok := policy.System(p); ok {
			typ = core.PolicySystem
		}
		want[p] = typ
	}
	for _, att := range cur.Policies {
		if typ, ok := want[att.Name]; ok && typ == att.Type {
			delete(want, att.Name)
			continue
		}
		if err := ap.Step(account, "ram.users "+u.Name, func() error { return s.DetachPolicyFromUser(ctx, c, att.Type, att.Name, cur.Name) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "detached "+att.Name)
	}
	for _, p := range u.Policies {
		typ, ok := want[p]
		if !ok {
			continue
		}
		if err := ap.Step(account, "ram.users "+u.Name+" policies "+p, func() error { return s.AttachPolicyToUser(ctx, c, typ, p, cur.Name) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "attached "+p)
	}
	if len(x.Changes) > 0 && x.Action == "unchanged" {
		x.Action = "updated"
	}
	ap.Record(x)
	for _, k := range u.AccessKeys {
		if err := ap.AccessKey(account, cur.Name, k); err != nil {
			return err
		}
	}
	return nil
}

// getOptional reads a resource by key; nil when there is none.
func getOptional[T any, P interface {
	*T
	core.Resource
}](ctx context.Context, st core.Store, key string) (*T, error) {
	var out *T
	err := st.View(ctx, func(tx core.Tx) error {
		v, err := core.Get[T, P](ctx, tx, key)
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		out = v
		return err
	})
	return out, err
}
