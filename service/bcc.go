package service

import (
	"context"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
)

// BCC rules (PRODUCT.md §3 BCC; shared/reference/bce-rest.md §3.4).
const (
	// bccVNCLifetime is how long a BCC VNC URL stays valid: 10 minutes,
	// and one use.
	bccVNCLifetime = 10 * time.Minute
	// bccClientTokenLifetime is how long a create's clientToken is
	// remembered after it was last seen.
	bccClientTokenLifetime = 24 * time.Hour
	// bccMaxPurchaseCount bounds purchaseCount.
	bccMaxPurchaseCount = 100
	// bccMaxKeys is the default and the largest page of ListInstances.
	bccMaxKeys = 1000
	// bccAdminUser is the guest administrator whose password changePass
	// sets.
	bccAdminUser = "root"
)

// BCC implements core.BCC over the store.
type BCC struct {
	cfg    Config
	policy core.BCCPasswordPolicy
	gate   gate
}

var (
	_ core.BCC      = (*BCC)(nil)
	_ ConsoleSource = (*BCC)(nil)
)

// NewBCC returns the BCC service enforcing the given password policy.
func NewBCC(cfg Config, policy core.BCCPasswordPolicy) *BCC {
	cfg.fill()
	s := &BCC{cfg: cfg, policy: policy}
	s.gate = gate{
		cfg: &s.cfg, service: core.ServiceBCC, accounts: accountCache(cfg.Store), resource: bccARN,
		region: func(op string, region core.RegionID) error {
			if !catalog.IsBCCRegion(region) {
				return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonRegionNotFound, Op: bccOp(op), Message: "unknown BCC region " + string(region)}
			}
			return nil
		},
		disabled: func(op string) error { return notEnabled(bccOp(op)) },
		// Baidu documents no arrears code: an account in debt reads what
		// it has and is refused the rest (AccessDenied).
		inDebt: func(op string, cl opClass) error {
			if cl == opRead {
				return nil
			}
			return inDebtError(bccOp(op))
		},
	}
	return s
}

// BCCZones returns the zones of a BCC region: cn-{region}-a, -b and -c.
func BCCZones(region core.RegionID) []string {
	return []string{"cn-" + string(region) + "-a", "cn-" + string(region) + "-b", "cn-" + string(region) + "-c"}
}

func bccARN(region core.RegionID, account core.AccountID, id string) string {
	return fmt.Sprintf("acs:bcc:%s:%s:instance/%s", region, account, id)
}

func bccOp(op string) string { return "bcc." + op }

// begin runs the preamble of operation op of class cl.
func (s *BCC) begin(ctx context.Context, c core.Caller, op string, cl opClass, region core.RegionID, id string) error {
	return s.gate.check(ctx, c, op, cl, region, id)
}

// The length bounds of a BCC instance's name and hostname (validateCreate).
const (
	bccMaxName                     = 65
	bccMinHostname, bccMaxHostname = 2, 64
)

func bccInvalid(op, field, msg string) error {
	return &core.Error{Kind: core.KindInvalid, Reason: core.ReasonInvalidParameter, Op: bccOp(op), Field: field, Message: msg}
}

func bccConflict(op string, reason core.Reason) error {
	return &core.Error{Kind: core.KindConflict, Reason: reason, Op: bccOp(op)}
}

// bccFingerprint digests the parameters that define a create call, the
// password and the token left out. Tokens are per account and service,
// not per region, so the region is part of the parameters.
func bccFingerprint(in core.BCCCreateInput) string {
	in.AdminPassword, in.ClientToken = core.Secret{}, ""
	return fingerprint(in)
}

