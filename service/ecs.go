package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
)

// vncURLLifetime is how long a DescribeInstanceVncUrl ticket stays valid
// (15 seconds, as the ECS API reference states).
const vncURLLifetime = 15 * time.Second

// restoreTimeout bounds putting a console back on its stored password
// after a change the store refused.
const restoreTimeout = 10 * time.Second

// ECS implements core.ECS.
type ECS struct {
	cfg     Config
	regions *catalog.Alibaba
	gate    gate
}

var _ core.ECS = (*ECS)(nil)

// NewECS returns the ECS service.
func NewECS(cfg Config, regions *catalog.Alibaba) *ECS {
	cfg.fill()
	s := &ECS{cfg: cfg, regions: regions}
	s.gate = gate{
		cfg: &s.cfg, service: core.ServiceECS, accounts: accountCache(cfg.Store),
		resource: func(region core.RegionID, account core.AccountID, id string) string {
			return instanceARN(region, account, id)
		},
		region:   func(_ string, id core.RegionID) error { _, err := s.region(id); return err },
		disabled: notEnabled,
		// An account in arrears reads as usual; it cannot create
		// (Account.Arrearage) nor operate its instances
		// (InstanceExpiredOrInArrears).
		inDebt: func(op string, cl opClass) error {
			switch cl {
			case opCreate:
				return inDebtError(op)
			case opChange:
				return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonResourceInArrears, Op: op}
			}
			return nil
		},
	}
	return s
}

func instanceARN(region core.RegionID, account core.AccountID, id string) string {
	return fmt.Sprintf("acs:ecs:%s:%s:instance/%s", region, account, id)
}

func (s *ECS) region(id core.RegionID) (core.Region, error) {
	if id == "" {
		return core.Region{}, core.Invalid(core.ReasonMissingParameter, "RegionId")
	}
	r, ok := s.regions.Region(id)
	if !ok {
		return core.Region{}, &core.Error{Kind: core.KindNotFound, Reason: core.ReasonRegionNotFound}
	}
	return r, nil
}

// DescribeRegions implements core.ECS. Any authenticated caller may list
// regions: the ECS API reference names no RAM action for it.
func (s *ECS) DescribeRegions(context.Context, core.Caller) ([]core.Region, error) {
	return s.regions.Regions(), nil
}

// RunInstances implements core.ECS: Amount instances move Pending →
// Starting → Running.
func (s *ECS) RunInstances(ctx context.Context, c core.Caller, in core.CreateInstanceInput) ([]core.InstanceID, error) {
	if in.Amount == 0 {
		in.Amount = 1
	}
	if in.Amount < 1 || in.Amount > 100 {
		return nil, core.Invalid(core.ReasonInvalidParameter, "Amount")
	}
	return s.create(ctx, c, "RunInstances", in, core.StatusPending, core.StatusStarting, core.StatusRunning)
}

// CreateInstance implements core.ECS: the instance moves Pending → Stopped.
func (s *ECS) CreateInstance(ctx context.Context, c core.Caller, in core.CreateInstanceInput) (core.InstanceID, error) {
	in.Amount = 1
	ids, err := s.create(ctx, c, "CreateInstance", in, core.StatusPending, core.StatusStopped)
	if err != nil {
		return "", err
	}
	return ids[0], nil
}

// ecsFingerprint digests the creation parameters that define the
// request. The administrator password is left out: a digest of a short
// password could be reversed.
func ecsFingerprint(in core.CreateInstanceInput) string {
	in.AdminPassword = core.Secret{}
	in.ClientToken, in.DryRun = "", false
	return fingerprint(in)
}

