package internalapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/metrics"
	"github.com/latchkey/latchkey/policy"
	"github.com/latchkey/latchkey/service"
)

// Applied is what applying a fleet did to one resource.
type Applied struct {
	Kind    string   `json:"kind"`
	Name    string   `json:"name"`
	ID      string   `json:"id,omitempty"`
	Account string   `json:"account"`
	Action  string   `json:"action"` // created, updated or unchanged
	Changes []string `json:"changes,omitempty"`
}

// ApplyResult is the answer of a fleet apply.
type ApplyResult struct {
	Changed   bool      `json:"changed"`
	Resources []Applied `json:"resources"`
}

// fleetErrorBody is an apply that stopped part way: what was done, and
// the error.
type fleetErrorBody struct {
	errorBody
	Resources []Applied `json:"resources"`
}

// applyFleet answers POST /_latchkey/fleet with a fleet file (YAML) as
// the body.
func (a *api) applyFleet(w http.ResponseWriter, r *http.Request) {
	const action = "ApplyFleet"
	if a.d.Store == nil || a.d.ECS == nil || a.d.Sealer == nil || a.d.Hasher == nil {
		a.fail(w, r, action, unavailable("fleet files"))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxFleet+1))
	if err != nil || len(body) > maxFleet {
		a.fail(w, r, action, &apiError{status: http.StatusBadRequest, code: "InvalidBody", msg: "the fleet file is too large or unreadable"})
		return
	}
	f, err := ParseFleet(body)
	if err != nil {
		a.fail(w, r, action, err)
		return
	}
	res, err := a.apply(r.Context(), r, f)
	if err != nil {
		ae := toAPIError(err)
		if ae.status == http.StatusInternalServerError {
			a.d.Log.Error("fleet apply failed", "err", err)
		}
		a.audit(r.Context(), r, action, "fleet", ae.code, fmt.Sprintf("stopped after %d resources", len(res.Resources)))
		metrics.SetOutcome(r.Context(), "latchkey", action, ae.code)
		writeJSON(w, ae.status, fleetErrorBody{errorBody{Error: ae.msg, Code: ae.code, Field: ae.field}, res.Resources})
		return
	}
	a.audit(r.Context(), r, action, "fleet", "Success", summarize(res))
	a.ok(w, r, action, http.StatusOK, res)
}

func summarize(res ApplyResult) string {
	n := map[string]int{}
	for _, x := range res.Resources {
		n[x.Action]++
	}
	return fmt.Sprintf("%d created, %d updated, %d unchanged", n["created"], n["updated"], n["unchanged"])
}

// applier carries one apply's state.
type applier struct {
	a   *api
	r   *http.Request
	ctx context.Context
	res ApplyResult
	// unblocked records accounts whose service state was lifted for the
	// apply (see unblock).
	unblocked map[core.AccountID]bool
	// original is the state of each unblocked account before the apply.
	original map[core.AccountID]*service.AccountState
}

// apply applies f account by account. Each resource is looked up by name
// in the store; service calls make every change, as the account's root,
// so the same rules hold as for an API caller (consoles take passwords,
// visual services start).
func (a *api) apply(ctx context.Context, r *http.Request, f *Fleet) (ApplyResult, error) {
	ap := &applier{a: a, r: r, ctx: ctx, res: ApplyResult{Resources: []Applied{}}, unblocked: map[core.AccountID]bool{}, original: map[core.AccountID]*service.AccountState{}}
	if _, err := a.settleAll(ctx); err != nil {
		return ap.res, err
	}
	for _, acct := range f.Accounts {
		if err := ap.account(acct); err != nil {
			return ap.res, err
		}
	}
	return ap.res, nil
}

func (ap *applier) record(x Applied) {
	if x.Action != "unchanged" {
		ap.res.Changed = true
	}
	ap.res.Resources = append(ap.res.Resources, x)
}

func (ap *applier) caller(id core.AccountID) core.Caller {
	return adminCaller(id, requestID(ap.r))
}