func (s *BCC) validateCreate(in *core.BCCCreateInput) error {
	const op = core.BCCCreateInstance
	if in.ImageID == "" {
		return bccInvalid(op, "imageId", "imageId is required.")
	}
	if in.CPUCount < 1 {
		return bccInvalid(op, "cpuCount", "cpuCount must be a positive integer.")
	}
	// The name and hostname rules of Baidu's BCC create-instance request
	// (bce-java-sdk com.baidubce.bcc.models.CreateInstanceBySpecRequest):
	// a name of 1 to 65 characters, a hostname of 2 to 64. Their
	// character sets are not applied.
	if utf8.RuneCountInString(in.Name) > bccMaxName {
		return bccInvalid(op, "name", fmt.Sprintf("name must be at most %d characters.", bccMaxName))
	}
	if n := utf8.RuneCountInString(in.Hostname); in.Hostname != "" && (n < bccMinHostname || n > bccMaxHostname) {
		return bccInvalid(op, "hostname", fmt.Sprintf("hostname must be %d to %d characters.", bccMinHostname, bccMaxHostname))
	}
	if in.MemoryGB < 1 {
		return bccInvalid(op, "memoryCapacityInGB", "memoryCapacityInGB must be a positive integer.")
	}
	if in.LocalDiskGB < 0 {
		return bccInvalid(op, "localDiskSizeInGB", "localDiskSizeInGB must not be negative.")
	}
	if in.NetworkMbps < 0 {
		return bccInvalid(op, "networkCapacityInMbps", "networkCapacityInMbps must not be negative.")
	}
	if in.PurchaseCount == 0 {
		in.PurchaseCount = 1
	}
	if in.PurchaseCount < 1 || in.PurchaseCount > bccMaxPurchaseCount {
		return bccInvalid(op, "purchaseCount", fmt.Sprintf("purchaseCount must be between 1 and %d.", bccMaxPurchaseCount))
	}
	if in.ZoneName == "" {
		in.ZoneName = BCCZones(in.RegionID)[0]
	} else if !slices.Contains(BCCZones(in.RegionID), in.ZoneName) {
		return bccInvalid(op, "zoneName", "zoneName "+in.ZoneName+" is not a zone of region "+string(in.RegionID)+".")
	}
	switch in.PaymentTiming {
	case "":
		in.PaymentTiming = "Postpaid"
	case "Postpaid", "Prepaid", "Spotpaid", "bidding":
	default:
		return bccInvalid(op, "billing.paymentTiming", "billing.paymentTiming must be Postpaid or Prepaid.")
	}
	if in.DeletionProtection != 0 && in.DeletionProtection != 1 {
		return bccInvalid(op, "deletionProtection", "deletionProtection must be 0 or 1.")
	}
	if len(in.ClientToken) > 64 || !isPrintableASCII(in.ClientToken) {
		return bccInvalid(op, "clientToken", "clientToken must be at most 64 ASCII characters.")
	}
	if !in.AdminPassword.IsZero() {
		if err := s.policy.Check(in.AdminPassword); err != nil {
			e := core.AsError(err)
			e.Op = bccOp(op)
			return e
		}
	}
	return nil
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// CreateInstance implements core.BCC: each new instance shows Starting,
// then Running.
func (s *BCC) CreateInstance(ctx context.Context, c core.Caller, in core.BCCCreateInput) ([]core.BCCInstanceID, error) {
	const op = core.BCCCreateInstance
	if err := s.begin(ctx, c, op, opCreate, in.RegionID, "*"); err != nil {
		return nil, err
	}
	if err := s.validateCreate(&in); err != nil {
		return nil, err
	}
	var hash core.PasswordHash
	if !in.AdminPassword.IsZero() {
		var err error
		if hash, err = s.cfg.Hasher.Hash(in.AdminPassword); err != nil {
			return nil, err
		}
	}
	var call *idempotentCall
	if in.ClientToken != "" {
		call = &idempotentCall{
			token:        clientToken{Product: core.ServiceBCC, Account: c.AccountID, Action: op, Token: in.ClientToken, Fingerprint: bccFingerprint(in), Password: hash},
			lifetime:     bccClientTokenLifetime,
			samePassword: func(first core.PasswordHash) bool { return s.samePassword(first, in.AdminPassword) },
			mismatch:     &core.Error{Kind: core.KindInvalid, Reason: core.ReasonIdempotentMismatch, Op: bccOp(op), Field: "clientToken"},
		}
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return nil, err
	}
	ids, created, err := createAll(ctx, s.cfg.Store, call, in.PurchaseCount, func(now time.Time) (*core.BCCInstance, core.BCCInstanceID, error) {
		inst, err := s.newInstance(c, in, hash, now)
		if err != nil {
			return nil, "", err
		}
		inst.Schedule(now, interval, core.StatusStarting, core.StatusRunning)
		return inst, inst.ID, nil
	})
	if err != nil {
		return nil, err
	}
	for _, inst := range created {
		if !in.AdminPassword.IsZero() {
			s.pushConsole(ctx, inst, in.AdminPassword)
		}
		// A machine starts with the instance. Its guest boots with the
		// password its image has: the agent that could take adminPass
		// runs only once it has booted, so changePass sets it.
		if err := s.cfg.machineCall(inst.Driver, inst.ConsoleTarget(), startMachine(ctx)); err != nil {
			s.cfg.Log.Warn("machine did not start", "instance", inst.ID, "err", err)
		}
	}
	return ids, nil
}

// samePassword reports whether a retry carries the first call's password:
// both absent, or pw matching the stored hash.
func (s *BCC) samePassword(first core.PasswordHash, pw core.Secret) bool {
	if first == "" || pw.IsZero() {
		return first == "" && pw.IsZero()
	}
	return s.cfg.Hasher.Verify(first, pw)
}

func (s *BCC) newInstance(c core.Caller, in core.BCCCreateInput, admin core.PasswordHash, now time.Time) (*core.BCCInstance, error) {
	suffix, err := randomString(s.cfg.Rand, mixedAlnum, 8)
	if err != nil {
		return nil, err
	}
	ip, err := randomToken(s.cfg.Rand, 2)
	if err != nil {
		return nil, err
	}
	ipBytes, _ := hex.DecodeString(ip)
	inst := &core.BCCInstance{
		ID: core.BCCInstanceID("i-" + suffix), AccountID: c.AccountID, RegionID: in.RegionID,
		ZoneName: in.ZoneName, Name: in.Name, Hostname: in.Hostname, ImageID: in.ImageID,
		InstanceType: in.InstanceType, CPUCount: in.CPUCount, MemoryGB: in.MemoryGB,
		LocalDiskGB: in.LocalDiskGB, NetworkMbps: in.NetworkMbps, PaymentTiming: in.PaymentTiming,
		InternalIP:         fmt.Sprintf("192.168.%d.%d", ipBytes[0], 2+int(ipBytes[1])%252),
		Tags:               slices.Clone(in.Tags),
		DeletionProtection: in.DeletionProtection,
		CreatedAt:          now, Driver: s.cfg.DefaultDriver, AdminPassword: admin,
		Params: in.Params, Machine: in.Machine,
	}
	if inst.Name == "" {
		n, err := randomString(s.cfg.Rand, lowerAlnum, 8)
		if err != nil {
			return nil, err
		}
		inst.Name = "instance-" + n
	}
	if inst.Hostname == "" {
		inst.Hostname = inst.Name
	}
	if inst.InstanceType == "" {
		inst.InstanceType = "N5"
	}
	return inst, nil
}

// ListInstances implements core.BCC. Instances come in creation order; a
// page starts at Marker and NextMarker is the first instance of the next
// page.
func (s *BCC) ListInstances(ctx context.Context, c core.Caller, in core.BCCListInput) (*core.BCCInstancePage, error) {
	const op = core.BCCListInstances
	if err := s.begin(ctx, c, op, opRead, in.RegionID, "*"); err != nil {
		return nil, err
	}
	if in.MaxKeys == 0 {
		in.MaxKeys = bccMaxKeys
	}
	if in.MaxKeys < 1 || in.MaxKeys > bccMaxKeys {
		return nil, bccInvalid(op, "maxKeys", fmt.Sprintf("maxKeys must be between 1 and %d.", bccMaxKeys))
	}
	q := bccQuery(in)
	q.Account, q.Region = c.AccountID, in.RegionID
	keep := func(inst *core.BCCInstance, now time.Time) bool {
		inst.Advance(now)
		return bccMatches(inst, in)
	}
	page := &core.BCCInstancePage{Marker: in.Marker, MaxKeys: in.MaxKeys}
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		if in.Marker != "" {
			// The marker must be an instance of this listing; the page
			// starts with it.
			notListed := bccInvalid(op, "marker", "marker "+string(in.Marker)+" is not an instance of this listing.")
			if len(q.Keys) > 0 && !slices.Contains(q.Keys, string(in.Marker)) {
				return notListed
			}
			at := q
			at.Keys = []string{string(in.Marker)}
			found, err := scanPage(ctx, tx, at, 1, keep)
			if err != nil {
				return err
			}
			if len(found) == 0 {
				return notListed
			}
			q.AfterSeq = found[0].Seq - 1
		}
		list, err := scanPage(ctx, tx, q, in.MaxKeys+1, keep)
		if err != nil {
			return err
		}
		for i, l := range list {
			if i == in.MaxKeys {
				page.IsTruncated, page.NextMarker = true, l.V.ID
				break
			}
			page.Instances = append(page.Instances, l.V)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// bccQuery narrows ListInstances' listing by index: the instance ids
// (keys), and labels for names, the name's substring, status, zone,
// internal IPs and payment timing. bccMatches still decides; tags and
// creation parameters have no label, and are checked on the instances
// the labels select.
func bccQuery(in core.BCCListInput) core.Query {
	var q core.Query
	if len(in.InstanceIDs) <= core.MaxQueryKeys {
		for _, id := range in.InstanceIDs {
			q.Keys = append(q.Keys, string(id))
		}
	}
	label := func(name string, values ...string) {
		q.Labels = append(q.Labels, core.LabelMatch{Name: name, Values: values})
	}
	if len(in.Names) > 0 {
		label(core.LabelName, in.Names...)
	}
	if len(in.InternalIPs) > 0 {
		label(core.LabelIP, in.InternalIPs...)
	}
	if in.ZoneName != "" {
		label(core.LabelZone, in.ZoneName)
	}
	if in.Status != "" {
		label(core.LabelStatus, string(in.Status))
	}
	if in.PaymentTiming != "" {
		label(core.LabelPayment, in.PaymentTiming)
	}
	if in.FuzzyName != "" && !strings.Contains(in.FuzzyName, "*") {
		q.Labels = append(q.Labels, core.LabelMatch{Name: core.LabelName, Values: []string{"*" + in.FuzzyName + "*"}, Glob: true})
	}
	return q
}

func bccMatches(inst *core.BCCInstance, in core.BCCListInput) bool {
	if len(in.InstanceIDs) > 0 && !slices.Contains(in.InstanceIDs, inst.ID) {
		return false
	}
	if len(in.Names) > 0 && !slices.Contains(in.Names, inst.Name) {
		return false
	}
	if in.FuzzyName != "" && !strings.Contains(inst.Name, in.FuzzyName) {
		return false
	}
	if in.Status != "" && inst.Status != in.Status {
		return false
	}
	if in.ZoneName != "" && inst.ZoneName != in.ZoneName {
		return false
	}
	if len(in.InternalIPs) > 0 && !slices.Contains(in.InternalIPs, inst.InternalIP) {
		return false
	}
	if in.PaymentTiming != "" && inst.PaymentTiming != in.PaymentTiming {
		return false
	}
	if len(in.Tags) > 0 && !slices.ContainsFunc(in.Tags, func(t string) bool { return hasTag(inst, t) }) {
		return false
	}
	for k, v := range in.Params {
		if inst.Params[k] != v {
			return false
		}
	}
	return true
}

// hasTag matches "key" (any value) or "key:value".
func hasTag(inst *core.BCCInstance, filter string) bool {
	k, v, withValue := strings.Cut(filter, ":")
	return slices.ContainsFunc(inst.Tags, func(t core.BCCTag) bool {
		return t.Key == k && (!withValue || t.Value == v)
	})
}

// load reads an instance of the caller's account in the given region with
// its status advanced to now.
func (s *BCC) load(ctx context.Context, tx core.Tx, c core.Caller, op string, ref core.BCCRef) (*core.BCCInstance, error) {
	notFound := &core.Error{Kind: core.KindNotFound, Reason: core.ReasonInstanceNotFound, Op: bccOp(op)}
	if ref.InstanceID == "" {
		return nil, notFound
	}
	inst, err := core.Get[core.BCCInstance](ctx, tx, string(ref.InstanceID))
	if core.KindOf(err) == core.KindNotFound {
		return nil, notFound
	}
	if err != nil {
		return nil, err
	}
	if inst.AccountID != c.AccountID || inst.RegionID != ref.RegionID {
		return nil, notFound
	}
	inst.Advance(tx.Now())
	return inst, nil
}

// onMachine runs act on inst's machine for op (Config.machineCall),
// logging a failure and answering it as op's error.
func (s *BCC) onMachine(op string, inst *core.BCCInstance, act machineAct) error {
	err := s.cfg.machineCall(inst.Driver, inst.ConsoleTarget(), act)
	if err == nil {
		return nil
	}
	s.cfg.Log.Warn("machine unreachable", "instance", inst.ID, "err", err)
	e := core.AsError(err)
	e.Op = bccOp(op)
	return e
}

// loadChecked reads ref's instance in a View of its own and checks it
// with allowed: what a call reads before it acts on the machine.
func (s *BCC) loadChecked(ctx context.Context, c core.Caller, op string, ref core.BCCRef, allowed func(*core.BCCInstance) error) (inst *core.BCCInstance, err error) {
	err = s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		if inst, err = s.load(ctx, tx, c, op, ref); err != nil {
			return err
		}
		return allowed(inst)
	})
	return inst, err
}

// GetInstance implements core.BCC.
func (s *BCC) GetInstance(ctx context.Context, c core.Caller, ref core.BCCRef) (*core.BCCInstance, error) {
	const op = core.BCCGetInstanceDetail
	if err := s.begin(ctx, c, op, opRead, ref.RegionID, string(ref.InstanceID)); err != nil {
		return nil, err
	}
	var inst *core.BCCInstance
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		inst, err = s.load(ctx, tx, c, op, ref)
		return err
	})
	return inst, err
}

