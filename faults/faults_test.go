package faults_test

import (
	"context"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	"github.com/latchkey/latchkey/store/sqlite"
)

// recorder is a backend that remembers what reached it: the calls a fault
// stopped must not.
type recorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *recorder) add(s string) {
	r.mu.Lock()
	r.calls = append(r.calls, s)
	r.mu.Unlock()
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

func (r *recorder) SetConsolePassword(_ context.Context, t core.ConsoleTarget, _ core.Secret) error {
	r.add("set " + t.ID)
	return nil
}

func (r *recorder) OpenConsole(_ context.Context, t core.ConsoleTarget) (core.Conn, error) {
	r.add("open " + t.ID)
	return nil, nil
}

func (r *recorder) SetVisualPassword(_ context.Context, n core.VisualNode, _ core.Secret) error {
	r.add(fmt.Sprintf("visual %s %d", n.ClusterID, n.Index))
	return nil
}

func (r *recorder) StartVisual(_ context.Context, n core.VisualNode, _ core.Secret) error {
	r.add(fmt.Sprintf("start %s %d", n.ClusterID, n.Index))
	return nil
}

func (r *recorder) StopVisual(_ context.Context, n core.VisualNode) error {
	r.add(fmt.Sprintf("stop %s %d", n.ClusterID, n.Index))
	return nil
}

// sequence is a Random that returns its values in turn.
type sequence struct {
	mu sync.Mutex
	v  []float64
}

func (s *sequence) Float64() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.v[0]
	s.v = append(s.v[1:], x)
	return x
}

type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) FaultInjected(product, effect string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.n == nil {
		c.n = map[string]int{}
	}
	c.n[product+"/"+effect]++
}

type fixture struct {
	store  core.Store
	inj    *faults.Injector
	slept  []time.Duration
	seen   *counter
	path   string
	random *sequence
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	st, err := sqlite.Open(context.Background(), path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{store: st, seen: &counter{}, path: path, random: &sequence{v: []float64{0.5}}}
	var mu sync.Mutex
	f.inj = faults.New(faults.Config{
		Store:    st,
		Rand:     f.random,
		Observer: f.seen,
		Sleep: func(_ context.Context, d time.Duration) error {
			mu.Lock()
			f.slept = append(f.slept, d)
			mu.Unlock()
			return nil
		},
	})
	return f
}

func (f *fixture) add(t *testing.T, r faults.Rule) *faults.Rule {
	t.Helper()
	got, err := f.inj.Add(context.Background(), r)
	if err != nil {
		t.Fatalf("Add(%+v): %v", r, err)
	}
	return got
}

func ecsTarget(id string) core.ConsoleTarget {
	return core.ConsoleTarget{Product: "ecs", ID: id, Status: "Running"}
}

func TestValidate(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		rule  faults.Rule
		field string
	}{
		{faults.Rule{Product: "s3", Effect: faults.Unreachable}, "product"},
		{faults.Rule{Product: "ecs", Effect: "explode"}, "effect"},
		{faults.Rule{Product: "ecs", Effect: faults.PartialFailure}, "effect"},
		{faults.Rule{Product: "bcc", Effect: faults.PartialFailure}, "effect"},
		{faults.Rule{Product: "ecs", Effect: faults.ServiceUnavailable}, "effect"},
		{faults.Rule{Product: "bcc", Effect: faults.InternalFailure}, "effect"},
		{faults.Rule{Product: "ecs", Effect: faults.Unreachable, Operations: []faults.Operation{faults.OpStartVisual}}, "operations"},
		{faults.Rule{Product: "ecs", Effect: faults.Unreachable, Count: -1}, "count"},
		{faults.Rule{Product: "ecs", Effect: faults.Unreachable, Probability: 1.5}, "probability"},
		{faults.Rule{Product: "ecs", Effect: faults.Latency}, "latency"},
		{faults.Rule{Product: "ecs", Effect: faults.Latency, Latency: faults.Duration(time.Hour)}, "latency"},
		{faults.Rule{Product: "ecs", Effect: faults.Unreachable, Command: "rm"}, "command"},
		{faults.Rule{Product: "ecs", Effect: faults.Unreachable, Resource: "i-1 OR 1=1"}, "resource"},
		{faults.Rule{Product: "ehpc", Effect: faults.ExecFailure, Command: "a\nb"}, "command"},
	} {
		_, err := f.inj.Add(context.Background(), tc.rule)
		e := core.AsError(err)
		if err == nil || e.Kind != core.KindInvalid || e.Field != tc.field {
			t.Errorf("Add(%+v) = %v, want invalid %s", tc.rule, err, tc.field)
		}
	}
	if rules, _ := f.inj.List(context.Background()); len(rules) != 0 {
		t.Errorf("refused rules were stored: %v", rules)
	}
}

