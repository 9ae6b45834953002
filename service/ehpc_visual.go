package service

import (
	"context"
	"net/netip"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// The visual service of PRODUCT.md §3: a VNC server on every login node's
// public address and the cluster's Port, accepting connections from CidrIp
// only, whose password ModifyVisualServicePasswd sets.

// parseCIDR accepts CidrIp as a prefix ("10.0.0.0/8") or a single
// address ("203.0.113.7", meaning /32).
func parseCIDR(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// visualInput validates StartVisualService's and StopVisualService's Port
// and CidrIp.
func visualInput(in core.VisualServiceInput) (port int, cidr netip.Prefix, err error) {
	if in.Port < 0 || in.Port > 65535 {
		return 0, netip.Prefix{}, invalidParam("Port")
	}
	if in.CIDR != "" {
		var ok bool
		if cidr, ok = parseCIDR(in.CIDR); !ok {
			return 0, netip.Prefix{}, invalidParam("CidrIp")
		}
	}
	return in.Port, cidr, nil
}

// StartVisualService implements core.EHPC: every login node listens on
// its address and Port (default: as before, initially 12016) for CidrIp
// (default: as before, initially 0.0.0.0/0). The service counts as
// started when at least one login node started it; if some did not, the
// answer is PartFailure naming them.
func (s *EHPC) StartVisualService(ctx context.Context, c core.Caller, ref core.ClusterRef, in core.VisualServiceInput) (core.VisualStatus, error) {
	if err := s.prepare(ctx, c, "StartVisualService", ref.RegionID); err != nil {
		return core.VisualStatus{}, err
	}
	port, cidr, err := visualInput(in)
	if err != nil {
		return core.VisualStatus{}, err
	}
	cl, token, err := s.acquire(ctx, c, ref, "StartVisualService", requireRunning)
	if err != nil {
		return core.VisualStatus{}, err
	}
	if port != 0 {
		cl.Visual.Port = port
	}
	if cidr.IsValid() {
		cl.Visual.CIDR = cidr
	}
	settings := cl.Visual
	errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error {
		return d.StartVisual(ctx, n, pw)
	})
	outcome := combine(cl, errs)
	anyStarted := outcome == nil || core.ReasonOf(outcome) == core.ReasonPartialFailure
	s.release(ctx, c.AccountID, cl.ID, token, func(_ core.Tx, cur *core.Cluster) error {
		if anyStarted {
			user := cur.Visual.User
			cur.Visual = settings
			cur.Visual.Started, cur.Visual.User = true, user
		}
		return nil
	})
	if outcome != nil {
		return core.VisualStatus{}, outcome
	}
	return core.VisualStatus{Started: true}, nil
}

// StopVisualService implements core.EHPC. Port and CidrIp are validated
// and otherwise ignored: there is one service per cluster.
func (s *EHPC) StopVisualService(ctx context.Context, c core.Caller, ref core.ClusterRef, in core.VisualServiceInput) (core.VisualStatus, error) {
	if err := s.prepare(ctx, c, "StopVisualService", ref.RegionID); err != nil {
		return core.VisualStatus{}, err
	}
	if _, _, err := visualInput(in); err != nil {
		return core.VisualStatus{}, err
	}
	cl, token, err := s.acquire(ctx, c, ref, "StopVisualService", requireRunning)
	if err != nil {
		return core.VisualStatus{}, err
	}
	errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, _ core.Secret) error {
		return d.StopVisual(ctx, n)
	})
	outcome := combine(cl, errs)
	anyStopped := outcome == nil || core.ReasonOf(outcome) == core.ReasonPartialFailure
	s.release(ctx, c.AccountID, cl.ID, token, func(_ core.Tx, cur *core.Cluster) error {
		if anyStopped {
			cur.Visual.Started = false
		}
		return nil
	})
	if outcome != nil {
		return core.VisualStatus{}, outcome
	}
	return core.VisualStatus{Started: false}, nil
}