// transition is the shape of start, stop and reboot: check the status,
// act on the instance's machine (if its driver has machines; one that
// cannot be reached fails the call with nothing changed), then check
// again and schedule the status steps in one transaction.
func (s *BCC) transition(ctx context.Context, c core.Caller, op string, ref core.BCCRef, from core.InstanceStatus, act machineAct, through ...core.InstanceStatus) error {
	if err := s.begin(ctx, c, op, opChange, ref.RegionID, string(ref.InstanceID)); err != nil {
		return err
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.BCCInstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	allowed := func(inst *core.BCCInstance) error {
		if !inst.Created && op == core.BCCStartInstance {
			return bccConflict(op, core.ReasonConflictingOp)
		}
		if inst.Status != from {
			return bccConflict(op, core.ReasonIncorrectStatus)
		}
		return nil
	}
	inst, err := s.loadChecked(ctx, c, op, ref, allowed)
	if err != nil {
		return err
	}
	if err := s.onMachine(op, inst, act); err != nil {
		return err
	}
	interval, err := s.cfg.transition(ctx)
	if err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		inst, err := s.load(ctx, tx, c, op, ref)
		if err != nil {
			return err
		}
		if err := allowed(inst); err != nil {
			return err
		}
		inst.Schedule(tx.Now(), interval, through...)
		return core.Put(ctx, tx, inst)
	})
}

