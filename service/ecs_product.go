package service

import (
	"context"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
)

// ECS is a Product: the ECS instances.
var (
	_ Product               = (*ECS)(nil)
	_ core.ConsolePasswords = (*ECS)(nil)
)

// Name implements Product.
func (*ECS) Name() string { return string(core.ServiceECS) }

// Kinds implements Product.
func (*ECS) Kinds() []core.ResourceKind { return []core.ResourceKind{core.InstanceKind} }

// Describe implements Product: an instance being released shows
// Releasing.
func (*ECS) Describe(d core.Doc, now time.Time) (Description, error) {
	return describeKind(d, func(i *core.Instance) string { return i.Name }, func(i *core.Instance) string {
		i.Advance(now)
		if i.Releasing(now) {
			return "Releasing"
		}
		return string(i.Status)
	})
}

// Settle implements Product: a released instance is deleted.
func (*ECS) Settle(ctx context.Context, tx core.Tx) (int, error) {
	return settleKind(ctx, tx, func(ctx context.Context, tx core.Tx, i *core.Instance) error {
		if i.Released(tx.Now()) {
			return core.Delete(ctx, tx, i)
		}
		return core.Put(ctx, tx, i)
	})
}

// Pending implements Product.
func (*ECS) Pending(ctx context.Context, tx core.Tx) (int, error) {
	return pendingKind[core.Instance](ctx, tx)
}

// Stop implements Product: consoles need no stopping.
func (*ECS) Stop(context.Context) {}

// CheckPassword implements Product. Targets: "console" (the default), the
// live password, checked by logging in to the instance's console; and
// "pending", the password that the next restart of an instance that is
// not I/O optimized makes live.
func (s *ECS) CheckPassword(ctx context.Context, d core.Doc, q PasswordCheck) (PasswordMatch, error) {
	inst, err := decodeDoc[core.Instance](d)
	if err != nil {
		return PasswordMatch{}, err
	}
	switch q.Target {
	case "", "console":
		ok, err := s.cfg.consoleLogin(ctx, inst.Driver, inst.ConsoleTarget(), inst.VNCPassword, core.VNCSealContext(inst.ID), q.Password)
		return PasswordMatch{Match: ok, Target: "console"}, err
	case "pending":
		return PasswordMatch{Match: sealedMatches(s.cfg.Sealer, inst.PendingVNCPassword, core.VNCSealContext(inst.ID), q.Password), Target: "pending"}, nil
	}
	return PasswordMatch{}, badTarget(q.Target, d.Kind)
}

// SwitchDriver points an instance at another console driver. The new
// driver's console takes the live password first; if it cannot, nothing
// has changed (InstanceNotReady), and the store never names a driver
// whose console lacks the password.
func (s *ECS) SwitchDriver(ctx context.Context, c core.Caller, ref core.InstanceRef, driver string) error {
	if _, err := s.cfg.driver(driver); err != nil {
		return core.Invalid(core.ReasonInvalidParameter, "driver")
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.InstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	var inst *core.Instance
	err = s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		inst, err = s.load(ctx, tx, c, ref)
		return err
	})
	if err != nil || inst.Driver == driver {
		return err
	}
	moved := *inst
	moved.Driver = driver
	if err := s.pushLive(ctx, &moved); err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		cur.Driver = driver
		return core.Put(ctx, tx, cur)
	})
}

// setAdminPassword replaces the stored hash of the guest administrator's
// password (CreateInstance's Password); no console holds it.
func (s *ECS) setAdminPassword(ctx context.Context, c core.Caller, ref core.InstanceRef, pw core.Secret) error {
	hash, err := s.cfg.Hasher.Hash(pw)
	if err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		cur.AdminPassword = hash
		return core.Put(ctx, tx, cur)
	})
}

// findByName returns the account's live ECS instance of that name in the
// region, advanced to now; nil when there is none.
func (s *ECS) findByName(ctx context.Context, account core.AccountID, region core.RegionID, name string) (*core.Instance, error) {
	return findNamed(ctx, s.cfg.Store, core.Query{Kind: core.InstanceKind, Account: account, Region: region, Labels: named(name)},
		func(i *core.Instance) bool { return i.Name == name && i.ReleaseAt.IsZero() })
}

// Apply implements Product: the account's ECS instances.
func (s *ECS) Apply(ap *Apply, account core.AccountID, fa *fleet.Account) error {
	for _, f := range fa.ECS {
		if err := s.applyInstance(ap, account, f); err != nil {
			return err
		}
	}
	return nil
}