func (s *ECS) create(ctx context.Context, c core.Caller, action string, in core.CreateInstanceInput, through ...core.InstanceStatus) ([]core.InstanceID, error) {
	if err := s.gate.check(ctx, c, action, opCreate, in.RegionID, "*"); err != nil {
		return nil, err
	}
	region, err := s.region(in.RegionID)
	if err != nil {
		return nil, err
	}
	if in.ZoneID == "" {
		in.ZoneID = region.Zones[0]
	} else if !s.regions.HasZone(in.RegionID, in.ZoneID) {
		return nil, &core.Error{Kind: core.KindNotFound, Reason: core.ReasonZoneNotFound, Field: "ZoneId"}
	}
	if in.ImageID == "" {
		return nil, core.Invalid(core.ReasonMissingParameter, "ImageId")
	}
	if in.InstanceType == "" {
		return nil, core.Invalid(core.ReasonMissingParameter, "InstanceType")
	}
	if err := in.ValidateText(); err != nil {
		return nil, err
	}
	if in.DryRun {
		return nil, &core.Error{Kind: core.KindInvalid, Reason: core.ReasonDryRun}
	}
	var hash core.PasswordHash
	if !in.AdminPassword.IsZero() {
		if hash, err = s.cfg.Hasher.Hash(in.AdminPassword); err != nil {
			return nil, err
		}
	}

	var call *idempotentCall
	if in.ClientToken != "" {
		call = &idempotentCall{
			token:    clientToken{Product: core.ServiceECS, Account: c.AccountID, Action: action, Token: in.ClientToken, Fingerprint: ecsFingerprint(in)},
			mismatch: &core.Error{Kind: core.KindInvalid, Reason: core.ReasonIdempotentMismatch, Field: "ClientToken"},
		}
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return nil, err
	}
	ids, created, err := createAll(ctx, s.cfg.Store, call, in.Amount, func(now time.Time) (*core.Instance, core.InstanceID, error) {
		inst, err := s.newInstance(c, in, hash, now)
		if err != nil {
			return nil, "", err
		}
		inst.Schedule(now, interval, through...)
		return inst, inst.ID, nil
	})
	if err != nil {
		return nil, err
	}
	// A new console starts with the instance's random initial password;
	// RunInstances then starts the instance's machine, if it has one.
	start := through[len(through)-1] == core.StatusRunning
	for _, inst := range created {
		if err := s.pushLive(ctx, inst); err != nil {
			s.cfg.Log.Warn("console did not take the initial password", "instance", inst.ID, "err", err)
		}
		if start {
			if err := s.cfg.machineCall(inst.Driver, inst.ConsoleTarget(), startMachine(ctx)); err != nil {
				s.cfg.Log.Warn("machine did not start", "instance", inst.ID, "err", err)
			}
		}
	}
	return ids, nil
}

func (s *ECS) newInstance(c core.Caller, in core.CreateInstanceInput, admin core.PasswordHash, now time.Time) (*core.Instance, error) {
	suffix, err := randomString(s.cfg.Rand, lowerAlnum, 20-len(catalog.InstancePrefix(in.RegionID)))
	if err != nil {
		return nil, err
	}
	id := core.InstanceID("i-" + catalog.InstancePrefix(in.RegionID) + suffix)
	// Like a real console, a new instance has a random VNC password that
	// the owner replaces with ModifyInstanceVncPasswd.
	initial, err := randomString(s.cfg.Rand, mixedAlnum, 6)
	if err != nil {
		return nil, err
	}
	sealed, err := s.cfg.Sealer.Seal(core.NewSecret(initial), core.VNCSealContext(id))
	if err != nil {
		return nil, err
	}
	inst := &core.Instance{
		ID: id, AccountID: c.AccountID, RegionID: in.RegionID, ZoneID: in.ZoneID,
		Name: in.Name, HostName: in.HostName, Description: in.Description,
		InstanceType: in.InstanceType, ImageID: in.ImageID, IoOptimized: in.IoOptimized,
		ChargeType: in.ChargeType, CreatedAt: now, Driver: s.cfg.DefaultDriver,
		VNCPassword: sealed, AdminPassword: admin, Params: in.Params, Machine: in.Machine,
	}
	if inst.Name == "" {
		inst.Name = string(id)
	}
	if inst.HostName == "" {
		inst.HostName = "iZ" + string(id[2:]) + "Z"
	}
	if inst.ChargeType == "" {
		inst.ChargeType = "PostPaid"
	}
	return inst, nil
}