func TestCountRuleFailsNextCallsThenIsSpent(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	inner := &recorder{}
	d := f.inj.ConsoleDriver(inner)
	r := f.add(t, faults.Rule{Product: "ecs", Resource: "i-a", Effect: faults.Unreachable, Count: 2})
	if !strings.HasPrefix(r.ID, "fault-") || r.Remaining != 2 || r.CreatedAt.IsZero() {
		t.Errorf("Add returned %+v", r)
	}
	for n := range 2 {
		err := d.SetConsolePassword(ctx, ecsTarget("i-a"), core.NewSecret("Abc123"))
		if core.KindOf(err) != core.KindUnavailable || core.ReasonOf(err) != core.ReasonConsoleUnreachable {
			t.Fatalf("call %d = %v, want ConsoleUnreachable", n, err)
		}
	}
	// Another instance and another product are untouched.
	if err := d.SetConsolePassword(ctx, ecsTarget("i-b"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("another instance: %v", err)
	}
	if err := d.SetConsolePassword(ctx, core.ConsoleTarget{Product: "bcc", ID: "i-a"}, core.NewSecret("Abc123")); err != nil {
		t.Errorf("another product: %v", err)
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-a"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("third call after a count-2 rule: %v", err)
	}
	if got, want := inner.got(), []string{"set i-b", "set i-a", "set i-a"}; !slices.Equal(got, want) {
		t.Errorf("backend saw %q, want %q (failed calls must not reach it)", got, want)
	}
	if rules, _ := f.inj.List(ctx); len(rules) != 0 {
		t.Errorf("spent rule still listed: %+v", rules)
	}
	if f.seen.n["ecs/unreachable"] != 2 {
		t.Errorf("observer counted %v", f.seen.n)
	}
}

func TestEffectsOnConsoles(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	inner := &recorder{}
	d := f.inj.ConsoleDriver(inner)

	f.add(t, faults.Rule{Product: "ecs", Effect: faults.ExecFailure, Count: 1})
	err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123"))
	if e := core.AsError(err); e.Reason != core.ReasonExecFailed || e.Message != "vncpasswd -f" {
		t.Errorf("exec-failure = %v, want ExecFailed naming vncpasswd -f", err)
	}
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.ExecFailure, Command: "qm set 100", Count: 1})
	err = d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123"))
	if e := core.AsError(err); e.Message != "qm set 100" {
		t.Errorf("exec-failure with a command = %v", err)
	}

	// Operations select the call: open-console only.
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.AgentTimeout, Operations: []faults.Operation{faults.OpOpenConsole}})
	if err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("set-password under an open-console rule: %v", err)
	}
	if _, err := d.OpenConsole(ctx, ecsTarget("i-x")); core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("open-console = %v, want AgentTimeout", err)
	}
	if _, err := d.OpenConsole(ctx, ecsTarget("i-y")); core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("a rule without count or probability must hit every call; got %v", err)
	}
	n, err := f.inj.Clear(ctx, "ecs", "")
	if err != nil || n != 1 {
		t.Errorf("Clear = %d, %v; want 1 rule removed", n, err)
	}
	if _, err := d.OpenConsole(ctx, ecsTarget("i-y")); err != nil {
		t.Errorf("after Clear: %v", err)
	}

	// Latency delays, then lets the call through; with a failure it adds
	// to the failure.
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.Latency, Latency: faults.Duration(250 * time.Millisecond), Count: 1})
	if err := d.SetConsolePassword(ctx, ecsTarget("i-z"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("latency: %v", err)
	}
	if !slices.Equal(f.slept, []time.Duration{250 * time.Millisecond}) {
		t.Errorf("slept %v, want [250ms]", f.slept)
	}
	if got := inner.got(); got[len(got)-1] != "set i-z" {
		t.Errorf("the delayed call did not reach the backend: %q", got)
	}

	// BCC's guest password goes through a driver that has no guest
	// setter: the rule acts, and without one the call is a no-op.
	f.add(t, faults.Rule{Product: "bcc", Resource: "i-Bcc00001", Effect: faults.AgentTimeout, Count: 1})
	bcc := core.ConsoleTarget{Product: "bcc", ID: "i-Bcc00001"}
	if err := d.SetGuestPassword(ctx, bcc, "root", core.NewSecret("Passw0rd!")); core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("guest password = %v, want AgentTimeout", err)
	}
	if err := d.SetGuestPassword(ctx, bcc, "root", core.NewSecret("Passw0rd!")); err != nil {
		t.Errorf("guest password after the rule: %v", err)
	}
}

