package service_test

import (
	"context"
	"encoding/json"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/visual/sim"
)

// listenerReplica is an E-HPC service over the fixture's store with a sim
// visual driver of its own served from the store, as each replica of a
// shared store assembles it.
type listenerReplica struct {
	ehpc   *service.EHPC
	driver *sim.Driver
	stop   context.CancelFunc
	done   chan struct{}
}

func (f *ehpcFixture) replica(t *testing.T) *listenerReplica {
	t.Helper()
	r := &listenerReplica{driver: sim.New(), done: make(chan struct{})}
	t.Cleanup(func() { r.driver.Close() })
	ecfg := f.ecfg
	ecfg.Drivers = map[string]core.VisualDriver{"sim": f.faults.VisualDriver(r.driver)}
	ecfg.Probes = map[string]core.VisualDriver{"sim": r.driver}
	ecfg.FollowEvery = 10 * time.Millisecond
	r.ehpc = service.NewEHPC(f.cfg, ecfg, catalog.NewAlibaba())
	r.driver.ServeFrom(r.ehpc)
	if err := r.ehpc.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	r.stop = func() { cancel(); <-r.done }
	go func() {
		defer close(r.done)
		r.ehpc.FollowVisual(ctx, ready)
	}()
	t.Cleanup(r.stop)
	return r
}

