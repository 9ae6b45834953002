package service_test

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"net"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
)

// fixture is the ECS service and the console service over a real SQLite
// store, a real sealer and hasher, and the sim console driver behind the
// fault rules, as latchkey assembles them, on a clock that moves only
// when told.
type fixture struct {
	stored
	replica
	caller core.Caller
}

func newFixture(t *testing.T, transition time.Duration) *fixture {
	t.Helper()
	f := &fixture{stored: newStored(t)}
	f.open(t, transition)
	f.caller = core.Caller{Principal: core.Principal{AccountID: "1234567890123456", AccessKeyID: "LTAItest"}}
	return f
}

// open (re)opens the store and builds fresh services, a fresh console
// driver and a fresh fault injector over it, as a restart of latchkey
// does.
func (f *fixture) open(t *testing.T, transition time.Duration) {
	t.Helper()
	f.reopen(t, transition)
	d := sim.New()
	f.cfg.Drivers = f.faults.ConsoleDrivers(map[string]core.ConsoleDriver{"sim": d})
	f.replica = newReplica(f.cfg)
	d.ServeFrom("ecs", f.ecs)
}

// restart opens the fixture again, as a restart of latchkey does: the
// new consoles read the store's live passwords (nothing is pushed).
func (f *fixture) restart(t *testing.T) {
	t.Helper()
	f.open(t, f.cfg.Transition)
}