// DescribeInstances implements core.ECS. A page reads only what it
// shows: the filters are label queries (the most selective label drives
// the index), the InstanceIds filter reads those keys, PageNumber pages
// by offset over the index and NextToken is a cursor (Cursor), and
// TotalCount is a count over the index.
func (s *ECS) DescribeInstances(ctx context.Context, c core.Caller, in core.DescribeInstancesInput) (*core.InstancePage, error) {
	if err := s.gate.check(ctx, c, "DescribeInstances", opRead, in.RegionID, "*"); err != nil {
		return nil, err
	}
	if len(in.InstanceIDs) > 100 {
		return nil, core.Invalid(core.ReasonInvalidParameter, "InstanceIds")
	}
	q, page, err := instanceQuery(in)
	if err != nil {
		return nil, err
	}
	q.Account, q.Region = c.AccountID, in.RegionID
	err = s.cfg.Store.View(ctx, func(tx core.Tx) error {
		counted := q
		counted.AfterSeq = 0
		total, err := core.Count[core.Instance](ctx, tx, counted)
		if err != nil {
			return err
		}
		list, err := core.ListSeq[core.Instance](ctx, tx, q)
		if err != nil {
			return err
		}
		page.TotalCount = total
		size := q.Limit - 1
		for i, l := range list {
			if i == size {
				page.NextToken = encodeCursor(list[i-1].Seq)
				break
			}
			l.V.Advance(tx.Now())
			page.Instances = append(page.Instances, l.V)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// instanceQuery turns DescribeInstances' filters and paging into a query
// of one page and one more instance (to know whether a NextToken is due),
// and the page's paging fields. Token paging is selected by NextToken
// or MaxResults, PageNumber/PageSize paging otherwise; either way the
// answer has a NextToken while instances remain after the page, as ECS
// answers: the aliyun CLI's --pager follows NextToken whenever the answer
// has one (aliyun-cli openapi/pager.go), also after a PageSize request.
func instanceQuery(in core.DescribeInstancesInput) (core.Query, *core.InstancePage, error) {
	var q core.Query
	for _, id := range in.InstanceIDs {
		q.Keys = append(q.Keys, string(id))
	}
	// The most selective label first: it drives the query.
	if in.Name != "" && !strings.Contains(in.Name, "*") {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelName, Values: []string{in.Name}})
	}
	if in.ZoneID != "" {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelZone, Values: []string{string(in.ZoneID)}})
	}
	if in.Status != "" {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelStatus, Values: []string{string(in.Status)}})
	}
	if strings.Contains(in.Name, "*") {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelName, Values: []string{in.Name}, Glob: true})
	}
	if in.IoOptimized != nil {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelIO, Values: []string{strconv.FormatBool(*in.IoOptimized)}})
	}
	if len(q.Labels) == 0 {
		q.Labels = []core.LabelMatch{{Name: core.LabelLive, Values: []string{"1"}}}
	}
	page := &core.InstancePage{}
	if in.TokenPaging || in.NextToken != "" || in.MaxResults != 0 {
		size := in.MaxResults
		if size == 0 {
			size = 10
		}
		if size < 1 || size > 100 {
			return q, nil, core.Invalid(core.ReasonInvalidParameter, "MaxResults")
		}
		if in.NextToken != "" {
			after, ok := decodeCursor(in.NextToken)
			if !ok {
				return q, nil, core.Invalid(core.ReasonInvalidParameter, "NextToken")
			}
			q.AfterSeq = after
		}
		q.Limit = size + 1
		return q, page, nil
	}
	number, size := in.PageNumber, in.PageSize
	if number == 0 {
		number = 1
	}
	if size == 0 {
		size = 10
	}
	if number < 1 || number > maxPageNumber {
		return q, nil, core.Invalid(core.ReasonInvalidParameter, "PageNumber")
	}
	if size < 1 || size > 100 {
		return q, nil, core.Invalid(core.ReasonInvalidParameter, "PageSize")
	}
	page.PageNumber, page.PageSize = number, size
	q.Offset, q.Limit = (number-1)*size, size+1
	return q, page, nil
}