// GetVisualServiceStatus implements core.EHPC: started when the service
// is started and the cluster's nodes are up.
func (s *EHPC) GetVisualServiceStatus(ctx context.Context, c core.Caller, ref core.ClusterRef) (core.VisualStatus, error) {
	if err := s.prepare(ctx, c, "GetVisualServiceStatus", ref.RegionID); err != nil {
		return core.VisualStatus{}, err
	}
	cl, err := s.view(ctx, c, ref)
	if err != nil {
		return core.VisualStatus{}, err
	}
	return core.VisualStatus{Started: cl.Visual.Started && cl.Status == core.ClusterRunning}, nil
}

// ModifyVisualServicePasswd implements core.EHPC, in the order of PRODUCT.md
// §3 and seed 004's table: RAM (NotAuthorized), account state
// (NotEnabled, InDebt), parameters (InvalidParams), the cluster
// (ClusterNotFound, InvalidClusterStatus), RunasUser's credentials
// (IncorrectCredential, with the lockout), the operation lock
// (ConflictOpt), then the login nodes (AgentError, ExecFail,
// PartFailure). The credentials are checked before the lock is taken, so
// that a wrong password never blocks the cluster.
func (s *EHPC) ModifyVisualServicePasswd(ctx context.Context, c core.Caller, ref core.ClusterRef, in core.VisualPasswdInput) (core.VisualStatus, error) {
	if err := s.prepare(ctx, c, "ModifyVisualServicePasswd", ref.RegionID); err != nil {
		return core.VisualStatus{}, err
	}
	switch {
	case ref.ClusterID == "":
		return core.VisualStatus{}, invalidParam("ClusterId")
	case in.RunasUser == "":
		return core.VisualStatus{}, invalidParam("RunasUser")
	case in.RunasUserPassword.IsZero():
		return core.VisualStatus{}, invalidParam("RunasUserPassword")
	case in.Passwd.IsZero():
		return core.VisualStatus{}, invalidParam("Passwd")
	}
	policy := s.ecfg.Policy
	if err := policy.ValidateRunasUser(in.RunasUser); err != nil {
		return core.VisualStatus{}, err
	}
	if err := policy.ValidateVisualPasswd(in.Passwd); err != nil {
		return core.VisualStatus{}, err
	}

	cl, err := s.view(ctx, c, ref)
	if err != nil {
		return core.VisualStatus{}, err
	}
	if cl.Status != core.ClusterRunning {
		return core.VisualStatus{}, invalidClusterStatus()
	}
	if !s.credentialsHold(cl, in) {
		s.recordFailure(ctx, c, cl.ID, in.RunasUser)
		return core.VisualStatus{}, incorrectCredential()
	}

	checked := cl.User(in.RunasUser).Password
	cl, token, err := s.acquire(ctx, c, ref, "ModifyVisualServicePasswd", func(tx core.Tx, cur *core.Cluster) error {
		if err := requireRunning(tx, cur); err != nil {
			return err
		}
		// The user may have been locked, or its password changed, since
		// the check above.
		u := cur.User(in.RunasUser)
		if u == nil || tx.Now().Before(u.LockedUntil) || u.Password != checked {
			return incorrectCredential()
		}
		// A success does not clear the failures: the rule is five wrong
		// passwords within ten minutes, whatever happened in between.
		return nil
	})
	if err != nil {
		return core.VisualStatus{}, err
	}

	logins := cl.LoginNodes()
	sealed := make([]core.Sealed, len(logins))
	for li, i := range logins {
		if sealed[li], err = s.cfg.Sealer.Seal(in.Passwd, core.VisualPasswordContext(cl.ID, cl.Nodes[i].ID)); err != nil {
			s.release(ctx, c.AccountID, cl.ID, token, nil)
			return core.VisualStatus{}, err
		}
	}
	// The nodes need the user for VeNCrypt Plain logins: the one who set
	// the password.
	cl.Visual.User = in.RunasUser
	errs := s.fanOut(ctx, cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, _ core.Secret) error {
		return d.SetVisualPassword(ctx, n, in.Passwd)
	})
	outcome := combine(cl, errs)
	anyChanged := outcome == nil || core.ReasonOf(outcome) == core.ReasonPartialFailure
	var started bool
	recErr := s.release(ctx, c.AccountID, cl.ID, token, func(_ core.Tx, cur *core.Cluster) error {
		if anyChanged {
			for li, i := range logins {
				if errs[li] == nil && i < len(cur.Nodes) && cur.Nodes[i].ID == cl.Nodes[i].ID {
					cur.Nodes[i].VisualPassword = sealed[li]
				}
			}
			cur.Visual.User = in.RunasUser
		}
		started = cur.Visual.Started
		return nil
	})
	if recErr != nil && anyChanged {
		// The nodes took a password the store does not know: put the
		// recorded ones back, so that the store stays the truth.
		s.restoreVisual(ctx, cl)
		return core.VisualStatus{}, recErr
	}
	if outcome != nil {
		return core.VisualStatus{}, outcome
	}
	return core.VisualStatus{Started: started}, nil
}

