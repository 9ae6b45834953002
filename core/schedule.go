package core

import "time"

// Transition is a scheduled status change: at At the status becomes To.
type Transition[S ~string] struct {
	To S
	At time.Time
}

// Schedule is a resource's scheduled status changes, in time order. A
// resource's status advances lazily: Advance applies the changes that are
// due when the resource is read, so the state machine needs no timers and
// survives restarts. ECS and BCC instances and E-HPC clusters each hold
// one.
type Schedule[S ~string] []Transition[S]

// NewSchedule returns the changes through each status in turn, one per
// interval, the first at now.
func NewSchedule[S ~string](now time.Time, interval time.Duration, through ...S) Schedule[S] {
	var s Schedule[S]
	for n, to := range through {
		s = append(s, Transition[S]{To: to, At: now.Add(time.Duration(n) * interval)})
	}
	return s
}

// Advance removes the changes due at now and calls apply with each, in
// order; it reports whether there was one.
func (s *Schedule[S]) Advance(now time.Time, apply func(Transition[S])) bool {
	n := 0
	for n < len(*s) && !(*s)[n].At.After(now) {
		apply((*s)[n])
		n++
	}
	*s = (*s)[n:]
	if len(*s) == 0 {
		*s = nil
	}
	return n > 0
}

// DueNow makes every change due at now, which is what waiting out the
// schedule would have done; Advance then applies them all.
func (s Schedule[S]) DueNow(now time.Time) {
	for i := range s {
		s[i].At = now
	}
}

// Pending reports whether a change is still to come after now.
func (s Schedule[S]) Pending(now time.Time) bool {
	return len(s) > 0 && s[len(s)-1].At.After(now)
}

// Scheduled is a resource whose status follows a Schedule: Settle
// completes its scheduled changes (and a release in progress) at now and
// reports whether it held any, applied or not; Unsettled reports whether
// one is still to come after now. The internal API's settle and the registry's
// pending count work on any Scheduled resource.
type Scheduled interface {
	Resource
	Settle(now time.Time) bool
	Unsettled(now time.Time) bool
}