// load reads an instance of the caller's account in the given region with
// its status advanced to now. An instance being released gives
// ReasonResourceReleased.
func (s *ECS) load(ctx context.Context, tx core.Tx, c core.Caller, ref core.InstanceRef) (*core.Instance, error) {
	if ref.InstanceID == "" {
		return nil, core.Invalid(core.ReasonMissingParameter, "InstanceId")
	}
	notFound := &core.Error{Kind: core.KindNotFound, Reason: core.ReasonInstanceNotFound}
	inst, err := core.Get[core.Instance](ctx, tx, string(ref.InstanceID))
	if core.KindOf(err) == core.KindNotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	now := tx.Now()
	if inst.AccountID != c.AccountID || inst.RegionID != ref.RegionID || inst.Released(now) {
		return nil, notFound
	}
	if inst.Releasing(now) {
		return nil, &core.Error{Kind: core.KindNotFound, Reason: core.ReasonResourceReleased}
	}
	inst.Advance(now)
	return inst, nil
}

// prepare runs the preamble of an operation on one instance.
func (s *ECS) prepare(ctx context.Context, c core.Caller, action string, ref core.InstanceRef) error {
	return s.gate.check(ctx, c, action, opChange, ref.RegionID, string(ref.InstanceID))
}

func incorrectStatus() error {
	return &core.Error{Kind: core.KindConflict, Reason: core.ReasonIncorrectStatus}
}

// transition is the shape of Start, Stop and Reboot: check the status,
// optionally make a pending console password live, act on the instance's
// machine (if its driver has machines), schedule the status steps.
func (s *ECS) transition(ctx context.Context, c core.Caller, action string, ref core.InstanceRef, from core.InstanceStatus, restart bool, act machineAct, through ...core.InstanceStatus) error {
	if err := s.prepare(ctx, c, action, ref); err != nil {
		return err
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.InstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()

	var inst *core.Instance
	var interval time.Duration
	err = s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		if inst, err = s.load(ctx, tx, c, ref); err != nil {
			return err
		}
		interval, err = s.cfg.transitionIn(ctx, tx)
		return err
	})
	if err != nil {
		return err
	}
	if inst.Status != from {
		return incorrectStatus()
	}
	if ref.DryRun {
		return &core.Error{Kind: core.KindInvalid, Reason: core.ReasonDryRun}
	}
	// A restart makes a pending password live: the console takes it
	// first, so a console that cannot be reached fails the call with
	// nothing changed.
	promote := restart && len(inst.PendingVNCPassword) > 0
	if promote {
		pw, err := s.cfg.Sealer.Open(inst.PendingVNCPassword, core.VNCSealContext(inst.ID))
		if err != nil {
			return err
		}
		if err := s.setConsole(ctx, inst, pw); err != nil {
			return err
		}
	}
	if err := s.cfg.machineCall(inst.Driver, inst.ConsoleTarget(), act); err != nil {
		s.cfg.Log.Warn("machine unreachable", "instance", inst.ID, "err", err)
		if promote {
			s.restoreConsole(ctx, inst)
		}
		return err
	}
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if cur.Status != from {
			return incorrectStatus()
		}
		if promote {
			cur.VNCPassword, cur.PendingVNCPassword = cur.PendingVNCPassword, nil
		}
		if ref.StoppedMode != "" {
			cur.StoppedMode = ref.StoppedMode
		}
		cur.Schedule(tx.Now(), interval, through...)
		if err := core.RecordChange(ctx, tx); err != nil {
			return err
		}
		return core.Put(ctx, tx, cur)
	})
	if err != nil && promote {
		s.restoreConsole(ctx, inst)
	}
	return err
}

// StartInstance implements core.ECS: Stopped → Starting → Running.
func (s *ECS) StartInstance(ctx context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.transition(ctx, c, "StartInstance", ref, core.StatusStopped, true, startMachine(ctx), core.StatusStarting, core.StatusRunning)
}

