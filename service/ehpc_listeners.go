package service

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Visual drivers whose services are listeners inside latchkey (sim) are
// served by exactly one live replica at a time: the holder of the store
// lease visualLease (core.Locker). The holder listens on every started
// login node's address and port, both from the store, so a replica that
// takes the listeners over serves them where the last one did; every
// connection and login asks the store for the node's password and
// settings (LiveVisual), so a change through any replica is live at once.
// The holder follows what other replicas change (services started,
// stopped, moved; clusters stopped or deleted) by reading the store every
// FollowEvery; the others try to take the lease as often, and PostgreSQL
// frees it when its holder's session ends, so a replica that dies is
// replaced within about FollowEvery. On SQLite the single process holds
// it from its start. A pass reads only the clusters of local drivers
// (core.LabelVisual), and only when something may have changed (see the
// follow's contract below).

// visualLease names the lease of the in-process visual listeners.
const visualLease = "ehpc.visual-listeners"

// defaultFollowEvery is EHPCConfig.FollowEvery's default.
const defaultFollowEvery = time.Second

// LocalVisualDriver is a visual driver whose services are listeners
// inside this process, served only by the replica holding the lease.
type LocalVisualDriver interface {
	core.VisualDriver
	// ServeFrom makes the driver take every node's password and settings
	// from src at each connection, and leaves it inactive.
	ServeFrom(src core.VisualServices)
	// SetActive starts (true) or ends (false) the driver's serving: an
	// inactive driver accepts calls and changes nothing.
	SetActive(active bool)
	// Serving returns the nodes whose services listen.
	Serving() []core.VisualNode
}

// localDrivers returns the drivers (without fault rules) whose listeners
// live in this process.
func (s *EHPC) localDrivers() map[string]LocalVisualDriver {
	out := map[string]LocalVisualDriver{}
	for name, d := range s.ecfg.Probes {
		if ld, ok := d.(LocalVisualDriver); ok {
			out[name] = ld
		}
	}
	return out
}

// listening reports whether the cluster's visual service listens: it is
// started and the cluster is up or coming up.
func listening(cl *core.Cluster, now time.Time) bool {
	return !cl.Released(now) && cl.ReleaseAt.IsZero() && cl.Visual.Started &&
		slices.Contains([]core.ClusterStatus{core.ClusterCreating, core.ClusterRunning, core.ClusterStarting}, cl.Status)
}

// LiveVisual implements core.VisualServices from the store.
func (s *EHPC) LiveVisual(ctx context.Context, cluster core.ClusterID, node core.NodeID) (core.VisualNode, core.Secret, error) {
	var cl *core.Cluster
	var now time.Time
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		cl, err = core.Get[core.Cluster](ctx, tx, string(cluster))
		now = tx.Now()
		return err
	})
	if err != nil {
		return core.VisualNode{}, core.Secret{}, err
	}
	cl.Advance(now)
	gone := &core.Error{Kind: core.KindNotFound, Message: "the visual service is not started on this node"}
	if !listening(cl, now) {
		return core.VisualNode{}, core.Secret{}, gone
	}
	for li, i := range cl.LoginNodes() {
		if cl.Nodes[i].ID != node {
			continue
		}
		pw, err := s.cfg.Sealer.Open(cl.Nodes[i].VisualPassword, core.VisualPasswordContext(cl.ID, node))
		if err != nil {
			return core.VisualNode{}, core.Secret{}, err
		}
		return s.visualNode(cl, i, li), pw, nil
	}
	return core.VisualNode{}, core.Secret{}, gone
}

// takeListeners tries to take the lease once; when it does, the local
// drivers become active, and the next follow pass reads every cluster
// they serve. It returns the lease, or nil when another replica holds it.
func (s *EHPC) takeListeners(ctx context.Context) core.Lease {
	lease, err := s.cfg.Store.TryLease(ctx, visualLease)
	if err != nil {
		s.cfg.Log.Warn("the visual listeners' lease could not be asked for", "err", err)
		return nil
	}
	if lease == nil {
		return nil
	}
	for _, d := range s.localDrivers() {
		d.SetActive(true)
	}
	s.unsync()
	s.cfg.Log.Info("this replica serves the sim visual services")
	return lease
}

// dropListeners ends the local drivers' serving after the lease was lost:
// another replica may hold it already.
func (s *EHPC) dropListeners() {
	for _, d := range s.localDrivers() {
		d.SetActive(false)
	}
	s.unsync()
	s.cfg.Log.Warn("this replica no longer serves the sim visual services (lease lost)")
}

// FollowVisual runs until ctx ends. It waits for ready to close (the
// server reports ready: start-up does not wait for listeners), then
// makes its first pass at once and one every FollowEvery: while this
// replica holds the listeners' lease it brings the local drivers'
// listeners to what the store holds (follow); while another one holds
// it, it tries to take it. It starts from the lease Reconcile took, if
// any. At the end the listeners close and the lease is released, so
// another replica takes over at once.
func (s *EHPC) FollowVisual(ctx context.Context, ready <-chan struct{}) {
	if len(s.localDrivers()) == 0 {
		return
	}
	s.listeners.mu.Lock()
	lease := s.listeners.lease
	s.listeners.lease = nil
	s.listeners.mu.Unlock()
	defer func() {
		if lease != nil {
			for _, d := range s.localDrivers() {
				d.SetActive(false)
			}
			lease.Release()
		}
	}()
	select {
	case <-ctx.Done():
		return
	case <-ready:
	}
	pass := func() {
		if lease != nil {
			select {
			case <-lease.Lost():
				s.dropListeners()
				lease = nil
			default:
			}
		}
		if lease == nil {
			lease = s.takeListeners(ctx)
		}
		if lease != nil {
			s.follow(ctx)
		}
	}
	pass()
	t := time.NewTicker(s.ecfg.FollowEvery)
	defer t.Stop()
	for {
		var lost <-chan struct{}
		if lease != nil {
			lost = lease.Lost()
		}
		select {
		case <-ctx.Done():
			return
		case <-lost:
			s.dropListeners()
			lease = nil
		case <-t.C:
			pass()
		}
	}
}