// StartInstance implements core.BCC.
func (s *BCC) StartInstance(ctx context.Context, c core.Caller, ref core.BCCRef) error {
	return s.transition(ctx, c, core.BCCStartInstance, ref, core.StatusStopped, startMachine(ctx), core.StatusStarting, core.StatusRunning)
}

// StopInstance implements core.BCC. force stops a machine at once; the
// simulated guest stops the same way either way.
func (s *BCC) StopInstance(ctx context.Context, c core.Caller, ref core.BCCRef, force bool) error {
	return s.transition(ctx, c, core.BCCStopInstance, ref, core.StatusRunning, stopMachine(ctx, force), core.StatusStopping, core.StatusStopped)
}

// RebootInstance implements core.BCC.
func (s *BCC) RebootInstance(ctx context.Context, c core.Caller, ref core.BCCRef, force bool) error {
	return s.transition(ctx, c, core.BCCRebootInstance, ref, core.StatusRunning, rebootMachine(ctx, force), core.StatusStarting, core.StatusRunning)
}

// DeleteInstance implements core.BCC: Baidu releases an instance in any
// status except while it is being created (Instance.ReleaseWhileCreating)
// and refuses Prepaid ones (Instance.ReleaseNotPrepay), both 403s that the
// protocol renders from ReasonConflictingOp and ReasonIncorrectStatus.
func (s *BCC) DeleteInstance(ctx context.Context, c core.Caller, ref core.BCCRef) error {
	const op = core.BCCDeleteInstance
	if err := s.begin(ctx, c, op, opChange, ref.RegionID, string(ref.InstanceID)); err != nil {
		return err
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.BCCInstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()
	deletable := func(inst *core.BCCInstance) error {
		if !inst.Created {
			return bccConflict(op, core.ReasonConflictingOp)
		}
		if inst.PaymentTiming == "Prepaid" {
			return bccConflict(op, core.ReasonIncorrectStatus)
		}
		return nil
	}
	// The machine goes first: one that cannot be reached fails the call
	// with nothing changed.
	inst, err := s.loadChecked(ctx, c, op, ref, deletable)
	if err != nil {
		return err
	}
	if err := s.onMachine(op, inst, deleteMachine(ctx)); err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		inst, err := s.load(ctx, tx, c, op, ref)
		if err != nil {
			return err
		}
		if err := deletable(inst); err != nil {
			return err
		}
		// Outstanding console tickets die with the instance: Redeem
		// resolves the instance and finds none.
		return core.Delete(ctx, tx, inst)
	})
}