func TestProbability(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.random.v = []float64{0.1, 0.9, 0.2, 0.8}
	d := f.inj.ConsoleDriver(&recorder{})
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.Unreachable, Probability: 0.5})
	var failed []bool
	for range 4 {
		failed = append(failed, d.SetConsolePassword(ctx, ecsTarget("i-p"), core.NewSecret("Abc123")) != nil)
	}
	if want := []bool{true, false, true, false}; !slices.Equal(failed, want) {
		t.Errorf("failures %v, want %v (draws 0.1 0.9 0.2 0.8 against 0.5)", failed, want)
	}
	rules, _ := f.inj.List(ctx)
	if len(rules) != 1 || rules[0].Hits != 2 {
		t.Errorf("rules %+v, want one with 2 hits", rules)
	}

	// Count and probability: at most Count hits.
	f.inj.Clear(ctx, "", "")
	f.random.v = []float64{0.0}
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.Unreachable, Probability: 0.5, Count: 1})
	if d.SetConsolePassword(ctx, ecsTarget("i-p"), core.NewSecret("Abc123")) == nil {
		t.Error("first call passed")
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-p"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("second call after count 1: %v", err)
	}
}

func visualNode(cluster string, index int) core.VisualNode {
	return core.VisualNode{
		ClusterID: core.ClusterID(cluster), NodeID: core.NodeID(fmt.Sprintf("i-%s-login%d", cluster, index)),
		Index: index, Address: netip.MustParseAddr("127.31.0.5"), Port: 12016,
	}
}

// operation calls the login nodes of a cluster at once, as the E-HPC
// service does, and returns each node's error.
func operation(d core.VisualDriver, cluster string, nodes int) []error {
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Go(func() {
			errs[i] = d.SetVisualPassword(context.Background(), visualNode(cluster, i), core.NewSecret("Abc123"))
		})
	}
	wg.Wait()
	return errs
}

func TestVisualRulesActPerOperation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	inner := &recorder{}
	d := f.inj.VisualDriver(inner)

	// count 1 on a cluster fails every node of one operation, not one node.
	f.add(t, faults.Rule{Product: "ehpc", Resource: "ehpc-hz-A", Effect: faults.Unreachable, Count: 1})
	for i, err := range operation(d, "ehpc-hz-A", 3) {
		if core.ReasonOf(err) != core.ReasonAgentTimeout {
			t.Errorf("node %d = %v, want AgentTimeout (an unreachable node is an agent that does not answer)", i, err)
		}
	}
	for i, err := range operation(d, "ehpc-hz-A", 3) {
		if err != nil {
			t.Errorf("second operation, node %d: %v", i, err)
		}
	}
	if n := len(inner.got()); n != 3 {
		t.Errorf("backend saw %d calls, want 3 (the second operation only)", n)
	}

	// A partial failure lets the first login node through.
	f.add(t, faults.Rule{Product: "ehpc", Effect: faults.PartialFailure, Count: 1})
	errs := operation(d, "ehpc-hz-B", 3)
	if errs[0] != nil || core.ReasonOf(errs[1]) != core.ReasonAgentTimeout || core.ReasonOf(errs[2]) != core.ReasonAgentTimeout {
		t.Errorf("partial failure = %v, want node 0 fine and the others AgentTimeout", errs)
	}

	// exec-failure names the command of the operation.
	f.add(t, faults.Rule{Product: "ehpc", Resource: "ehpc-hz-C", Effect: faults.ExecFailure, Operations: []faults.Operation{faults.OpStartVisual}, Count: 1})
	if err := d.SetVisualPassword(ctx, visualNode("ehpc-hz-C", 0), core.NewSecret("Abc123")); err != nil {
		t.Errorf("set-password under a start-visual rule: %v", err)
	}
	err := d.StartVisual(ctx, visualNode("ehpc-hz-C", 0), core.NewSecret("Abc123"))
	if e := core.AsError(err); e.Kind != core.KindConflict || e.Reason != core.ReasonExecFailed || e.Message != "vncserver" {
		t.Errorf("start-visual = %v, want ExecFailed naming vncserver", err)
	}

	// A rule on one node fails that node only, every time.
	node := visualNode("ehpc-hz-D", 1)
	f.add(t, faults.Rule{Product: "ehpc", Resource: string(node.NodeID), Effect: faults.AgentTimeout})
	for range 2 {
		errs := operation(d, "ehpc-hz-D", 2)
		if errs[0] != nil || core.ReasonOf(errs[1]) != core.ReasonAgentTimeout {
			t.Errorf("node rule = %v, want node 1 failing only", errs)
		}
	}
	if err := d.StopVisual(ctx, visualNode("ehpc-hz-D", 0)); err != nil {
		t.Errorf("stop on the other node: %v", err)
	}
}