// credentialsHold reports whether in's RunasUser exists, is not locked out
// and has RunasUserPassword. The hash is checked only for an unlocked
// user, so a locked user's answers reveal nothing about the password.
func (s *EHPC) credentialsHold(cl *core.Cluster, in core.VisualPasswdInput) bool {
	u := cl.User(in.RunasUser)
	if u == nil || u.Password == "" || s.cfg.Clock.Now().Before(u.LockedUntil) {
		return false
	}
	return s.cfg.Hasher.Verify(u.Password, in.RunasUserPassword)
}

// recordFailure counts a wrong RunasUserPassword for the user (PRODUCT.md
// §3): the fifth within failureWindow locks the user for lockDuration.
// Locking, and every attempt refused while locked, is audited. Unknown
// users are not tracked: there is nothing to lock.
func (s *EHPC) recordFailure(ctx context.Context, c core.Caller, id core.ClusterID, user string) {
	ctx = context.WithoutCancel(ctx)
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cl, err := core.Get[core.Cluster](ctx, tx, string(id))
		if err != nil {
			return err
		}
		u := cl.User(user)
		if u == nil {
			return nil
		}
		now := tx.Now()
		audit := core.AuditEvent{
			Time: now, RequestID: c.RequestID, AccountID: c.AccountID, User: c.User, AccessKeyID: c.AccessKeyID,
			SourceIP: c.SourceIP, Product: "ehpc", Action: "ModifyVisualServicePasswd",
			Resource: string(id) + "/user/" + user, Result: "IncorrectCredential",
		}
		if now.Before(u.LockedUntil) {
			audit.Detail = "RunasUser is locked after repeated wrong passwords; attempt refused"
			return tx.AppendAudit(ctx, audit)
		}
		kept := u.Failures[:0]
		for _, t := range u.Failures {
			if now.Sub(t) < failureWindow {
				kept = append(kept, t)
			}
		}
		u.Failures = append(kept, now)
		if len(u.Failures) >= maxFailures {
			u.Failures, u.LockedUntil = nil, now.Add(lockDuration)
			audit.Detail = "RunasUser locked for 10 minutes after 5 wrong passwords within 10 minutes"
			if err := tx.AppendAudit(ctx, audit); err != nil {
				return err
			}
		}
		return s.saveCluster(ctx, tx, cl)
	})
	if err != nil {
		s.cfg.Log.Error("wrong RunasUserPassword could not be recorded", "cluster", id, "err", err)
	}
}

// restoreVisual puts each login node's recorded password back after a
// change the store refused.
func (s *EHPC) restoreVisual(ctx context.Context, cl *core.Cluster) {
	errs := s.fanOut(context.WithoutCancel(ctx), cl, func(ctx context.Context, d core.VisualDriver, n core.VisualNode, pw core.Secret) error {
		return d.SetVisualPassword(ctx, n, pw)
	})
	for li, e := range errs {
		if e != nil {
			s.cfg.Log.Error("visual service and store disagree on the password", "cluster", cl.ID, "login", li, "err", e)
		}
	}
}