// unreachable makes the console of instance id unreachable, as a console
// host that went away, until the returned function is called.
func (f *fixture) unreachable(t *testing.T, id core.InstanceID) (restore func()) {
	t.Helper()
	ctx := context.Background()
	r, err := f.faults.Add(ctx, faults.Rule{Product: faults.ProductECS, Resource: string(id), Effect: faults.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		if err := f.faults.Remove(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
}

// stored is what a service fixture keeps across restarts of latchkey
// (the store's file, the sealer's key and the clock, which moves only
// when told) and what the current opening of the store built: the
// services' dependencies and a fault injector over the store.
type stored struct {
	clock  *testutil.ManualClock
	dbPath string
	key    []byte
	cfg    service.Config
	faults *faults.Injector
}

// newStored returns a stored whose store is not opened yet.
func newStored(t *testing.T) stored {
	return stored{
		clock:  testutil.NewManualClock(time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)),
		dbPath: filepath.Join(t.TempDir(), "latchkey.db"),
		key:    make([]byte, 32),
	}
}

// reopen closes the store, if open, and opens it again (newConfig) with a
// fresh fault injector over it: one Store owns a SQLite database.
func (s *stored) reopen(t *testing.T, transition time.Duration) {
	t.Helper()
	if s.cfg.Store != nil {
		if err := s.cfg.Store.Close(); err != nil {
			t.Fatal(err)
		}
	}
	s.cfg = newConfig(t, s.dbPath, s.key, s.clock, transition)
	s.faults = faults.New(faults.Config{Store: s.cfg.Store, Clock: s.clock})
}

// newConfig returns the services' dependencies but the console drivers,
// which the caller adds: the SQLite store at path on clock (closed when t
// ends), a sealer with key and a hasher cheap enough for tests.
func newConfig(t *testing.T, path string, key []byte, clock core.Clock, transition time.Duration) service.Config {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, clock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	sealer, err := vault.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return service.Config{
		Store: st, Sealer: sealer, Hasher: vault.NewHasher(vault.Params{Time: 1, Memory: 64, Threads: 1, KeyLen: 16, SaltLen: 8}, nil),
		Clock: clock, Transition: transition,
	}
}

// replica is one latchkey's ECS service and console service.
type replica struct {
	ecs      *service.ECS
	consoles *service.Consoles
}

func newReplica(cfg service.Config) replica {
	ecs := service.NewECS(cfg, catalog.NewAlibaba())
	return replica{ecs: ecs, consoles: service.NewConsoles(cfg, map[string]service.ConsoleSource{"ecs": ecs})}
}

// login opens the instance's console through a fresh ticket for caller c
// and tries pw.
func (r replica) login(t *testing.T, c core.Caller, id core.InstanceID, pw string) error {
	t.Helper()
	ctx := context.Background()
	tok, err := r.ecs.DescribeInstanceVncURL(ctx, c, ref(id))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := r.consoles.Redeem(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	return rfbtest.LoginConn(ctx, conn.(net.Conn), pw)
}

func (f *fixture) run(t *testing.T, optimized bool) core.InstanceID {
	t.Helper()
	ids, err := f.ecs.RunInstances(context.Background(), f.caller, core.CreateInstanceInput{
		RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240528.vhd", InstanceType: "ecs.g7.large", IoOptimized: optimized,
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids[0]
}

func ref(id core.InstanceID) core.InstanceRef {
	return core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: id}
}

// modify makes pw the instance's VNC password (ModifyInstanceVncPasswd)
// or fails the test.
func (f *fixture) modify(t *testing.T, id core.InstanceID, pw string) {
	t.Helper()
	if err := f.ecs.ModifyInstanceVncPasswd(context.Background(), f.caller, ref(id), core.NewSecret(pw)); err != nil {
		t.Fatal(err)
	}
}

// wantLogin fails unless the console accepts pw (ok) or refuses it (!ok).
func (f *fixture) wantLogin(t *testing.T, id core.InstanceID, pw string, ok bool) {
	t.Helper()
	rfbtest.Want(t, "console login", f.login(t, f.caller, id, pw), ok)
}

func wantReason(t *testing.T, err error, kind core.Kind, reason core.Reason) {
	t.Helper()
	e := core.AsError(err)
	if err == nil || e.Kind != kind || e.Reason != reason {
		t.Fatalf("got %v, want %s (%s)", err, kind, reason)
	}
}

func TestModifyVncPasswdOptimizedIsLiveAtOnce(t *testing.T) {
	f := newFixture(t, 0)
	id := f.run(t, true)
	f.modify(t, id, "Ecs123")
	f.wantLogin(t, id, "Ecs123", true)
	f.modify(t, id, "Abc987")
	f.wantLogin(t, id, "Ecs123", false)
	f.wantLogin(t, id, "Abc987", true)
}

func TestModifyVncPasswdNotOptimizedWaitsForRestart(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	id := f.run(t, false)
	// Make a known password live through a reboot first.
	f.modify(t, id, "Old111")
	if err := f.ecs.RebootInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	f.wantLogin(t, id, "Old111", true)

	f.modify(t, id, "New222")
	f.wantLogin(t, id, "Old111", true)
	f.wantLogin(t, id, "New222", false)
	if err := f.ecs.RebootInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	f.wantLogin(t, id, "New222", true)
	f.wantLogin(t, id, "Old111", false)

	// Stop alone keeps the old password; Start makes the pending one live.
	f.modify(t, id, "Nxt333")
	if err := f.ecs.StopInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	if err := f.ecs.StartInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	f.wantLogin(t, id, "Nxt333", true)
	f.wantLogin(t, id, "New222", false)
}

func TestModifyVncPasswdErrors(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	id := f.run(t, true)
	other := core.Caller{Principal: core.Principal{AccountID: "6543210987654321"}}
	cases := []struct {
		name   string
		caller core.Caller
		ref    core.InstanceRef
		pw     string
		kind   core.Kind
		reason core.Reason
	}{
		{"short", f.caller, ref(id), "Ecs12", core.KindInvalid, core.ReasonPasswordLength},
		{"symbol", f.caller, ref(id), "Ecs12!", core.KindInvalid, core.ReasonPasswordCharset},
		{"unknown region", f.caller, core.InstanceRef{RegionID: "cn-nowhere", InstanceID: id}, "Ecs123", core.KindNotFound, core.ReasonRegionNotFound},
		{"other region", f.caller, core.InstanceRef{RegionID: "cn-shanghai", InstanceID: id}, "Ecs123", core.KindNotFound, core.ReasonInstanceNotFound},
		{"unknown instance", f.caller, ref("i-bpdoesnotexist000000"), "Ecs123", core.KindNotFound, core.ReasonInstanceNotFound},
		{"other account", other, ref(id), "Ecs123", core.KindNotFound, core.ReasonInstanceNotFound},
		{"missing instance id", f.caller, ref(""), "Ecs123", core.KindInvalid, core.ReasonMissingParameter},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := f.ecs.ModifyInstanceVncPasswd(ctx, c.caller, c.ref, core.NewSecret(c.pw))
			wantReason(t, err, c.kind, c.reason)
		})
	}
}

func TestModifyVncPasswdStatusRules(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	id := f.run(t, true)
	set := func() error { return f.ecs.ModifyInstanceVncPasswd(ctx, f.caller, ref(id), core.NewSecret("Ecs123")) }

	wantReason(t, set(), core.KindConflict, core.ReasonIncorrectStatus) // Pending
	f.clock.Add(time.Second)
	wantReason(t, set(), core.KindConflict, core.ReasonIncorrectStatus) // Starting
	f.clock.Add(time.Second)
	if err := set(); err != nil { // Running
		t.Fatal(err)
	}
	if err := f.ecs.StopInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	wantReason(t, set(), core.KindConflict, core.ReasonIncorrectStatus) // Stopping
	f.clock.Add(time.Second)
	if err := set(); err != nil { // Stopped
		t.Fatal(err)
	}
	if err := f.ecs.DeleteInstance(ctx, f.caller, ref(id)); err != nil {
		t.Fatal(err)
	}
	wantReason(t, set(), core.KindNotFound, core.ReasonResourceReleased)
	f.clock.Add(time.Second)
	wantReason(t, set(), core.KindNotFound, core.ReasonInstanceNotFound)
}

func TestUnreachableConsoleChangesNothing(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	id := f.run(t, true)
	f.modify(t, id, "Live11")
	restore := f.unreachable(t, id)
	err := f.ecs.ModifyInstanceVncPasswd(ctx, f.caller, ref(id), core.NewSecret("Lost22"))
	wantReason(t, err, core.KindUnavailable, core.ReasonConsoleUnreachable)
	restore()
	f.wantLogin(t, id, "Live11", true)
	f.wantLogin(t, id, "Lost22", false)

	// After a restart of latchkey the store's live password is the one
	// the console asks for.
	f.restart(t)
	f.wantLogin(t, id, "Live11", true)
}

func TestPasswordSurvivesRestart(t *testing.T) {
	f := newFixture(t, 0)
	id := f.run(t, true)
	f.modify(t, id, "Keep42")
	f.restart(t)
	f.wantLogin(t, id, "Keep42", true)
}

func TestConsoleTicketIsSingleUseAndExpires(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	id := f.run(t, true)
	tok, err := f.ecs.DescribeInstanceVncURL(ctx, f.caller, ref(id))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := f.consoles.Redeem(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := f.consoles.Redeem(ctx, tok.Token); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("second use of a ticket: got %v, want not found", err)
	}
	tok, err = f.ecs.DescribeInstanceVncURL(ctx, f.caller, ref(id))
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Add(15 * time.Second)
	if _, err := f.consoles.Redeem(ctx, tok.Token); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("expired ticket: got %v, want not found", err)
	}
}

func TestClientTokenIdempotency(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	in := core.CreateInstanceInput{RegionID: "cn-hangzhou", ImageID: "img", InstanceType: "ecs.g7.large", Amount: 2, ClientToken: "tok-1"}
	first, err := f.ecs.RunInstances(ctx, f.caller, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.ecs.RunInstances(ctx, f.caller, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || len(again) != 2 || first[0] != again[0] || first[1] != again[1] {
		t.Fatalf("retry with the same ClientToken returned %v, first call %v", again, first)
	}
	in.InstanceType = "ecs.g7.xlarge"
	_, err = f.ecs.RunInstances(ctx, f.caller, in)
	wantReason(t, err, core.KindInvalid, core.ReasonIdempotentMismatch)
	page, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou"})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 2 {
		t.Fatalf("%d instances exist, want 2", page.TotalCount)
	}
}

func TestDescribeInstancesPagingAndFilters(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	var ids []core.InstanceID
	for i := 0; i < 5; i++ {
		ids = append(ids, f.run(t, i%2 == 0))
	}
	page, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", PageNumber: 2, PageSize: 2})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 5 || len(page.Instances) != 2 || page.Instances[0].ID != ids[2] {
		t.Fatalf("page 2 of size 2: total %d, %d instances", page.TotalCount, len(page.Instances))
	}
	var seen []core.InstanceID
	next := ""
	for {
		page, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", MaxResults: 2, NextToken: next})
		if err != nil {
			t.Fatal(err)
		}
		for _, inst := range page.Instances {
			seen = append(seen, inst.ID)
		}
		if next = page.NextToken; next == "" {
			break
		}
	}
	if len(seen) != 5 || seen[4] != ids[4] {
		t.Fatalf("token paging saw %d instances, want 5 in creation order", len(seen))
	}
	yes := true
	page, err = f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", IoOptimized: &yes, InstanceIDs: ids[:3]})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 2 {
		t.Fatalf("optimized among the first three: %d, want 2", page.TotalCount)
	}
	page, err = f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", Name: "i-bp*", Status: core.StatusRunning})
	if err != nil {
		t.Fatal(err)
	}
	if page.TotalCount != 5 {
		t.Fatalf("name pattern i-bp*: %d, want 5", page.TotalCount)
	}
}