// noteStart logs a listener that did not start, once until it starts:
// while one is failing, every follow pass reads the clusters again and
// tries it again.
func (s *EHPC) noteStart(cluster core.ClusterID, node core.NodeID, err error) {
	s.listeners.mu.Lock()
	defer s.listeners.mu.Unlock()
	if err == nil {
		delete(s.listeners.failing, node)
		return
	}
	if s.listeners.failing[node] {
		return
	}
	if s.listeners.failing == nil {
		s.listeners.failing = make(map[core.NodeID]bool)
	}
	s.listeners.failing[node] = true
	s.cfg.Log.Warn("visual service did not start; trying again while the store has it started", "cluster", cluster, "node", node, "err", err)
}

// The follow's contract. A full pass (followStore) reads, in one View,
// the visual version and the clusters labeled with a local driver
// (core.LabelVisual), and makes the listeners what they say. The
// listeners it leaves stay right until one of these happens, and each
// makes the next pass a full one:
//   - the visual version changes: every Update that changes whether a
//     cluster listens, or where (driver, address, port), changes it
//     (saveCluster, purgeCluster), and a reset deletes it;
//   - the time comes at which a labeled cluster's schedule changes
//     whether it listens (nextListenChange): status changes with time,
//     with no Update;
//   - the last full pass found a labeled cluster busy (an operation's
//     lock, which ends with the operation's last Update or with time),
//     or a listener that did not start;
//   - the lease was taken or lost (unsync).
// Otherwise a pass reads the visual version alone. Password and CIDR
// changes need no pass: the listeners ask the store at every connection.

// unsync makes the next follow pass a full one.
func (s *EHPC) unsync() {
	s.listeners.mu.Lock()
	s.listeners.synced = false
	s.listeners.mu.Unlock()
}

// follow makes one pass while this replica holds the lease: a full one
// unless the last one still holds (upToDate).
func (s *EHPC) follow(ctx context.Context) {
	if !s.upToDate(ctx) {
		s.followStore(ctx)
	}
}

// upToDate reports whether the listeners the last full pass left are
// still what the store says, reading the visual version alone (see the
// follow's contract).
func (s *EHPC) upToDate(ctx context.Context) bool {
	s.listeners.mu.Lock()
	synced, seen, due, again := s.listeners.synced, s.listeners.seen, s.listeners.due, s.listeners.again || len(s.listeners.failing) > 0
	s.listeners.mu.Unlock()
	if !synced || again {
		return false
	}
	var v visualVersion
	var now time.Time
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		v, err = readVisualVersion(ctx, tx)
		now = tx.Now()
		return err
	})
	return err == nil && v == seen && (due.IsZero() || now.Before(due))
}

// visualQuery selects the clusters labeled with one of the drivers.
func visualQuery(drivers []string) core.Query {
	return core.Query{Kind: core.ClusterKind, Labels: []core.LabelMatch{{Name: core.LabelVisual, Values: drivers}}}
}

// followStore starts the listeners of every started service of a local
// driver, and stops those whose service the store no longer has. A
// cluster under an operation is left alone: the operation's replica
// changes its nodes and then the store. It records what the follow's
// contract needs to skip the passes that would change nothing.
func (s *EHPC) followStore(ctx context.Context) {
	locals := s.localDrivers()
	var clusters []*core.Cluster
	var now time.Time
	var v visualVersion
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		if v, err = readVisualVersion(ctx, tx); err != nil {
			return err
		}
		clusters, err = core.List[core.Cluster](ctx, tx, visualQuery(slices.Sorted(maps.Keys(locals))))
		now = tx.Now()
		return err
	})
	if err != nil {
		s.cfg.Log.Warn("visual services: clusters unreadable", "err", err)
		return
	}
	keep := map[core.NodeID]bool{}
	var due time.Time
	again := false
	for _, cl := range clusters {
		d := locals[cl.Driver]
		if d == nil {
			continue
		}
		if t := nextListenChange(cl, now); !t.IsZero() && (due.IsZero() || t.Before(due)) {
			due = t
		}
		cl.Advance(now)
		busy := cl.Busy(now)
		again = again || busy
		on := listening(cl, now)
		for li, i := range cl.LoginNodes() {
			n := cl.Nodes[i]
			keep[n.ID] = busy || on
			if busy || !on {
				continue
			}
			pw, err := s.cfg.Sealer.Open(n.VisualPassword, core.VisualPasswordContext(cl.ID, n.ID))
			if err == nil {
				err = d.StartVisual(ctx, s.visualNode(cl, i, li), pw)
			}
			s.noteStart(cl.ID, n.ID, err)
		}
	}
	s.listeners.mu.Lock()
	for id := range s.listeners.failing {
		if !keep[id] {
			delete(s.listeners.failing, id)
		}
	}
	s.listeners.synced, s.listeners.seen, s.listeners.due, s.listeners.again = true, v, due, again
	s.listeners.mu.Unlock()
	for _, d := range locals {
		for _, n := range d.Serving() {
			if !keep[n.NodeID] {
				if err := d.StopVisual(ctx, n); err != nil {
					s.cfg.Log.Warn("visual service did not stop", "cluster", n.ClusterID, "node", n.NodeID, "err", err)
				}
			}
		}
	}
}