// GetInstanceVNC implements core.BCC.
func (s *BCC) GetInstanceVNC(ctx context.Context, c core.Caller, ref core.BCCRef) (*core.VNCToken, error) {
	const op = core.BCCGetInstanceVNC
	if err := s.begin(ctx, c, op, opChange, ref.RegionID, string(ref.InstanceID)); err != nil {
		return nil, err
	}
	token, err := randomToken(s.cfg.Rand, 24)
	if err != nil {
		return nil, err
	}
	var tok *core.VNCToken
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		inst, err := s.load(ctx, tx, c, op, ref)
		if err != nil {
			return err
		}
		if inst.Status != core.StatusRunning {
			return bccConflict(op, core.ReasonIncorrectStatus)
		}
		tok = &core.VNCToken{Token: token, AccountID: c.AccountID, Product: "bcc", Target: string(inst.ID), ExpiresAt: tx.Now().Add(bccVNCLifetime)}
		return core.Put(ctx, tx, tok)
	})
	if err != nil {
		return nil, err
	}
	return tok, nil
}

// ChangeInstancePass implements core.BCC (seed 003): allowed in Running and
// Stopped. A Running guest whose driver is a GuestPasswordSetter (a real
// operating system) takes the password first; if it cannot be reached
// nothing changes. A machine's Stopped guest has no agent to ask, so the
// call fails the same way. The stored argon2id hash is what latchkey
// checks the password against.
func (s *BCC) ChangeInstancePass(ctx context.Context, c core.Caller, ref core.BCCRef, pw core.Secret) error {
	const op = core.BCCChangeInstancePass
	if err := s.begin(ctx, c, op, opChange, ref.RegionID, string(ref.InstanceID)); err != nil {
		return err
	}
	if err := s.policy.Check(pw); err != nil {
		e := core.AsError(err)
		e.Op = bccOp(op)
		return e
	}
	hash, err := s.cfg.Hasher.Hash(pw)
	if err != nil {
		return err
	}
	unlock, err := lockResource(ctx, s.cfg.Store, core.BCCInstanceKind, string(ref.InstanceID))
	if err != nil {
		return err
	}
	defer unlock()

	allowed := func(inst *core.BCCInstance) error {
		if inst.Status != core.StatusRunning && inst.Status != core.StatusStopped {
			return bccConflict(op, core.ReasonIncorrectStatus)
		}
		return nil
	}
	inst, err := s.loadChecked(ctx, c, op, ref, allowed)
	if err != nil {
		return err
	}
	// A machine's guest takes the password through its agent, which a
	// stopped machine does not run: that fails with nothing changed.
	_, machine := s.cfg.Machines[inst.Driver]
	if d, ok := s.cfg.Drivers[inst.Driver].(core.GuestPasswordSetter); ok && (inst.Status == core.StatusRunning || machine) {
		if err := d.SetGuestPassword(ctx, inst.ConsoleTarget(), bccAdminUser, pw); err != nil {
			s.cfg.Log.Warn("guest did not take the administrator password", "instance", inst.ID, "err", err)
			return &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonAgentTimeout, Op: bccOp(op), Err: err}
		}
	}
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cur, err := s.load(ctx, tx, c, op, ref)
		if err != nil {
			return err
		}
		if err := allowed(cur); err != nil {
			return err
		}
		cur.AdminPassword = hash
		return core.Put(ctx, tx, cur)
	})
	if err != nil {
		return err
	}
	s.pushConsole(ctx, inst, pw)
	return nil
}