func TestRAMUserDeniedByDefault(t *testing.T) {
	f := newFixture(t, 0)
	id := f.run(t, true)
	user := f.caller
	user.User = "alice"
	err := f.ecs.ModifyInstanceVncPasswd(context.Background(), user, ref(id), core.NewSecret("Ecs123"))
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
	if d := core.AsError(err).Denial; d == nil || d.Action != "ecs:ModifyInstanceVncPasswd" || d.Resource != "acs:ecs:cn-hangzhou:1234567890123456:instance/"+string(id) {
		t.Fatalf("denial details: %+v", d)
	}
}

// Page numbers are bounded: a huge one is InvalidParameter, the largest
// accepted one an empty page, never an overflow.
func TestDescribeInstancesPageNumberBounds(t *testing.T) {
	f := newFixture(t, 0)
	f.run(t, true)
	ctx := context.Background()
	for _, n := range []int{922337203685477580, math.MaxInt64, math.MaxInt32 + 1} {
		_, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", PageNumber: n, PageSize: 100})
		if e := core.AsError(err); e.Reason != core.ReasonInvalidParameter || e.Field != "PageNumber" {
			t.Errorf("PageNumber %d: %v, want InvalidParameter PageNumber", n, err)
		}
	}
	page, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", PageNumber: math.MaxInt32, PageSize: 100})
	if err != nil || len(page.Instances) != 0 || page.TotalCount != 1 {
		t.Errorf("PageNumber MaxInt32 = %+v, %v; want an empty page of 1", page, err)
	}
}

