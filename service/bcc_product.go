package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
)

// BCC is a Product: the BCC instances.
var _ Product = (*BCC)(nil)

// Name implements Product.
func (*BCC) Name() string { return string(core.ServiceBCC) }

// Kinds implements Product.
func (*BCC) Kinds() []core.ResourceKind { return []core.ResourceKind{core.BCCInstanceKind} }

// Describe implements Product.
func (*BCC) Describe(d core.Doc, now time.Time) (Description, error) {
	return describeKind(d, func(i *core.BCCInstance) string { return i.Name },
		func(i *core.BCCInstance) string { i.Advance(now); return string(i.Status) })
}

// Settle implements Product.
func (*BCC) Settle(ctx context.Context, tx core.Tx) (int, error) {
	return settleKind[core.BCCInstance](ctx, tx, nil)
}

// Pending implements Product.
func (*BCC) Pending(ctx context.Context, tx core.Tx) (int, error) {
	return pendingKind[core.BCCInstance](ctx, tx)
}

// Reconcile implements Product: a BCC console keeps no password the store
// could give back (the administrator's is a hash), so there is nothing to
// push.
func (*BCC) Reconcile(context.Context) error { return nil }

// Stop implements Product: consoles need no stopping.
func (*BCC) Stop(context.Context) {}

// CheckPassword implements Product. Targets: "guest" (the default), the
// guest administrator's password; "console", checked by logging in to the
// instance's console.
func (s *BCC) CheckPassword(ctx context.Context, d core.Doc, q PasswordCheck) (PasswordMatch, error) {
	inst, err := decodeDoc[core.BCCInstance](d)
	if err != nil {
		return PasswordMatch{}, err
	}
	switch q.Target {
	case "", "guest":
		return PasswordMatch{Match: hashMatches(s.cfg.Hasher, inst.AdminPassword, q.Password), Target: "guest"}, nil
	case "console":
		ok, err := s.cfg.consoleLogin(ctx, inst.Driver, inst.ConsoleTarget(), nil, "", q.Password)
		return PasswordMatch{Match: ok, Target: "console"}, err
	}
	return PasswordMatch{}, badTarget(q.Target, d.Kind)
}

// SwitchDriver points an instance at another console and guest driver.
// The guest's password is stored as a hash only, so there is nothing to
// hand the new driver: the next changePass reaches it.
func (s *BCC) SwitchDriver(ctx context.Context, c core.Caller, ref core.BCCRef, driver string) error {
	if _, err := s.cfg.driver(driver); err != nil {
		return core.Invalid(core.ReasonInvalidParameter, "driver")
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.BCCInstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, "SwitchDriver", ref)
		if err != nil {
			return err
		}
		cur.Driver = driver
		return core.Put(ctx, tx, cur)
	})
}

// findByName returns the account's BCC instance of that name in the
// region, advanced to now; nil when there is none.
func (s *BCC) findByName(ctx context.Context, account core.AccountID, region core.RegionID, name string) (*core.BCCInstance, error) {
	return findNamed(ctx, s.cfg.Store, core.Query{Kind: core.BCCInstanceKind, Account: account, Region: region, Labels: named(name)},
		func(i *core.BCCInstance) bool { return i.Name == name })
}

// Apply implements Product: the account's BCC instances.
func (s *BCC) Apply(ap *Apply, account core.AccountID, fa *fleet.Account) error {
	for _, f := range fa.BCC {
		if err := s.applyInstance(ap, account, f); err != nil {
			return err
		}
	}
	return nil
}

func (s *BCC) applyInstance(ap *Apply, account core.AccountID, f fleet.BCC) error {
	if f.Driver != "" && s.cfg.Drivers[f.Driver] == nil {
		return noDriver("bcc "+f.Name, "console", f.Driver)
	}
	ctx, c := ap.Context(), ap.Caller(account)
	region := core.RegionID(f.Region)
	x := Applied{Kind: string(core.BCCInstanceKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	step := func(what string, do func() error) error { return ap.Step(account, "bcc "+f.Name+" "+what, do) }
	inst, err := s.findByName(ctx, account, region, f.Name)
	if err != nil {
		return err
	}
	if inst == nil {
		err := step("create", func() error {
			_, err := s.CreateInstance(ctx, c, core.BCCCreateInput{
				RegionID: region, ZoneName: f.Zone, ImageID: f.Image, InstanceType: f.InstanceType,
				CPUCount: f.CPU, MemoryGB: f.MemoryGB, Name: f.Name, AdminPassword: core.NewSecret(f.AdminPassword),
				Machine: f.Machine,
			})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
		if inst, err = s.findByName(ctx, account, region, f.Name); err != nil || inst == nil {
			return vanished("instance", err)
		}
	} else if inst.CPUCount != f.CPU || inst.MemoryGB != f.MemoryGB {
		return immutable("bcc", f.Name, "cpu or memory_gb")
	} else if inst.Machine != f.Machine {
		return immutable("bcc", f.Name, "machine")
	}
	x.ID = string(inst.ID)
	ref := core.BCCRef{RegionID: region, InstanceID: inst.ID}
	if f.Driver != "" && inst.Driver != f.Driver {
		if err := step("driver", func() error { return s.SwitchDriver(ctx, c, ref, f.Driver) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "driver")
	}
	if f.AdminPassword != "" && !hashMatches(s.cfg.Hasher, inst.AdminPassword, core.NewSecret(f.AdminPassword)) {
		if err := step("admin_password", func() error { return s.ChangeInstancePass(ctx, c, ref, core.NewSecret(f.AdminPassword)) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "admin_password")
	}
	if string(inst.Status) != f.Status {
		do := func() error { return s.StartInstance(ctx, c, ref) }
		if f.Status == string(core.StatusStopped) {
			do = func() error { return s.StopInstance(ctx, c, ref, false) }
		}
		if err := step("status", do); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "status")
	}
	finish(&x)
	ap.Record(x)
	return nil
}

// Labels implements labeler.
func (*BCC) Labels(d core.Doc) ([]core.Label, error) {
	return labelsOf[core.BCCInstance](d)
}