// pushConsole lets a simulated guest's console (driver "sim") accept the
// new administrator password with VNC Authentication, which needs the
// password itself. Only the sim driver: a driver in front of a real guest
// must never receive the administrator password as a VNC password. It is
// best effort and in memory only: the password is stored as a hash alone
// (PRODUCT.md §6), so after a restart of latchkey VNC Authentication on
// such a console waits for the next changePass, while VeNCrypt Plain
// (CheckConsoleLogin, against the stored hash) works throughout. The guest's
// password, the effect the call promises, is already stored.
func (s *BCC) pushConsole(ctx context.Context, inst *core.BCCInstance, pw core.Secret) {
	d, ok := s.cfg.Drivers[inst.Driver]
	if !ok || inst.Driver != "sim" {
		return
	}
	if err := d.SetConsolePassword(ctx, inst.ConsoleTarget(), pw); err != nil {
		s.cfg.Log.Warn("console did not take the administrator password", "instance", inst.ID, "err", err)
	}
}

// AdminUsers are the usernames a simulated guest's console takes for its
// administrator: root on Linux images, administrator on Windows ones.
var AdminUsers = []string{"root", "administrator"}

var _ core.ConsoleLogins = (*BCC)(nil)

// CheckConsoleLogin implements core.ConsoleLogins: user is one of
// AdminUsers and pw matches the instance's stored administrator password
// hash, so the login works after a restart of latchkey and through every
// replica.
func (s *BCC) CheckConsoleLogin(ctx context.Context, t core.ConsoleTarget, user string, pw core.Secret) (bool, error) {
	if !slices.Contains(AdminUsers, user) {
		return false, nil
	}
	ok, err := s.CheckAdminPassword(ctx, "", core.BCCInstanceID(t.ID), pw)
	if core.KindOf(err) == core.KindNotFound {
		return false, nil
	}
	return ok, err
}

