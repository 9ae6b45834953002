package core

import (
	"strconv"
	"time"
)

// The labels latchkey's listed resources carry (see Labeled), shared by
// the products that list them.
const (
	// LabelLive holds "1" while a resource is listed at all: an ECS
	// instance not being released, an E-HPC cluster until its release.
	LabelLive = "live"
	// LabelPending holds "1" while a resource has a scheduled change to
	// come (Scheduled.Unsettled), so settling and counting them reads
	// only those.
	LabelPending = "pending"
	LabelStatus  = "status"
	LabelName    = "name"
	LabelZone    = "zone"
	LabelIO      = "io_optimized"
	LabelIP      = "ip"
	LabelPayment = "payment"
	// LabelVisual holds the name of an E-HPC cluster's visual driver
	// while its visual service may listen (see Cluster.Labels).
	LabelVisual = "visual"
	// LabelReleased holds "1" on an E-HPC cluster from the end of its
	// release, until it is purged.
	LabelReleased = "released"
	// LabelNode holds the id of each of an E-HPC cluster's nodes, until
	// the cluster is purged.
	LabelNode = "node"
)

// scheduleLabels returns the labels name of a status that becomes each
// step's To at its At, from status now: one label per interval.
func scheduleLabels[S ~string](name string, status S, steps Schedule[S]) []Label {
	out := make([]Label, 0, len(steps)+1)
	var from time.Time
	for _, st := range steps {
		out = append(out, Label{Name: name, Value: string(status), From: from, Until: st.At})
		status, from = st.To, st.At
	}
	return append(out, Label{Name: name, Value: string(status), From: from})
}

// pendingLabel returns LabelPending until the last of the times, or
// nothing when every one is zero.
func pendingLabel(times ...time.Time) []Label {
	var until time.Time
	for _, t := range times {
		if t.After(until) {
			until = t
		}
	}
	if until.IsZero() {
		return nil
	}
	return []Label{{Name: LabelPending, Value: "1", Until: until}}
}

// lastAt is the time of a schedule's last step, zero when it has none.
func lastAt[S ~string](s Schedule[S]) time.Time {
	if len(s) == 0 {
		return time.Time{}
	}
	return s[len(s)-1].At
}

// Labels implements Labeled: while it is not being released, an instance
// is live, and listed by name, zone, I/O optimization and status
// (DescribeInstances' filters).
func (i *Instance) Labels() []Label {
	out := pendingLabel(lastAt(i.Steps), i.ReleaseAt)
	if !i.ReleaseAt.IsZero() {
		return out
	}
	out = append(out,
		Label{Name: LabelLive, Value: "1"},
		Label{Name: LabelName, Value: i.Name},
		Label{Name: LabelZone, Value: string(i.ZoneID)},
		Label{Name: LabelIO, Value: strconv.FormatBool(i.IoOptimized)})
	return append(out, scheduleLabels(LabelStatus, i.Status, i.Steps)...)
}

// Labels implements Labeled: a cluster is live, and found by name, until
// its release ends, and released from then on; it is found by the id of
// each of its nodes until it is purged. It carries LabelVisual, its driver's name, while its
// visual service is started and no release is under way (whatever its
// status: the listeners' follow decides from the status), and while an
// operation holds it, until the lock's end: the operation may be
// starting the service on its nodes before the store records it.
func (c *Cluster) Labels() []Label {
	out := pendingLabel(lastAt(c.Steps), c.ReleaseAt)
	out = append(out, Label{Name: LabelLive, Value: "1", Until: c.ReleaseAt},
		Label{Name: LabelName, Value: c.Name, Until: c.ReleaseAt})
	if !c.ReleaseAt.IsZero() {
		out = append(out, Label{Name: LabelReleased, Value: "1", From: c.ReleaseAt})
	}
	switch {
	case c.Visual.Started && c.ReleaseAt.IsZero():
		out = append(out, Label{Name: LabelVisual, Value: c.Driver})
	case c.Lock != nil:
		out = append(out, Label{Name: LabelVisual, Value: c.Driver, Until: c.Lock.Until})
	}
	for _, n := range c.Nodes {
		out = append(out, Label{Name: LabelNode, Value: string(n.ID)})
	}
	return out
}

// Labels implements Labeled: an instance is listed by name, zone, status,
// internal IP and payment timing (ListInstances' filters).
func (i *BCCInstance) Labels() []Label {
	out := append(pendingLabel(lastAt(i.Steps)),
		Label{Name: LabelName, Value: i.Name},
		Label{Name: LabelZone, Value: i.ZoneName},
		Label{Name: LabelIP, Value: i.InternalIP},
		Label{Name: LabelPayment, Value: i.PaymentTiming})
	return append(out, scheduleLabels(LabelStatus, i.Status, i.Steps)...)
}

var (
	_ Labeled = (*Instance)(nil)
	_ Labeled = (*Cluster)(nil)
	_ Labeled = (*BCCInstance)(nil)
)