// settle completes the transitions a change started, so the next step
// sees the final status.
func (ap *applier) settle() error {
	_, err := ap.a.settleAll(ap.ctx)
	return err
}

func (ap *applier) account(fa FleetAccount) error {
	id := core.AccountID(fa.ID)
	if fa.ID == "root" {
		id = ap.a.d.Root.AccountID
	}
	x := Applied{Kind: string(core.AccountKind), Name: fa.ID, ID: string(id), Account: string(id), Action: "unchanged"}
	err := ap.a.d.Store.Update(ap.ctx, func(tx core.Tx) error {
		_, err := core.Get[core.Account](ap.ctx, tx, string(id))
		if core.KindOf(err) != core.KindNotFound {
			return err
		}
		x.Action = "created"
		return core.Put(ap.ctx, tx, &core.Account{ID: id, CreatedAt: tx.Now()})
	})
	if err != nil {
		return err
	}
	for _, k := range fa.AccessKeys {
		if err := ap.accessKey(id, "", k); err != nil {
			return err
		}
	}
	if err := ap.ram(id, fa.RAM); err != nil {
		return err
	}
	for _, in := range fa.ECS {
		if err := ap.ecs(id, in); err != nil {
			return err
		}
	}
	for _, cl := range fa.EHPC {
		if err := ap.cluster(id, cl); err != nil {
			return err
		}
	}
	for _, in := range fa.BCC {
		if err := ap.bcc(id, in); err != nil {
			return err
		}
	}
	// The account's state comes last: an account in debt or without a
	// service could not have had its resources made.
	changes, err := ap.accountState(id, fa)
	if err != nil {
		return err
	}
	if len(changes) > 0 && x.Action == "unchanged" {
		x.Action, x.Changes = "updated", changes
	}
	ap.record(x)
	return nil
}

// accountState applies services and in_debt, and undoes what unblock
// lifted. It returns what changed compared to before the apply.
func (ap *applier) accountState(id core.AccountID, fa FleetAccount) ([]string, error) {
	accts := ap.a.d.Accounts
	if accts == nil {
		if len(fa.Services) > 0 || fa.InDebt != nil {
			return nil, unavailable("account state")
		}
		return nil, nil
	}
	cur, err := accts.Get(ap.ctx, id)
	if err != nil {
		return nil, err
	}
	want := ap.original[id]
	if want == nil {
		want = &cur
	}
	// The target: the state before the apply, changed as the file says.
	target := service.AccountState{Services: map[core.Service]bool{}, InDebt: want.InDebt}
	for s, on := range want.Services {
		target.Services[s] = on
	}
	for svc, on := range fa.Services {
		target.Services[core.Service(svc)] = on
	}
	if fa.InDebt != nil {
		target.InDebt = *fa.InDebt
	}
	ch := service.AccountChange{}
	var changes []string
	for s, on := range target.Services {
		if cur.Services[s] != on {
			if ch.Services == nil {
				ch.Services = map[core.Service]bool{}
			}
			ch.Services[s] = on
		}
		if want.Services[s] != on {
			changes = append(changes, "services."+string(s))
		}
	}
	if cur.InDebt != target.InDebt {
		ch.InDebt = &target.InDebt
	}
	if want.InDebt != target.InDebt {
		changes = append(changes, "in_debt")
	}
	if ch.Services != nil || ch.InDebt != nil {
		if _, err := accts.Change(ap.ctx, id, ch); err != nil {
			return nil, err
		}
	}
	slices.Sort(changes)
	return changes, nil
}

// step changes one resource of the file through a service: it lifts the
// account's blocks first (see unblock), names the resource as what when
// the service refuses (see fleetError), and settles the transitions the
// change started.
func (ap *applier) step(account core.AccountID, what string, do func() error) error {
	if err := ap.unblock(account); err != nil {
		return err
	}
	if err := do(); err != nil {
		return fleetError(what, err)
	}
	return ap.settle()
}