// another returns a second latchkey's services over f's store: its own
// ECS service and sim consoles, the consoles reading their live passwords
// from the store. (One Store owns a SQLite database; replicas in
// processes of their own, on PostgreSQL, are server's tests.)
func (f *fixture) another(t *testing.T) replica {
	t.Helper()
	d := sim.New()
	cfg := f.cfg
	cfg.Transition = 0
	cfg.Drivers = map[string]core.ConsoleDriver{"sim": d}
	r := newReplica(cfg)
	d.ServeFrom("ecs", r.ecs)
	return r
}

// Two replicas over one store: a password changed through either is live
// on both replicas' consoles at once, and the old one is refused: the sim
// consoles read the store, nothing is pushed between replicas.
func TestConsolesOfEveryReplicaReadTheStore(t *testing.T) {
	f := newFixture(t, 0)
	a, b := f.another(t), f.another(t)
	ctx := context.Background()
	ids, err := a.ecs.RunInstances(ctx, f.caller, core.CreateInstanceInput{RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240528.vhd", InstanceType: "ecs.g7.large", IoOptimized: true})
	if err != nil {
		t.Fatal(err)
	}
	id := ids[0]
	old := ""
	for i, pw := range []string{"Rep1aA", "Rep2bB", "Rep3cC"} {
		via, other := a, b
		if i%2 == 1 {
			via, other = b, a
		}
		if err := via.ecs.ModifyInstanceVncPasswd(ctx, f.caller, ref(id), core.NewSecret(pw)); err != nil {
			t.Fatal(err)
		}
		for _, r := range []replica{via, other} {
			rfbtest.Want(t, "the new password", r.login(t, f.caller, id, pw), true)
			if old != "" {
				rfbtest.Want(t, "the old password", r.login(t, f.caller, id, old), false)
			}
		}
		old = pw
	}
}

// describe lists the instances DescribeInstances answers for in (region
// cn-hangzhou), or fails the test.
func (f *fixture) describe(t *testing.T, in core.DescribeInstancesInput) *core.InstancePage {
	t.Helper()
	in.RegionID = "cn-hangzhou"
	page, err := f.ecs.DescribeInstances(context.Background(), f.caller, in)
	if err != nil {
		t.Fatalf("DescribeInstances(%+v): %v", in, err)
	}
	return page
}

func pageIDs(p *core.InstancePage) []core.InstanceID {
	var out []core.InstanceID
	for _, inst := range p.Instances {
		out = append(out, inst.ID)
	}
	return out
}

// TestDescribeInstancesStatusFollowsTheClock checks that the Status filter
// and TotalCount follow each instance's schedule as the clock moves, with
// no write in between (the status labels carry their intervals), and that
// an instance being released leaves every listing at once.
func TestDescribeInstancesStatusFollowsTheClock(t *testing.T) {
	f := newFixture(t, time.Second)
	ctx := context.Background()
	ids := []core.InstanceID{f.run(t, true), f.run(t, false), f.run(t, true)}
	running := core.DescribeInstancesInput{Status: core.StatusRunning}
	if p := f.describe(t, running); p.TotalCount != 0 || len(p.Instances) != 0 {
		t.Fatalf("Running at creation: %d (%v), want none", p.TotalCount, pageIDs(p))
	}
	f.clock.Add(10 * time.Second)
	if p := f.describe(t, running); p.TotalCount != 3 || !slices.Equal(pageIDs(p), ids) {
		t.Fatalf("Running after the transitions: %d %v, want %v", p.TotalCount, pageIDs(p), ids)
	}
	if err := f.ecs.StopInstance(ctx, f.caller, ref(ids[1])); err != nil {
		t.Fatal(err)
	}
	stopped := core.DescribeInstancesInput{Status: core.StatusStopped}
	if p := f.describe(t, stopped); p.TotalCount != 0 {
		t.Fatalf("Stopped while stopping: %d, want 0", p.TotalCount)
	}
	if p := f.describe(t, core.DescribeInstancesInput{Status: core.StatusStopping}); !slices.Equal(pageIDs(p), ids[1:2]) {
		t.Fatalf("Stopping: %v, want %v", pageIDs(p), ids[1:2])
	}
	f.clock.Add(10 * time.Second)
	if p := f.describe(t, stopped); p.TotalCount != 1 || !slices.Equal(pageIDs(p), ids[1:2]) {
		t.Fatalf("Stopped: %d %v, want %v", p.TotalCount, pageIDs(p), ids[1:2])
	}
	if err := f.ecs.DeleteInstance(ctx, f.caller, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[1]}); err != nil {
		t.Fatal(err)
	}
	if p := f.describe(t, core.DescribeInstancesInput{}); p.TotalCount != 2 || !slices.Equal(pageIDs(p), []core.InstanceID{ids[0], ids[2]}) {
		t.Fatalf("after a deletion: %d %v", p.TotalCount, pageIDs(p))
	}
	if p := f.describe(t, stopped); p.TotalCount != 0 {
		t.Fatalf("Stopped after the deletion: %d, want 0", p.TotalCount)
	}
}

// TestDescribeInstancesCursor checks that NextToken is an opaque cursor:
// it continues after its place even when the instance before it is
// deleted, it is the same whichever paging mode gave it, and a token
// latchkey did not make (an instance id, as older versions gave) is
// InvalidParameter.
func TestDescribeInstancesCursor(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	var ids []core.InstanceID
	for range 7 {
		ids = append(ids, f.run(t, true))
	}
	first := f.describe(t, core.DescribeInstancesInput{MaxResults: 3})
	byPage := f.describe(t, core.DescribeInstancesInput{PageNumber: 1, PageSize: 3})
	if first.NextToken == "" || first.NextToken != byPage.NextToken || first.TotalCount != 7 {
		t.Fatalf("NextToken by MaxResults %q, by PageSize %q, total %d", first.NextToken, byPage.NextToken, first.TotalCount)
	}
	if err := f.ecs.DeleteInstance(ctx, f.caller, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[2], ForceStop: true}); err != nil {
		t.Fatal(err)
	}
	next := f.describe(t, core.DescribeInstancesInput{MaxResults: 3, NextToken: first.NextToken})
	if !slices.Equal(pageIDs(next), ids[3:6]) || next.TotalCount != 6 || next.NextToken == "" {
		t.Fatalf("after the cursor: %v (total %d, next %q), want %v", pageIDs(next), next.TotalCount, next.NextToken, ids[3:6])
	}
	last := f.describe(t, core.DescribeInstancesInput{MaxResults: 3, NextToken: next.NextToken})
	if !slices.Equal(pageIDs(last), ids[6:]) || last.NextToken != "" {
		t.Fatalf("last page: %v next %q, want %v and no NextToken", pageIDs(last), last.NextToken, ids[6:])
	}
	for _, bad := range []string{string(ids[3]), "0000000000000000", "000000000000000G", "00000000000000001", "-000000000000001"} {
		_, err := f.ecs.DescribeInstances(ctx, f.caller, core.DescribeInstancesInput{RegionID: "cn-hangzhou", NextToken: bad})
		var e *core.Error
		if !errors.As(err, &e) || e.Reason != core.ReasonInvalidParameter || e.Field != "NextToken" {
			t.Errorf("NextToken %q: err = %v, want InvalidParameter NextToken", bad, err)
		}
	}
}