// awaitLogin polls until pw opens the visual service at addr, with a
// minute's hang guard.
func awaitLogin(t *testing.T, addr, pw string) {
	t.Helper()
	start := time.Now()
	for rfbtest.Login(addr, pw) != nil {
		if time.Since(start) > time.Minute {
			t.Fatalf("visual service %s does not admit the stored password after a minute", addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Two services sharing one store: the first holds the listeners' lease,
// the second's driver listens on nothing. A cluster created and a
// password changed through the second are live on the first's listeners
// (the old password refused); when the first stops, the second takes the
// listeners over on the same addresses with the stored password.
func TestEHPCVisualListenersFollowTheStore(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	a := f.replica(t)
	b := f.replica(t)
	f.ehpc = b.ehpc
	cl := f.create(t, 2)
	for li, i := range cl.LoginNodes() {
		if _, ok := b.driver.Listening(cl.Nodes[i].ID); ok {
			t.Fatalf("login node %d listens on the replica without the lease", li)
		}
	}
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	for li := range cl.LoginNodes() {
		awaitLogin(t, loginAddr(cl, li), "Abc123")
	}
	if _, err := f.modify(cl, "root", rootPassword, "Xyz789"); err != nil {
		t.Fatal(err)
	}
	for li := range cl.LoginNodes() {
		rfbtest.Want(t, "the password changed through the other service", rfbtest.Login(loginAddr(cl, li), "Xyz789"), true)
		rfbtest.Want(t, "the replaced password", rfbtest.Login(loginAddr(cl, li), "Abc123"), false)
	}

	a.stop()
	for li, i := range cl.LoginNodes() {
		awaitLogin(t, loginAddr(cl, li), "Xyz789")
		if _, ok := b.driver.Listening(cl.Nodes[i].ID); !ok {
			t.Errorf("login node %d: the replica that took over does not listen", li)
		}
		if _, ok := a.driver.Listening(cl.Nodes[i].ID); ok {
			t.Errorf("login node %d: the stopped replica still listens", li)
		}
	}
}

// labeledVisual counts the clusters labeled with the sim visual driver
// (core.LabelVisual).
func labeledVisual(t *testing.T, st core.Store) int {
	t.Helper()
	var n int
	err := st.View(context.Background(), func(tx core.Tx) (err error) {
		n, err = tx.CountDocs(context.Background(), core.Query{Kind: core.ClusterKind,
			Labels: []core.LabelMatch{{Name: core.LabelVisual, Values: []string{"sim"}}}})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// indexedAt returns when the cluster index was last built, zero when
// never.
func indexedAt(t *testing.T, st core.Store) time.Time {
	t.Helper()
	var m struct{ At time.Time }
	err := st.View(context.Background(), func(tx core.Tx) error {
		d, err := tx.GetDoc(context.Background(), "ehpc.index", "clusters-indexed")
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		return json.Unmarshal(d.Body, &m)
	})
	if err != nil {
		t.Fatal(err)
	}
	return m.At
}

// A store written by a latchkey older than the cluster index: its
// clusters carry no core.LabelVisual, there are no login address
// documents and no index marker. The first start puts every cluster
// again, so the follow, which lists only labeled clusters, serves them,
// and a new cluster does not get an older one's address; it records the
// marker, and a later start does not index again.
func TestEHPCReindexesAnOlderStore(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	st := f.cfg.Store
	old := f.replica(t)
	f.ehpc = old.ehpc
	cl := f.create(t, 2)
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	old.stop()
	err := st.Update(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: core.ClusterKind})
		if err != nil {
			return err
		}
		for _, d := range docs {
			d.Labels = slices.DeleteFunc(d.Labels, func(l core.Label) bool { return l.Name == core.LabelVisual })
			if err := tx.PutDoc(ctx, d); err != nil {
				return err
			}
		}
		taken, err := tx.ListDocs(ctx, core.Query{Kind: "ehpc.login-address"})
		if err != nil {
			return err
		}
		for _, d := range taken {
			if err := tx.DeleteDoc(ctx, d.Kind, d.Key); err != nil {
				return err
			}
		}
		for _, key := range []string{"clusters-indexed", "login-pool", "visual-version"} {
			if err := tx.DeleteDoc(ctx, "ehpc.index", key); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := labeledVisual(t, st); n != 0 {
		t.Fatalf("%d clusters labeled in the older store", n)
	}

	r := f.replica(t)
	if n := labeledVisual(t, st); n != 1 {
		t.Fatalf("%d clusters labeled after the first start, want 1", n)
	}
	first := indexedAt(t, st)
	if first.IsZero() {
		t.Fatal("no index marker after the first start")
	}
	for li := range cl.LoginNodes() {
		awaitLogin(t, loginAddr(cl, li), "Abc123")
	}
	f.ehpc = r.ehpc
	if other := f.create(t, 1); slices.Contains(loginIPs(cl), loginIPs(other)[0]) {
		t.Fatalf("a cluster created after the reindex got the address %v of an older one", loginIPs(other)[0])
	}
	r.stop()

	f.clock.Add(time.Hour)
	f.replica(t)
	if at := indexedAt(t, st); !at.Equal(first) {
		t.Errorf("a later start indexed again (marker %v, first %v)", at, first)
	}
	for li := range cl.LoginNodes() {
		awaitLogin(t, loginAddr(cl, li), "Abc123")
	}
}

// awaitNotListening polls until the driver listens for node on nothing,
// with a minute's hang guard. (A listener whose service the store no
// longer has refuses every connection at once, before the follow closes
// it: only the driver tells.)
func awaitNotListening(t *testing.T, d *sim.Driver, node core.NodeID) {
	t.Helper()
	start := time.Now()
	for {
		if _, ok := d.Listening(node); !ok {
			return
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("login node %s still listens after a minute", node)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The replica serving the listeners learns of every change through the
// visual version, whatever replica made it: a service stopped and
// started again through the other replica, and a reset through it, which
// deletes the clusters with the version, close and open the listeners.
func TestEHPCListenersFollowChangesThroughTheVersion(t *testing.T) {
	f := newEHPCFixture(t, core.EHPCPasswordPolicy2025)
	ctx := context.Background()
	a := f.replica(t)
	b := f.replica(t)
	f.ehpc = b.ehpc
	cl := f.create(t, 1)
	if _, err := f.modify(cl, "root", rootPassword, "Abc123"); err != nil {
		t.Fatal(err)
	}
	awaitLogin(t, loginAddr(cl, 0), "Abc123")
	node := cl.Nodes[cl.LoginNodes()[0]].ID
	if _, err := b.ehpc.StopVisualService(ctx, f.caller, cref(cl.ID), core.VisualServiceInput{}); err != nil {
		t.Fatal(err)
	}
	awaitNotListening(t, a.driver, node)
	if _, err := b.ehpc.StartVisualService(ctx, f.caller, cref(cl.ID), core.VisualServiceInput{Port: 12017}); err != nil {
		t.Fatal(err)
	}
	moved := netip.AddrPortFrom(cl.Nodes[cl.LoginNodes()[0]].PublicIP, 12017).String()
	awaitLogin(t, moved, "Abc123")

	reg := service.NewRegistry(f.cfg, service.NewIdentity(f.cfg), service.NewAccounts(f.cfg), b.ehpc)
	if _, err := reg.Reset(ctx, f.caller.Principal); err != nil {
		t.Fatal(err)
	}
	awaitNotListening(t, a.driver, node)
}