// StopInstance implements core.ECS: Running → Stopping → Stopped.
func (s *ECS) StopInstance(ctx context.Context, c core.Caller, ref core.InstanceRef) error {
	if ref.StoppedMode != "" && ref.StoppedMode != "KeepCharging" && ref.StoppedMode != "StopCharging" {
		return core.Invalid(core.ReasonInvalidParameter, "StoppedMode")
	}
	return s.transition(ctx, c, "StopInstance", ref, core.StatusRunning, false, stopMachine(ctx, ref.ForceStop), core.StatusStopping, core.StatusStopped)
}

// RebootInstance implements core.ECS: Running → Starting → Running.
func (s *ECS) RebootInstance(ctx context.Context, c core.Caller, ref core.InstanceRef) error {
	return s.transition(ctx, c, "RebootInstance", ref, core.StatusRunning, true, rebootMachine(ctx, ref.ForceStop), core.StatusStarting, core.StatusRunning)
}

// DeleteInstance implements core.ECS. A Stopped instance may be released;
// a Running one only with Force (ref.ForceStop). The instance is being
// released for one transition interval, then gone.
func (s *ECS) DeleteInstance(ctx context.Context, c core.Caller, ref core.InstanceRef) error {
	if err := s.prepare(ctx, c, "DeleteInstance", ref); err != nil {
		return err
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.InstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	deletable := func(inst *core.Instance) error {
		if inst.Status != core.StatusStopped && !(inst.Status == core.StatusRunning && ref.ForceStop) {
			return incorrectStatus()
		}
		if ref.DryRun {
			return &core.Error{Kind: core.KindInvalid, Reason: core.ReasonDryRun}
		}
		return nil
	}
	// The machine goes first: one that cannot be reached fails the call
	// with nothing changed.
	var inst *core.Instance
	var interval time.Duration
	err = s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		if inst, err = s.load(ctx, tx, c, ref); err != nil {
			return err
		}
		if interval, err = s.cfg.transitionIn(ctx, tx); err != nil {
			return err
		}
		return deletable(inst)
	})
	if err != nil {
		return err
	}
	if err := s.cfg.machineCall(inst.Driver, inst.ConsoleTarget(), deleteMachine(ctx)); err != nil {
		s.cfg.Log.Warn("machine unreachable", "instance", inst.ID, "err", err)
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		inst, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if err := deletable(inst); err != nil {
			return err
		}
		if err := core.RecordChange(ctx, tx); err != nil {
			return err
		}
		if interval == 0 {
			return core.Delete(ctx, tx, inst)
		}
		inst.ReleaseAt = tx.Now().Add(interval)
		inst.Steps = nil
		return core.Put(ctx, tx, inst)
	})
}

// DescribeInstanceVncURL implements core.ECS. The console must be
// Running.
func (s *ECS) DescribeInstanceVncURL(ctx context.Context, c core.Caller, ref core.InstanceRef) (*core.VNCToken, error) {
	if err := s.prepare(ctx, c, "DescribeInstanceVncUrl", ref); err != nil {
		return nil, err
	}
	token, err := randomToken(s.cfg.Rand, 24)
	if err != nil {
		return nil, err
	}
	var tok *core.VNCToken
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		inst, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if inst.Status != core.StatusRunning {
			return incorrectStatus()
		}
		tok = &core.VNCToken{Token: token, AccountID: c.AccountID, Product: "ecs", Target: string(inst.ID), ExpiresAt: tx.Now().Add(vncURLLifetime)}
		if err := core.RecordChange(ctx, tx); err != nil {
			return err
		}
		return core.Put(ctx, tx, tok)
	})
	return tok, err
}