func (s *ECS) applyInstance(ap *Apply, account core.AccountID, f fleet.Instance) error {
	ctx, c := ap.Context(), ap.Caller(account)
	region := core.RegionID(f.Region)
	x := Applied{Kind: string(core.InstanceKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	if f.Driver != "" && s.cfg.Drivers[f.Driver] == nil {
		return noDriver("ecs "+f.Name, "console", f.Driver)
	}
	step := func(what string, do func() error) error { return ap.Step(account, "ecs "+f.Name+" "+what, do) }
	inst, err := s.findByName(ctx, account, region, f.Name)
	if err != nil {
		return err
	}
	if inst == nil {
		var id core.InstanceID
		err := step("create", func() (err error) {
			id, err = s.CreateInstance(ctx, c, core.CreateInstanceInput{
				RegionID: region, ZoneID: core.ZoneID(f.Zone), InstanceType: f.InstanceType, ImageID: f.Image,
				Name: f.Name, Description: f.Description, IoOptimized: *f.IoOptimized,
				AdminPassword: core.NewSecret(f.AdminPassword), Machine: f.Machine,
			})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
		if inst, err = s.findByName(ctx, account, region, f.Name); err != nil || inst == nil || inst.ID != id {
			return vanished("instance", err)
		}
	} else {
		switch {
		case inst.IoOptimized != *f.IoOptimized:
			return immutable("ecs", f.Name, "io_optimized")
		case f.Zone != "" && string(inst.ZoneID) != f.Zone:
			return immutable("ecs", f.Name, "zone")
		case inst.InstanceType != f.InstanceType:
			return immutable("ecs", f.Name, "instance_type")
		case inst.ImageID != f.Image:
			return immutable("ecs", f.Name, "image")
		case inst.Machine != f.Machine:
			return immutable("ecs", f.Name, "machine")
		}
	}
	x.ID = string(inst.ID)
	ref := core.InstanceRef{RegionID: region, InstanceID: inst.ID}
	if x.Action != "created" && f.AdminPassword != "" && !hashMatches(s.cfg.Hasher, inst.AdminPassword, core.NewSecret(f.AdminPassword)) {
		if err := step("admin_password", func() error { return s.setAdminPassword(ctx, c, ref, core.NewSecret(f.AdminPassword)) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "admin_password")
	}
	if f.Driver != "" && inst.Driver != f.Driver {
		if err := step("driver", func() error { return s.SwitchDriver(ctx, c, ref, f.Driver) }); err != nil {
			return err
		}
		inst.Driver = f.Driver
		x.Changes = append(x.Changes, "driver")
	}
	if f.VNCPassword != "" {
		pw := core.NewSecret(f.VNCPassword)
		live := sealedMatches(s.cfg.Sealer, inst.VNCPassword, core.VNCSealContext(inst.ID), pw)
		if !live || len(inst.PendingVNCPassword) > 0 {
			if err := step("vnc_password", func() error { return s.ModifyInstanceVncPasswd(ctx, c, ref, pw) }); err != nil {
				return err
			}
			if !inst.IoOptimized {
				// Not I/O optimized: the password is pending until a
				// restart makes it live.
				restart := func() error { return s.RebootInstance(ctx, c, ref) }
				if inst.Status == core.StatusStopped {
					restart = func() error { return s.StartInstance(ctx, c, ref) }
				}
				if err := step("restart", restart); err != nil {
					return err
				}
				if inst.Status == core.StatusStopped {
					if err := step("stop", func() error { return s.StopInstance(ctx, c, ref) }); err != nil {
						return err
					}
				}
			}
			if !live {
				x.Changes = append(x.Changes, "vnc_password")
			} else {
				x.Changes = append(x.Changes, "pending_vnc_password")
			}
		}
	}
	if string(inst.Status) != f.Status {
		do := func() error { return s.StartInstance(ctx, c, ref) }
		if f.Status == string(core.StatusStopped) {
			do = func() error { return s.StopInstance(ctx, c, ref) }
		}
		if err := step("status", do); err != nil {
			return err
		}
		if x.Action == "unchanged" {
			x.Changes = append(x.Changes, "status")
		}
	}
	finish(&x)
	ap.Record(x)
	return nil
}

// LivePassword returns the live VNC password the store holds for an
// instance's console (core.ConsolePasswords): a console that asks
// at every login answers the same on every replica. An instance that is
// gone has no console.
func (s *ECS) LivePassword(ctx context.Context, t core.ConsoleTarget) (core.Secret, error) {
	var sealed core.Sealed
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		inst, err := core.Get[core.Instance](ctx, tx, t.ID)
		if err != nil {
			return err
		}
		if inst.Released(tx.Now()) {
			return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonInstanceNotFound}
		}
		sealed = inst.VNCPassword
		return nil
	})
	if err != nil {
		return core.Secret{}, err
	}
	return s.cfg.Sealer.Open(sealed, core.VNCSealContext(core.InstanceID(t.ID)))
}

// Labels implements labeler.
func (*ECS) Labels(d core.Doc) ([]core.Label, error) {
	return labelsOf[core.Instance](d)
}