// unblock lifts an account's disabled services and debt before the apply
// changes one of its resources through a service (which would refuse),
// remembering the state to restore.
func (ap *applier) unblock(id core.AccountID) error {
	if ap.unblocked[id] || ap.a.d.Accounts == nil {
		return nil
	}
	ap.unblocked[id] = true
	cur, err := ap.a.d.Accounts.Get(ap.ctx, id)
	if err != nil {
		return err
	}
	ap.original[id] = &cur
	ch := service.AccountChange{}
	for s, on := range cur.Services {
		if !on {
			if ch.Services == nil {
				ch.Services = map[core.Service]bool{}
			}
			ch.Services[s] = true
		}
	}
	if cur.InDebt {
		f := false
		ch.InDebt = &f
	}
	if ch.Services == nil && ch.InDebt == nil {
		return nil
	}
	_, err = ap.a.d.Accounts.Change(ap.ctx, id, ch)
	return err
}

// accessKey makes k a key of the account (user empty: its root) with
// the secret the file gives.
func (ap *applier) accessKey(account core.AccountID, user core.UserName, k FleetKey) error {
	x := Applied{Kind: string(core.AccessKeyKind), Name: k.ID, ID: k.ID, Account: string(account), Action: "unchanged"}
	secret := core.NewSecret(k.Secret)
	err := ap.a.d.Store.Update(ap.ctx, func(tx core.Tx) error {
		cur, err := core.Get[core.AccessKey](ap.ctx, tx, k.ID)
		switch {
		case err == nil && (cur.AccountID != account || cur.User != user):
			return &apiError{status: http.StatusConflict, code: "Conflict", field: "access_keys", msg: "access key " + k.ID + " belongs to another account or user"}
		case err == nil && cur.Status == core.AccessKeyActive && ap.a.sealedEqual(cur.Secret, core.AccessKeySealContext(cur.ID), secret):
			return nil
		case err != nil && core.KindOf(err) != core.KindNotFound:
			return err
		}
		sealed, err := ap.a.d.Sealer.Seal(secret, core.AccessKeySealContext(core.AccessKeyID(k.ID)))
		if err != nil {
			return err
		}
		key := &core.AccessKey{ID: core.AccessKeyID(k.ID), AccountID: account, User: user, Secret: sealed, Status: core.AccessKeyActive, CreatedAt: tx.Now()}
		if cur != nil {
			key.CreatedAt = cur.CreatedAt
			x.Action, x.Changes = "updated", []string{"secret"}
		} else {
			x.Action = "created"
		}
		return core.Put(ap.ctx, tx, key)
	})
	if err != nil {
		return err
	}
	if x.Action == "updated" && ap.a.d.Forget != nil {
		ap.a.d.Forget(core.AccessKeyID(k.ID))
	}
	ap.record(x)
	return nil
}

// accessKeyContext is the sealing context of an access key's secret; it
// must stay equal to the identity service's (service/identity.go).