// ModifyInstanceVncPasswd implements core.ECS (PRODUCT.md §3). After RAM
// authorization, everything happens in one Update: the request's nonce
// is recorded (core.UseNonce), the account's state read, the instance
// loaded and changed, and the audit event appended, so the change costs
// one transaction and its share of one commit (on PostgreSQL, two round
// trips of its own: the reads with the nonce, then the writes). The errors keep the
// gate's order: account state and region before the parameters.
func (s *ECS) ModifyInstanceVncPasswd(ctx context.Context, c core.Caller, ref core.InstanceRef, pw core.Secret) error {
	const op = "ModifyInstanceVncPasswd"
	if err := s.gate.authorize(ctx, c, op, ref.RegionID, string(ref.InstanceID)); err != nil {
		return err
	}
	s.gate.warm(ctx, c.AccountID)
	ctx = s.preparePull(ctx)
	var sealed []byte
	perr := vncParams(ref, pw)
	if perr == nil {
		var err error
		if sealed, err = s.cfg.Sealer.Seal(pw, core.VNCSealContext(ref.InstanceID)); err != nil {
			return err
		}
	}

	// update makes the change. An I/O optimized console takes the
	// password before anything is stored, so if it must be pushed and
	// pushed is nil, update stops (returning errPushFirst and the
	// instance) for the caller to push and call it again.
	update := func(pushed *core.Instance) (push *core.Instance, err error) {
		err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
			// The reads of the account's state and the instance go
			// out with the nonce's statement where reads are round
			// trips (PostgreSQL).
			s.gate.prefetch(ctx, tx, c.AccountID)
			if perr == nil {
				core.Prefetch[core.Instance](ctx, tx, string(ref.InstanceID))
			}
			if err := core.UseNonce(ctx, tx); err != nil {
				return err
			}
			if err := s.gate.admit(ctx, tx, c.AccountID, op, opChange, ref.RegionID); err != nil {
				return err
			}
			if perr != nil {
				return perr
			}
			cur, err := s.load(ctx, tx, c, ref)
			if err != nil {
				return err
			}
			if cur.Status != core.StatusRunning && cur.Status != core.StatusStopped {
				return incorrectStatus()
			}
			if cur.IoOptimized {
				if pushed == nil && s.mustPush(ctx, cur) {
					push = cur
					return errPushFirst
				}
				cur.VNCPassword, cur.PendingVNCPassword = sealed, nil
			} else {
				cur.PendingVNCPassword = sealed
			}
			// The call's audit event commits with the change (core.AuditIntent).
			if err := core.RecordChange(ctx, tx); err != nil {
				return err
			}
			return core.Put(ctx, tx, cur)
		})
		return push, err
	}
	push, err := update(nil)
	if push == nil {
		return err
	}
	// A console that takes pushed passwords is ordered with every other
	// change of the instance, through any replica, by the instance's store
	// lock (lockResource), held across the push and the Update that
	// records it. Under the lock the instance is read again.
	unlock, err := lockResource(ctx, s.cfg.Store, core.InstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	if push, err = update(nil); push == nil {
		return err
	}
	// If the console cannot take the password, nothing has changed.
	if err := s.setConsole(ctx, push, pw); err != nil {
		return err
	}
	if _, err = update(push); err != nil {
		s.restoreConsole(ctx, push)
	}
	return err
}

// errPushFirst stops a ModifyInstanceVncPasswd Update whose console must
// take the password before the change is stored.
var errPushFirst = errors.New("the console takes the password first")

// vncParams checks ModifyInstanceVncPasswd's parameters.
func vncParams(ref core.InstanceRef, pw core.Secret) error {
	if ref.InstanceID == "" {
		return core.Invalid(core.ReasonMissingParameter, "InstanceId")
	}
	if pw.IsZero() {
		return core.Invalid(core.ReasonMissingParameter, "VncPassword")
	}
	return core.ValidateVNCPassword(pw)
}

// preparePull lets the console drivers read, before the Update, what
// mustPush will ask them inside it (core.PullPreparer).
func (s *ECS) preparePull(ctx context.Context) context.Context {
	for _, d := range s.cfg.Drivers {
		if p, ok := d.(core.PullPreparer); ok {
			ctx = p.PreparePull(ctx)
		}
	}
	return ctx
}