// CheckAdminPassword implements core.BCC.
func (s *BCC) CheckAdminPassword(ctx context.Context, account core.AccountID, id core.BCCInstanceID, pw core.Secret) (bool, error) {
	var hash core.PasswordHash
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		inst, err := core.Get[core.BCCInstance](ctx, tx, string(id))
		if err != nil {
			return err
		}
		if account != "" && inst.AccountID != account {
			return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonInstanceNotFound}
		}
		hash = inst.AdminPassword
		return nil
	})
	if err != nil {
		return false, err
	}
	if hash == "" || pw.IsZero() {
		return false, nil
	}
	return s.cfg.Hasher.Verify(hash, pw), nil
}

// ResolveConsole implements ConsoleSource: the instance must still exist
// and be Running.
func (s *BCC) ResolveConsole(ctx context.Context, tx core.Tx, account core.AccountID, id string) (core.ConsoleTarget, string, error) {
	inst, err := core.Get[core.BCCInstance](ctx, tx, id)
	if err != nil {
		return core.ConsoleTarget{}, "", err
	}
	inst.Advance(tx.Now())
	if inst.AccountID != account || inst.Status != core.StatusRunning {
		return core.ConsoleTarget{}, "", bccConflict(core.BCCGetInstanceVNC, core.ReasonIncorrectStatus)
	}
	return inst.ConsoleTarget(), inst.Driver, nil
}

// FollowMachine brings an instance's status in line with its machine,
// as ECS.FollowMachine does.
func (s *BCC) FollowMachine(ctx context.Context, id string, machineRunning func() (bool, error)) {
	followMachine(ctx, s.cfg, core.BCCInstanceKind, id, machineRunning, func(tx core.Tx, running bool) error {
		inst, err := core.Get[core.BCCInstance](ctx, tx, id)
		if err != nil {
			return err
		}
		now := tx.Now()
		inst.Advance(now)
		if inst.Unsettled(now) {
			return nil
		}
		switch {
		case running && inst.Status == core.StatusStopped:
			inst.Status = core.StatusRunning
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