// ram applies custom policies, then users with their attachments and
// keys.
func (ap *applier) ram(account core.AccountID, fr FleetRAM) error {
	if len(fr.Policies) == 0 && len(fr.Users) == 0 {
		return nil
	}
	svc := ap.a.d.RAM
	if svc == nil {
		return unavailable("RAM")
	}
	c := ap.caller(account)
	for _, p := range fr.Policies {
		x := Applied{Kind: string(core.RAMPolicyKind), Name: p.Name, ID: core.RAMPolicyKey(account, p.Name), Account: string(account), Action: "unchanged"}
		cur, err := getDoc[core.RAMPolicy](ap, core.RAMPolicyKey(account, p.Name))
		if err != nil {
			return err
		}
		switch {
		case cur == nil:
			if err := ap.unblock(account); err != nil {
				return err
			}
			if _, err := svc.CreatePolicy(ap.ctx, c, p.Name, p.Document, p.Description); err != nil {
				return fleetError("ram.policies "+p.Name, err)
			}
			x.Action = "created"
		case cur.Document != p.Document:
			return &apiError{status: http.StatusConflict, code: "Conflict", field: "ram.policies", msg: "policy " + p.Name + " exists with another document; reset, or give the new document another name"}
		}
		ap.record(x)
	}
	for _, u := range fr.Users {
		x := Applied{Kind: string(core.RAMUserKind), Name: u.Name, ID: core.RAMUserKey(account, core.UserName(u.Name)), Account: string(account), Action: "unchanged"}
		cur, err := getDoc[core.RAMUser](ap, core.RAMUserKey(account, core.UserName(u.Name)))
		if err != nil {
			return err
		}
		if cur == nil {
			if err := ap.unblock(account); err != nil {
				return err
			}
			cur, err = svc.CreateUser(ap.ctx, c, core.CreateRAMUserInput{Name: core.UserName(u.Name), DisplayName: u.DisplayName, Email: u.Email, Comments: u.Comments})
			if err != nil {
				return fleetError("ram.users "+u.Name, err)
			}
			x.Action = "created"
		}
		// Attach what the file lists, detach what it does not.
		want := map[string]core.PolicyType{}
		for _, name := range u.Policies {
			typ := core.PolicyCustom
			if _, ok := policy.System(name); ok {
				typ = core.PolicySystem
			}
			want[name] = typ
		}
		for _, att := range cur.Policies {
			if typ, ok := want[att.Name]; ok && typ == att.Type {
				delete(want, att.Name)
				continue
			}
			if err := ap.unblock(account); err != nil {
				return err
			}
			if err := svc.DetachPolicyFromUser(ap.ctx, c, att.Type, att.Name, cur.Name); err != nil {
				return fleetError("ram.users "+u.Name, err)
			}
			x.Changes = append(x.Changes, "detached "+att.Name)
		}
		for _, name := range u.Policies {
			typ, ok := want[name]
			if !ok {
				continue
			}
			if err := ap.unblock(account); err != nil {
				return err
			}
			if err := svc.AttachPolicyToUser(ap.ctx, c, typ, name, cur.Name); err != nil {
				return fleetError("ram.users "+u.Name+" policies "+name, err)
			}
			x.Changes = append(x.Changes, "attached "+name)
		}
		if len(x.Changes) > 0 && x.Action == "unchanged" {
			x.Action = "updated"
		}
		ap.record(x)
		for _, k := range u.AccessKeys {
			if err := ap.accessKey(account, cur.Name, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// getDoc reads a resource by key; nil when there is none.
func getDoc[T any, P interface {
	*T
	core.Resource
}](ap *applier, key string) (*T, error) {
	var out *T
	err := ap.a.d.Store.View(ap.ctx, func(tx core.Tx) error {
		v, err := core.Get[T, P](ap.ctx, tx, key)
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		out = v
		return err
	})
	return out, err
}

// fleetError says which resource of the file a service refused, in the
// service's own (caller-safe) terms.
func fleetError(what string, err error) error {
	ae := toAPIError(err)
	if ae.status == http.StatusInternalServerError {
		return err
	}
	out := *ae
	detail := ae.msg
	if ae.field != "" && !strings.Contains(detail, ae.field) {
		detail += " (" + ae.field + ")"
	}
	out.msg, out.field = what+": "+detail, ""
	return &out
}

// setDriver points a resource at another driver by name, in the store.
func setDriver[T any, P interface {
	*T
	core.Resource
}](ap *applier, key string, set func(*T)) error {
	return ap.a.d.Store.Update(ap.ctx, func(tx core.Tx) error {
		v, err := core.Get[T, P](ap.ctx, tx, key)
		if err != nil {
			return err
		}
		set(v)
		return core.Put(ap.ctx, tx, P(v))
	})
}

// ecs applies one ECS instance.
func (ap *applier) ecs(account core.AccountID, f FleetInstance) error {
	svc := ap.a.d.ECS
	c := ap.caller(account)
	region := core.RegionID(f.Region)
	x := Applied{Kind: string(core.InstanceKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	if f.Driver != "" && ap.a.d.ConsoleDrivers[f.Driver] == nil {
		return fleetInvalid("ecs "+f.Name+".driver", "no console driver "+quoteRef(f.Driver))
	}
	inst, err := ap.findInstance(account, region, f.Name)
	if err != nil {
		return err
	}
	if inst == nil {
		if err := ap.unblock(account); err != nil {
			return err
		}
		id, err := svc.CreateInstance(ap.ctx, c, core.CreateInstanceInput{
			RegionID: region, ZoneID: core.ZoneID(f.Zone), InstanceType: f.InstanceType, ImageID: f.Image,
			Name: f.Name, Description: f.Description, IoOptimized: *f.IoOptimized,
			AdminPassword: core.NewSecret(f.AdminPassword),
		})
		if err != nil {
			return fleetError("ecs "+f.Name, err)
		}
		if err := ap.settle(); err != nil {
			return err
		}
		x.Action = "created"
		if inst, err = ap.findInstance(account, region, f.Name); err != nil || inst == nil || inst.ID != id {
			return &core.Error{Kind: core.KindInternal, Op: "internalapi.fleet", Message: "a created instance vanished", Err: err}
		}
	} else {
		switch {
		case inst.IoOptimized != *f.IoOptimized:
			return ap.immutable("ecs", f.Name, "io_optimized")
		case f.Zone != "" && string(inst.ZoneID) != f.Zone:
			return ap.immutable("ecs", f.Name, "zone")
		case inst.InstanceType != f.InstanceType:
			return ap.immutable("ecs", f.Name, "instance_type")
		case inst.ImageID != f.Image:
			return ap.immutable("ecs", f.Name, "image")
		}
		if f.AdminPassword != "" && !ap.a.hashEqual(inst.AdminPassword, core.NewSecret(f.AdminPassword)) {
			hash, err := ap.a.d.Hasher.Hash(core.NewSecret(f.AdminPassword))
			if err != nil {
				return err
			}
			if err := setDriver[core.Instance](ap, string(inst.ID), func(i *core.Instance) { i.AdminPassword = hash }); err != nil {
				return err
			}
			x.Changes = append(x.Changes, "admin_password")
		}
	}
	x.ID = string(inst.ID)
	ref := core.InstanceRef{RegionID: region, InstanceID: inst.ID}
	if f.Driver != "" && inst.Driver != f.Driver {
		// The new driver's console takes the live password.
		if err := setDriver[core.Instance](ap, string(inst.ID), func(i *core.Instance) { i.Driver = f.Driver }); err != nil {
			return err
		}
		if pw, err := ap.a.d.Sealer.Open(inst.VNCPassword, core.VNCSealContext(inst.ID)); err == nil {
			if err := ap.a.d.ConsoleDrivers[f.Driver].SetConsolePassword(ap.ctx, inst.ConsoleTarget(), pw); err != nil {
				return fleetError("ecs "+f.Name+" driver", err)
			}
		}
		inst.Driver = f.Driver
		x.Changes = append(x.Changes, "driver")
	}
	step := func(what string, do func() error) error { return ap.step(account, "ecs "+f.Name+" "+what, do) }
	if f.VNCPassword != "" {
		pw := core.NewSecret(f.VNCPassword)
		live := ap.a.sealedEqual(inst.VNCPassword, core.VNCSealContext(inst.ID), pw)
		if !live || len(inst.PendingVNCPassword) > 0 {
			if err := step("vnc_password", func() error { return svc.ModifyInstanceVncPasswd(ap.ctx, c, ref, pw) }); err != nil {
				return err
			}
			if !inst.IoOptimized {
				// Not I/O optimized: the password is pending until a
				// restart makes it live.
				restart := func() error { return svc.RebootInstance(ap.ctx, c, ref) }
				if inst.Status == core.StatusStopped {
					restart = func() error { return svc.StartInstance(ap.ctx, c, ref) }
				}
				if err := step("restart", restart); err != nil {
					return err
				}
				if inst.Status == core.StatusStopped {
					if err := step("stop", func() error { return svc.StopInstance(ap.ctx, c, ref) }); err != nil {
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
		do := func() error { return svc.StartInstance(ap.ctx, c, ref) }
		if f.Status == string(core.StatusStopped) {
			do = func() error { return svc.StopInstance(ap.ctx, c, ref) }
		}
		if err := step("status", do); err != nil {
			return err
		}
		if x.Action == "unchanged" {
			x.Changes = append(x.Changes, "status")
		}
	}
	if len(x.Changes) > 0 && x.Action == "unchanged" {
		x.Action = "updated"
	}
	if x.Action == "created" {
		x.Changes = nil
	}
	ap.record(x)
	return nil
}

func (ap *applier) immutable(kind, name, field string) error {
	return &apiError{status: http.StatusConflict, code: "Conflict", field: field,
		msg: fmt.Sprintf("%s %s exists with another %s, which cannot change; reset, or give it another name", kind, name, field)}
}

// findInstance returns the account's ECS instance of that name in the
// region, advanced to now; nil when there is none.
func (ap *applier) findInstance(account core.AccountID, region core.RegionID, name string) (*core.Instance, error) {
	return findNamed(ap, core.Query{Kind: core.InstanceKind, Account: account, Region: region},
		func(i *core.Instance) bool { return i.Name == name && i.ReleaseAt.IsZero() })
}

// findNamed returns the first resource q lists for which is reports
// true, advanced to now; nil when there is none.
func findNamed[T any, P interface {
	*T
	core.Resource
	Advance(time.Time) bool
}](ap *applier, q core.Query, is func(*T) bool) (*T, error) {
	var out *T
	err := ap.a.d.Store.View(ap.ctx, func(tx core.Tx) error {
		list, err := core.List[T, P](ap.ctx, tx, q)
		if err != nil {
			return err
		}
		for _, r := range list {
			if is(r) {
				P(r).Advance(tx.Now())
				out = r
				return nil
			}
		}
		return nil
	})
	return out, err
}

// cluster applies one E-HPC cluster. Its users, visual service and
// visual password need a running cluster: a stopped one is started for a
// change and stopped again after, as the file asks.
func (ap *applier) cluster(account core.AccountID, f FleetCluster) error {
	svc := ap.a.d.EHPC
	if svc == nil {
		return unavailable("E-HPC")
	}
	if f.Driver != "" && ap.a.d.VisualDrivers[f.Driver] == nil {
		return fleetInvalid("ehpc "+f.Name+".driver", "no visual driver "+quoteRef(f.Driver))
	}
	c := ap.caller(account)
	x := Applied{Kind: string(core.ClusterKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	step := func(what string, do func() error) error { return ap.step(account, "ehpc "+f.Name+" "+what, do) }
	root := core.NewSecret(f.RootPassword)
	visualStarted := f.Visual == nil || f.Visual.Started == nil || *f.Visual.Started
	cl, err := ap.findCluster(account, f.Name)
	if err != nil {
		return err
	}
	if cl == nil {
		err := step("create", func() error {
			_, err := svc.CreateCluster(ap.ctx, c, core.CreateClusterInput{
				RegionID: core.RegionID(f.Region), ZoneID: core.ZoneID(f.Zone), Name: f.Name, OsTag: f.OsTag,
				Manager:  core.NodeOrder{Count: 1, InstanceType: f.InstanceType},
				Compute:  core.NodeOrder{Count: f.ComputeNodes, InstanceType: f.InstanceType},
				Login:    core.NodeOrder{Count: f.LoginNodes, InstanceType: f.InstanceType},
				Password: root, RemoteVisEnable: visualStarted,
			})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
		if cl, err = ap.findCluster(account, f.Name); err != nil || cl == nil {
			return &core.Error{Kind: core.KindInternal, Op: "internalapi.fleet", Message: "a created cluster vanished", Err: err}
		}
	} else {
		switch {
		case string(cl.RegionID) != f.Region:
			return ap.immutable("ehpc", f.Name, "region")
		case len(cl.LoginNodes()) != f.LoginNodes:
			return ap.immutable("ehpc", f.Name, "login_nodes")
		case cl.Compute.Count != f.ComputeNodes:
			return ap.immutable("ehpc", f.Name, "compute_nodes")
		}
	}
	x.ID = string(cl.ID)
	initial := cl.Status
	ref := core.ClusterRef{RegionID: cl.RegionID, ClusterID: cl.ID}
	if f.Driver != "" && cl.Driver != f.Driver {
		if err := setDriver[core.Cluster](ap, string(cl.ID), func(v *core.Cluster) { v.Driver = f.Driver }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "driver")
	}

	// What differs, decided before anything is changed.
	var add []core.NewClusterUser
	var modify []core.UserPassword
	var userChanges []string
	if u := cl.User(core.RootUser); u == nil || !ap.a.hashEqual(u.Password, root) {
		modify = append(modify, core.UserPassword{Name: core.RootUser, Password: root})
		userChanges = append(userChanges, "root_password")
	}
	for _, fu := range f.Users {
		pw := core.NewSecret(fu.Password)
		switch u := cl.User(fu.Name); {
		case u == nil:
			add = append(add, core.NewClusterUser{Name: fu.Name, Group: fu.Group, Password: pw})
			userChanges = append(userChanges, "users."+fu.Name)
		case !ap.a.hashEqual(u.Password, pw):
			modify = append(modify, core.UserPassword{Name: fu.Name, Password: pw})
			userChanges = append(userChanges, "users."+fu.Name+".password")
		}
	}
	port, cidr := cl.Visual.Port, cl.Visual.CIDR
	if v := f.Visual; v != nil {
		if v.Port != 0 {
			port = v.Port
		}
		if v.CIDR != "" {
			cidr = parsePrefix(v.CIDR)
		}
	}
	startVisual := visualStarted && (!cl.Visual.Started || port != cl.Visual.Port || cidr != cl.Visual.CIDR)
	stopVisual := !visualStarted && cl.Visual.Started
	var newVisual core.Secret
	if f.Visual != nil && f.Visual.Password != "" {
		pw := core.NewSecret(f.Visual.Password)
		for _, i := range cl.LoginNodes() {
			n := cl.Nodes[i]
			if !ap.a.sealedEqual(n.VisualPassword, core.VisualPasswordContext(cl.ID, n.ID), pw) {
				newVisual = pw
			}
		}
	}
	needRunning := len(add) > 0 || len(modify) > 0 || startVisual || stopVisual || !newVisual.IsZero()

	if (needRunning || f.Status == string(core.ClusterRunning)) && cl.Status != core.ClusterRunning {
		if err := step("start", func() error { _, err := svc.StartCluster(ap.ctx, c, ref); return err }); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		if err := step("users", func() error { return svc.AddUsers(ap.ctx, c, ref, add) }); err != nil {
			return err
		}
	}
	if len(modify) > 0 {
		if err := step("users", func() error { return svc.ModifyUserPasswords(ap.ctx, c, ref, modify) }); err != nil {
			return err
		}
	}
	x.Changes = append(x.Changes, userChanges...)
	if startVisual {
		in := core.VisualServiceInput{Port: port, CIDR: cidr.String()}
		if err := step("visual", func() error { _, err := svc.StartVisualService(ap.ctx, c, ref, in); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual")
	}
	if stopVisual {
		if err := step("visual", func() error { _, err := svc.StopVisualService(ap.ctx, c, ref, core.VisualServiceInput{}); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual")
	}
	if !newVisual.IsZero() {
		in := core.VisualPasswdInput{RunasUser: core.RootUser, RunasUserPassword: root, Passwd: newVisual}
		if err := step("visual.password", func() error { _, err := svc.ModifyVisualServicePasswd(ap.ctx, c, ref, in); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual.password")
	}
	if f.Status == string(core.ClusterStopped) {
		if cl, err = ap.findCluster(account, f.Name); err != nil {
			return err
		}
		if cl.Status != core.ClusterStopped {
			if err := step("stop", func() error { _, err := svc.StopCluster(ap.ctx, c, ref); return err }); err != nil {
				return err
			}
		}
	}
	if string(initial) != f.Status {
		x.Changes = append(x.Changes, "status")
	}
	if x.Action == "created" {
		x.Changes = nil
	} else if len(x.Changes) > 0 {
		x.Action = "updated"
	}
	ap.record(x)
	return nil
}

// parsePrefix reads a CidrIp as the E-HPC service does: a prefix, or a
// single address; validate has checked it.
func parsePrefix(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked()
	}
	a, _ := netip.ParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}

// findCluster returns the account's cluster of that name, advanced to
// now; nil when there is none.
func (ap *applier) findCluster(account core.AccountID, name string) (*core.Cluster, error) {
	return findNamed(ap, core.Query{Kind: core.ClusterKind, Account: account},
		func(cl *core.Cluster) bool { return cl.Name == name && cl.ReleaseAt.IsZero() })
}

// bcc applies one BCC instance.
func (ap *applier) bcc(account core.AccountID, f FleetBCC) error {
	svc := ap.a.d.BCC
	if svc == nil {
		return unavailable("BCC")
	}
	if f.Driver != "" && ap.a.d.ConsoleDrivers[f.Driver] == nil {
		return fleetInvalid("bcc "+f.Name+".driver", "no console driver "+quoteRef(f.Driver))
	}
	c := ap.caller(account)
	region := core.RegionID(f.Region)
	x := Applied{Kind: string(core.BCCInstanceKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	step := func(what string, do func() error) error { return ap.step(account, "bcc "+f.Name+" "+what, do) }
	inst, err := ap.findBCC(account, region, f.Name)
	if err != nil {
		return err
	}
	if inst == nil {
		err := step("create", func() error {
			_, err := svc.CreateInstance(ap.ctx, c, core.BCCCreateInput{
				RegionID: region, ZoneName: f.Zone, ImageID: f.Image, InstanceType: f.InstanceType,
				CPUCount: f.CPU, MemoryGB: f.MemoryGB, Name: f.Name, AdminPassword: core.NewSecret(f.AdminPassword),
			})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
		if inst, err = ap.findBCC(account, region, f.Name); err != nil || inst == nil {
			return &core.Error{Kind: core.KindInternal, Op: "internalapi.fleet", Message: "a created instance vanished", Err: err}
		}
	} else if inst.CPUCount != f.CPU || inst.MemoryGB != f.MemoryGB {
		return ap.immutable("bcc", f.Name, "cpu or memory_gb")
	}
	x.ID = string(inst.ID)
	ref := core.BCCRef{RegionID: region, InstanceID: inst.ID}
	if f.Driver != "" && inst.Driver != f.Driver {
		if err := setDriver[core.BCCInstance](ap, string(inst.ID), func(v *core.BCCInstance) { v.Driver = f.Driver }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "driver")
	}
	if f.AdminPassword != "" && !ap.a.hashEqual(inst.AdminPassword, core.NewSecret(f.AdminPassword)) {
		if err := step("admin_password", func() error { return svc.ChangeInstancePass(ap.ctx, c, ref, core.NewSecret(f.AdminPassword)) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "admin_password")
	}
	if string(inst.Status) != f.Status {
		do := func() error { return svc.StartInstance(ap.ctx, c, ref) }
		if f.Status == string(core.StatusStopped) {
			do = func() error { return svc.StopInstance(ap.ctx, c, ref, false) }
		}
		if err := step("status", do); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "status")
	}
	if x.Action == "created" {
		x.Changes = nil
	} else if len(x.Changes) > 0 {
		x.Action = "updated"
	}
	ap.record(x)
	return nil
}

// findBCC returns the account's BCC instance of that name in the region,
// advanced to now; nil when there is none.
func (ap *applier) findBCC(account core.AccountID, region core.RegionID, name string) (*core.BCCInstance, error) {
	return findNamed(ap, core.Query{Kind: core.BCCInstanceKind, Account: account, Region: region},
		func(i *core.BCCInstance) bool { return i.Name == name })
}
