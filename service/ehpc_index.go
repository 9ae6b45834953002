package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/latchkey/latchkey/core"
)

// What lets E-HPC's background work read only what it needs, whatever
// the size of the fleet:
//   - core.LabelVisual on each cluster whose visual service may listen
//     (core.Cluster.Labels), so the visual follow, Stop and the remote
//     drivers' reconcile list only those clusters;
//   - the visual version (visualVersion), which saveCluster and
//     purgeCluster change in the Update that changes what a listener
//     serves, so a follow pass with nothing to do reads one document;
//   - one document per taken login address and the pool of free ones
//     (ehpc_addresses.go), so a creation finds free addresses by key;
//   - the index marker (indexMarker), the version of this index the
//     stored clusters were last put under: a store written by an older
//     latchkey has its clusters put again once, at start (reindex).
//
// Every write of a cluster goes through saveCluster and every removal
// through purgeCluster, in the Update that makes the change.

// ehpcIndexKind is the store kind of the index's own documents.
const ehpcIndexKind core.ResourceKind = "ehpc.index"

// clusterIndexVersion is the version of what Cluster.Labels and
// saveCluster store beside a cluster; raising it makes the next start
// put every cluster again.
// Version 1: core.LabelVisual; 2: core.LabelReleased and the login
// address documents; 3: core.LabelNode.
const clusterIndexVersion = 3

// visualVersion changes whenever a listener-relevant field of a cluster
// changes (listenKey). Epoch is chosen when the document is created, so
// a version a follower saw is never seen again after a reset deleted the
// document and a new one counted up from zero.
type visualVersion struct {
	Epoch string
	N     int64
}

func (*visualVersion) Kind() core.ResourceKind { return ehpcIndexKind }
func (*visualVersion) Key() string             { return "visual-version" }
func (*visualVersion) Owner() core.AccountID   { return "" }
func (*visualVersion) Location() core.RegionID { return "" }

// indexMarker records that every stored cluster was put under Version
// of the index.
type indexMarker struct {
	Version int
	At      time.Time
}

func (*indexMarker) Kind() core.ResourceKind { return ehpcIndexKind }
func (*indexMarker) Key() string             { return "clusters-indexed" }
func (*indexMarker) Owner() core.AccountID   { return "" }
func (*indexMarker) Location() core.RegionID { return "" }

// readVisualVersion returns the visual version; the zero version when
// none was ever written (or a reset deleted it).
func readVisualVersion(ctx context.Context, tx core.Tx) (visualVersion, error) {
	v, err := core.Get[visualVersion](ctx, tx, (*visualVersion)(nil).Key())
	if core.KindOf(err) == core.KindNotFound {
		return visualVersion{}, nil
	}
	if err != nil {
		return visualVersion{}, err
	}
	return *v, nil
}

// bumpVisual changes the visual version in tx.
func (s *EHPC) bumpVisual(ctx context.Context, tx core.Tx) error {
	v, err := readVisualVersion(ctx, tx)
	if err != nil {
		return err
	}
	if v.Epoch == "" {
		if v.Epoch, err = randomToken(s.cfg.Rand, 8); err != nil {
			return err
		}
	}
	v.N++
	return core.Put(ctx, tx, &v)
}

// listensAt reports whether cl's visual service listens at t, its
// schedule applied up to t; cl itself is left as it is.
func listensAt(cl *core.Cluster, t time.Time) bool {
	c := *cl
	c.Advance(t)
	return listening(&c, t)
}

// listenKey is what a listener of cl serves at now, as the follow sees
// it: nothing when its service does not listen, else its driver and each
// login node's address and port. Passwords and CIDR are not in it: the
// listeners ask the store for them at every connection (LiveVisual).
func listenKey(cl *core.Cluster, now time.Time) string {
	if cl == nil || !listensAt(cl, now) {
		return ""
	}
	var b strings.Builder
	b.WriteString(cl.Driver)
	for _, i := range cl.LoginNodes() {
		fmt.Fprintf(&b, " %s=%s:%d", cl.Nodes[i].ID, cl.Nodes[i].PublicIP, cl.Visual.Port)
	}
	return b.String()
}

// nextListenChange returns the first time after now at which cl's
// schedule changes whether its service listens, zero when none does.
// (With today's statuses none does: creating, starting and running all
// listen, stopping and stopped do not. The follow relies on this
// function, not on that fact.)
func nextListenChange(cl *core.Cluster, now time.Time) time.Time {
	on := listensAt(cl, now)
	for _, st := range cl.Steps {
		if st.At.After(now) && listensAt(cl, st.At) != on {
			return st.At
		}
	}
	return time.Time{}
}

// saveCluster stores cl in tx, and changes the visual version when what
// its listeners serve changed.
func (s *EHPC) saveCluster(ctx context.Context, tx core.Tx, cl *core.Cluster) error {
	prev, err := core.Get[core.Cluster](ctx, tx, string(cl.ID))
	if err != nil && core.KindOf(err) != core.KindNotFound {
		return err
	}
	if err := core.Put(ctx, tx, cl); err != nil {
		return err
	}
	if err := s.noteAddresses(ctx, tx, prev, cl); err != nil {
		return err
	}
	return s.noteListeners(ctx, tx, prev, cl)
}

// purgeCluster removes cl from the store in tx with its login
// addresses, and changes the visual version when it still listened.
func (s *EHPC) purgeCluster(ctx context.Context, tx core.Tx, cl *core.Cluster) error {
	if err := core.Delete(ctx, tx, cl); err != nil {
		return err
	}
	if err := s.noteAddresses(ctx, tx, cl, nil); err != nil {
		return err
	}
	return s.noteListeners(ctx, tx, cl, nil)
}

// noteListeners changes the visual version when prev (the stored
// cluster, nil when new) and next (nil when gone) serve differently.
func (s *EHPC) noteListeners(ctx context.Context, tx core.Tx, prev, next *core.Cluster) error {
	now := tx.Now()
	if listenKey(prev, now) == listenKey(next, now) {
		return nil
	}
	return s.bumpVisual(ctx, tx)
}

// reindexBatch bounds the clusters one transaction of reindex puts.
const reindexBatch = 500

// reindex puts every cluster again, in batches, when the index marker is
// older than clusterIndexVersion (a store written by an older latchkey),
// then records the marker and changes the visual version. It returns how
// many clusters it put. This is a one-off cost at the first start after
// an upgrade, paid before readiness, linear in the fleet; every later
// start reads the marker alone.
func (s *EHPC) reindex(ctx context.Context) (int, error) {
	var done bool
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		m, err := core.Get[indexMarker](ctx, tx, (*indexMarker)(nil).Key())
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		done = err == nil && m.Version >= clusterIndexVersion
		return err
	})
	if err != nil || done {
		return 0, err
	}
	total := 0
	var after int64
	for {
		var n int
		var last int64
		err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
			list, err := core.ListSeq[core.Cluster](ctx, tx, core.Query{AfterSeq: after, Limit: reindexBatch})
			if err != nil {
				return err
			}
			n = len(list)
			for _, l := range list {
				if err := core.Put(ctx, tx, l.V); err != nil {
					return err
				}
				if err := s.noteAddresses(ctx, tx, nil, l.V); err != nil {
					return err
				}
				last = l.Seq
			}
			if n < reindexBatch {
				if err := core.Put(ctx, tx, &indexMarker{Version: clusterIndexVersion, At: tx.Now()}); err != nil {
					return err
				}
				return s.bumpVisual(ctx, tx)
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total, after = total+n, last
		if n < reindexBatch {
			return total, nil
		}
	}
}