// mustPush reports whether inst's console must be given a new password
// (SetConsolePassword) for it to be live: not when its driver asks the
// store (core.PullingConsoleDriver).
func (s *ECS) mustPush(ctx context.Context, inst *core.Instance) bool {
	d, err := s.cfg.driver(inst.Driver)
	if err != nil {
		return true // setConsole reports the error
	}
	p, ok := d.(core.PullingConsoleDriver)
	return !ok || !p.PullsPasswords(ctx, inst.ConsoleTarget().Product)
}

// setConsole pushes pw to the instance's console, mapping any driver
// failure to InstanceNotReady.
func (s *ECS) setConsole(ctx context.Context, inst *core.Instance, pw core.Secret) error {
	d, err := s.cfg.driver(inst.Driver)
	if err != nil {
		return err
	}
	if err := d.SetConsolePassword(ctx, inst.ConsoleTarget(), pw); err != nil {
		s.cfg.Log.Warn("console unreachable", "instance", inst.ID, "err", err)
		return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Err: err}
	}
	return nil
}

// restoreConsole puts the stored live password back on the console after
// a change the store refused, so console and store agree again.
func (s *ECS) restoreConsole(ctx context.Context, inst *core.Instance) {
	// The restore must happen even when the caller has gone away: a
	// cancelled request must not leave the console on a password the store
	// does not hold.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), restoreTimeout)
	defer cancel()
	if err := s.pushLive(ctx, inst); err != nil {
		s.cfg.Log.Error("console and store disagree on the live password", "instance", inst.ID, "err", err)
	}
}

// pushLive sets the console to the instance's stored live password.
func (s *ECS) pushLive(ctx context.Context, inst *core.Instance) error {
	pw, err := s.cfg.Sealer.Open(inst.VNCPassword, core.VNCSealContext(inst.ID))
	if err != nil {
		return err
	}
	return s.setConsole(ctx, inst, pw)
}

// Reconcile implements Product: there is nothing to push. ECS consoles
// take their live password from the store when they need it
// (core.ConsolePasswords), so start-up touches no instance.
func (s *ECS) Reconcile(context.Context) error { return nil }

// ResolveConsole implements ConsoleSource: the instance must still exist
// and be Running.
func (s *ECS) ResolveConsole(ctx context.Context, tx core.Tx, account core.AccountID, id string) (core.ConsoleTarget, string, error) {
	inst, err := core.Get[core.Instance](ctx, tx, id)
	if err != nil {
		return core.ConsoleTarget{}, "", err
	}
	now := tx.Now()
	inst.Advance(now)
	if inst.AccountID != account || !inst.ReleaseAt.IsZero() || inst.Status != core.StatusRunning {
		return core.ConsoleTarget{}, "", incorrectStatus()
	}
	return inst.ConsoleTarget(), inst.Driver, nil
}

// FollowMachine brings an instance's status in line with its machine,
// seen running or shut off outside latchkey's calls (a guest that powered
// off, an operator's virsh): Running becomes Stopped and Stopped becomes
// Running. An instance in transition, gone or being released is left as
// it is: latchkey's own call is under way, and its machine is what that
// call makes it.
func (s *ECS) FollowMachine(ctx context.Context, id string, machineRunning func() (bool, error)) {
	followMachine(ctx, s.cfg, core.InstanceKind, id, machineRunning, func(tx core.Tx, running bool) error {
		inst, err := core.Get[core.Instance](ctx, tx, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		inst.Advance(now)
		if !inst.ReleaseAt.IsZero() || inst.Unsettled(now) {
			return nil
		}
		switch {
		case running && inst.Status == core.StatusStopped:
			inst.Status, inst.StartedAt = core.StatusRunning, now
		case !running && inst.Status == core.StatusRunning:
			inst.Status = core.StatusStopped
		default:
			return nil
		}
		inst.Steps = nil
		s.cfg.Log.Info("instance follows its machine", "instance", id, "status", inst.Status)
		return core.Put(ctx, tx, inst)
	})
}