// TestVisualServiceFailures: the E-HPC-only effects make every node of
// the operation fail with the core error that E-HPC renders as
// ServiceUnavailable and UnknownError, and the backend sees nothing.
func TestVisualServiceFailures(t *testing.T) {
	f := newFixture(t)
	inner := &recorder{}
	d := f.inj.VisualDriver(inner)
	for _, c := range []struct {
		effect faults.Effect
		kind   core.Kind
	}{
		{faults.ServiceUnavailable, core.KindUnavailable},
		{faults.InternalFailure, core.KindInternal},
	} {
		f.add(t, faults.Rule{Product: "ehpc", Resource: "ehpc-hz-E", Effect: c.effect, Count: 1})
		for i, err := range operation(d, "ehpc-hz-E", 2) {
			if e := core.AsError(err); err == nil || e.Kind != c.kind || e.Reason != core.ReasonNone {
				t.Errorf("%s, node %d = %v, want %s without a reason", c.effect, i, err, c.kind)
			}
		}
	}
	if n := len(inner.got()); n != 0 {
		t.Errorf("backend saw %d calls, want none", n)
	}
}

func TestRulesPersistAndRemove(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.add(t, faults.Rule{Product: "ecs", Effect: faults.Unreachable, Count: 3})
	b := f.add(t, faults.Rule{Product: "bcc", Effect: faults.Latency, Latency: faults.Duration(time.Second)})
	f.store.Close()

	st, err := sqlite.Open(ctx, f.path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inj := faults.New(faults.Config{Store: st})
	rules, err := inj.List(ctx)
	if err != nil || len(rules) != 2 || rules[0].ID != a.ID || rules[1].ID != b.ID || rules[0].Remaining != 3 || rules[1].Latency != faults.Duration(time.Second) {
		t.Fatalf("after reopening: %+v, %v", rules, err)
	}
	if err := inj.Remove(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := inj.Remove(ctx, a.ID); core.KindOf(err) != core.KindNotFound {
		t.Errorf("removing twice = %v, want not found", err)
	}
	rules, _ = inj.List(ctx)
	if len(rules) != 1 || rules[0].ID != b.ID {
		t.Errorf("after Remove: %+v", rules)
	}
}

func TestLatencyHonoursCancellation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latchkey.db")
	st, err := sqlite.Open(context.Background(), path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	inj := faults.New(faults.Config{Store: st}) // the real timer
	// The longest latency: a call that did not honour its context would
	// wait it out and then succeed, not answer AgentTimeout.
	if _, err := inj.Add(context.Background(), faults.Rule{Product: "ecs", Effect: faults.Latency, Latency: faults.Duration(5 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = inj.ConsoleDriver(&recorder{}).SetConsolePassword(ctx, ecsTarget("i-l"), core.NewSecret("Abc123"))
	if core.ReasonOf(err) != core.ReasonAgentTimeout {
		t.Errorf("cancelled latency = %v, want AgentTimeout", err)
	}
}

func TestBypass(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	inner := &recorder{}
	f.add(t, faults.Rule{Product: "ecs", Effect: faults.Unreachable})
	f.add(t, faults.Rule{Product: "ehpc", Effect: faults.AgentTimeout})
	if err := f.inj.ConsoleDriver(inner).SetConsolePassword(faults.Bypass(ctx), ecsTarget("i-r"), core.NewSecret("Abc123")); err != nil {
		t.Errorf("a bypassing console call: %v", err)
	}
	if err := f.inj.VisualDriver(inner).StartVisual(faults.Bypass(ctx), visualNode("ehpc-hz-R", 0), core.NewSecret("Abc123")); err != nil {
		t.Errorf("a bypassing node call: %v", err)
	}
	if err := f.inj.ConsoleDriver(inner).SetConsolePassword(ctx, ecsTarget("i-r"), core.NewSecret("Abc123")); err == nil {
		t.Error("the rule no longer applies to other calls")
	}
	rules, _ := f.inj.List(ctx)
	for _, r := range rules {
		if r.Hits > 1 {
			t.Errorf("a bypassing call was charged to %s", r.ID)
		}
	}
}

// TestNoRuleIsRememberedUntilARuleIsWritten: over SQLite (the only
// writer of its data), a console driver that pulls passwords keeps
// pulling once a call found no rule, and stops at once when a rule is
// written, by this injector or by anything else that writes the store.
func TestNoRuleIsRememberedUntilARuleIsWritten(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	d := f.inj.ConsoleDriver(&puller{})
	if d.PullsPasswords(ctx, "ecs") {
		t.Fatal("pulls before any call read the rules")
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123")); err != nil {
		t.Fatal(err)
	}
	if !d.PullsPasswords(ctx, "ecs") {
		t.Fatal("does not pull after a call found no rule")
	}
	other := faults.New(faults.Config{Store: f.store})
	r, err := other.Add(ctx, faults.Rule{Product: "ecs", Effect: faults.Unreachable})
	if err != nil {
		t.Fatal(err)
	}
	if d.PullsPasswords(ctx, "ecs") {
		t.Fatal("still pulls after a rule was written")
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123")); core.AsError(err).Reason != core.ReasonConsoleUnreachable {
		t.Fatalf("SetConsolePassword under the rule = %v", err)
	}
	if err := other.Remove(ctx, r.ID); err != nil {
		t.Fatal(err)
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123")); err != nil {
		t.Fatal(err)
	}
	if !d.PullsPasswords(ctx, "ecs") {
		t.Error("does not pull again once the rule is gone and a call found none")
	}
}

// puller is a recorder that pulls every product's passwords
// (core.PullingConsoleDriver).
type puller struct{ recorder }

func (*puller) PullsPasswords(context.Context, string) bool { return true }

// TestSharedStoreAnswersPullPerCall: on a store shared by replicas (no
// core.KindVersions), the injector keeps nothing between calls.
// PreparePull reads the rules for one call: with none, that call needs
// nothing pushed; once a rule is written (through another injector, as
// another replica would), the next call's PreparePull finds it and the
// rule acts.
func TestSharedStoreAnswersPullPerCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	shared := struct{ core.Store }{f.store} // hides KindVersions
	inj := faults.New(faults.Config{Store: shared})
	d := inj.ConsoleDriver(&puller{})
	if d.PullsPasswords(ctx, "ecs") {
		t.Fatal("pulls without PreparePull on a shared store")
	}
	if err := d.SetConsolePassword(ctx, ecsTarget("i-x"), core.NewSecret("Abc123")); err != nil {
		t.Fatal(err)
	}
	if d.PullsPasswords(ctx, "ecs") {
		t.Fatal("a call that found no rule is remembered on a shared store")
	}
	call := d.PreparePull(ctx)
	if !d.PullsPasswords(call, "ecs") {
		t.Fatal("does not pull for a call that found no rule")
	}
	other := faults.New(faults.Config{Store: shared})
	if _, err := other.Add(ctx, faults.Rule{Product: "ecs", Effect: faults.Unreachable}); err != nil {
		t.Fatal(err)
	}
	next := d.PreparePull(ctx)
	if d.PullsPasswords(next, "ecs") {
		t.Fatal("pulls for a call that started after a rule was written")
	}
	if err := d.SetConsolePassword(next, ecsTarget("i-x"), core.NewSecret("Abc123")); core.AsError(err).Reason != core.ReasonConsoleUnreachable {
		t.Fatalf("SetConsolePassword under the rule = %v", err)
	}
}