// TestDescribeInstancesNames checks InstanceName, exact and with '*',
// against names holding the metacharacters of the stores' patterns.
func TestDescribeInstancesNames(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	names := []string{"web-1", "web-2", "web_3", "we%b", "db-1"}
	var ids []core.InstanceID
	for _, n := range names {
		got, err := f.ecs.RunInstances(ctx, f.caller, core.CreateInstanceInput{
			RegionID: "cn-hangzhou", ImageID: "aliyun_3_x64_20G_alibase_20240528.vhd", InstanceType: "ecs.g7.large", Name: n, IoOptimized: true,
		})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	for pattern, want := range map[string][]core.InstanceID{
		"web-1":  ids[:1],
		"web-*":  ids[:2],
		"web*":   ids[:3],
		"we%b":   ids[3:4],
		"*-1":    {ids[0], ids[4]},
		"web_*":  ids[2:3],
		"nobody": nil,
	} {
		p := f.describe(t, core.DescribeInstancesInput{Name: pattern})
		if !slices.Equal(pageIDs(p), want) || p.TotalCount != len(want) {
			t.Errorf("InstanceName %q: %v (total %d), want %v", pattern, pageIDs(p), p.TotalCount, want)
		}
	}
	p := f.describe(t, core.DescribeInstancesInput{Name: "web*", InstanceIDs: []core.InstanceID{ids[4], ids[2], ids[0]}, PageSize: 1, PageNumber: 2})
	if !slices.Equal(pageIDs(p), ids[2:3]) || p.TotalCount != 2 || p.NextToken != "" {
		t.Errorf("names and ids, page 2 of size 1: %v (total %d, next %q), want %v", pageIDs(p), p.TotalCount, p.NextToken, ids[2:3])
	}
}

// TestRelabelAfterUpgrade puts the store in the state migration
// 0002_labels leaves a database of an older latchkey in (documents
// without labels: labels NULL, no label rows), and checks that listings
// miss the instances until Registry.Relabel, and find them after it with
// their state unchanged.
func TestRelabelAfterUpgrade(t *testing.T) {
	f := newFixture(t, 0)
	ctx := context.Background()
	ids := []core.InstanceID{f.run(t, true), f.run(t, false)}
	db, err := sql.Open("sqlite", f.dbPath)
	if err != nil {
		t.Fatal(err)
	}
	_, err = db.ExecContext(ctx, "UPDATE docs SET labels = NULL; DELETE FROM doc_labels")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p := f.describe(t, core.DescribeInstancesInput{}); p.TotalCount != 0 {
		t.Fatalf("before relabeling: %d instances listed, want 0 (the store was not put back to its old state)", p.TotalCount)
	}
	reg := service.NewRegistry(f.cfg, nil, nil, f.ecs)
	n, err := reg.Relabel(ctx)
	if err != nil || n < len(ids) {
		t.Fatalf("Relabel = %d, %v; want at least the %d instances", n, err, len(ids))
	}
	p := f.describe(t, core.DescribeInstancesInput{Status: core.StatusRunning})
	if !slices.Equal(pageIDs(p), ids) || p.TotalCount != 2 {
		t.Fatalf("after relabeling: %v (total %d), want %v", pageIDs(p), p.TotalCount, ids)
	}
	if n, err := reg.Relabel(ctx); err != nil || n != 0 {
		t.Fatalf("second Relabel = %d, %v; want 0", n, err)
	}
}
