package service

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
)

// EHPC is a Product: the E-HPC clusters.
var _ Product = (*EHPC)(nil)

// Name implements Product.
func (*EHPC) Name() string { return string(core.ServiceEHPC) }

// Kinds implements Product.
func (*EHPC) Kinds() []core.ResourceKind { return []core.ResourceKind{core.ClusterKind} }

// Describe implements Product.
func (*EHPC) Describe(d core.Doc, now time.Time) (Description, error) {
	return describeKind(d, func(c *core.Cluster) string { return c.Name },
		func(c *core.Cluster) string { c.Advance(now); return string(c.Status) })
}

// Settle implements Product: a cluster being released is released now;
// the next creation purges it (freeLoginAddresses).
func (s *EHPC) Settle(ctx context.Context, tx core.Tx) (int, error) {
	return settleKind(ctx, tx, s.saveCluster)
}

// Pending implements Product.
func (*EHPC) Pending(ctx context.Context, tx core.Tx) (int, error) {
	return pendingKind[core.Cluster](ctx, tx)
}

// Stop implements Product: every login node's visual service that may
// listen (core.LabelVisual) stops, through the drivers without fault
// rules (EHPCConfig.Probes).
func (s *EHPC) Stop(ctx context.Context) {
	if len(s.ecfg.Probes) == 0 {
		return
	}
	var clusters []*core.Cluster
	err := s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		clusters, err = core.List[core.Cluster](ctx, tx, visualQuery(slices.Sorted(maps.Keys(s.ecfg.Probes))))
		return err
	})
	if err != nil {
		s.cfg.Log.Warn("stop: clusters unreadable", "err", err)
		return
	}
	for _, cl := range clusters {
		d := s.ecfg.Probes[cl.Driver]
		if d == nil {
			continue
		}
		for li, i := range cl.LoginNodes() {
			if err := d.StopVisual(ctx, s.visualNode(cl, i, li)); err != nil {
				s.cfg.Log.Warn("stop: a visual service did not stop", "cluster", cl.ID, "node", cl.Nodes[i].ID, "err", err)
			}
		}
	}
}

// CheckPassword implements Product. Targets: "visual" (the default
// without User), the visual service's password on every login node (or
// on Node alone), checked by logging in where the service runs and
// against the recorded password where it does not; "user" (the default
// with User), the password of the cluster user User (root when empty).
func (s *EHPC) CheckPassword(ctx context.Context, d core.Doc, q PasswordCheck) (PasswordMatch, error) {
	cl, err := decodeDoc[core.Cluster](d)
	if err != nil {
		return PasswordMatch{}, err
	}
	target := q.Target
	if target == "" {
		target = "visual"
		if q.User != "" {
			target = "user"
		}
	}
	switch target {
	case "visual":
		return s.checkVisual(ctx, cl, q.Node, q.Password)
	case "user":
		name := q.User
		if name == "" {
			name = core.RootUser
		}
		u := cl.User(name)
		if u == nil {
			return PasswordMatch{}, &core.Error{Kind: core.KindNotFound, Field: "user", Message: "the cluster has no user " + quote(name)}
		}
		return PasswordMatch{Match: hashMatches(s.cfg.Hasher, u.Password, q.Password), Target: target}, nil
	}
	return PasswordMatch{}, badTarget(target, d.Kind)
}

// checkVisual checks pw on the cluster's login nodes (or the one named).
// It matches when every checked node matches.
func (s *EHPC) checkVisual(ctx context.Context, cl *core.Cluster, only string, pw core.Secret) (PasswordMatch, error) {
	res := PasswordMatch{Match: true, Target: "visual"}
	for li, i := range cl.LoginNodes() {
		n := cl.Nodes[i]
		if only != "" && string(n.ID) != only {
			continue
		}
		m := NodeMatch{Node: string(n.ID), Checked: "store"}
		running := cl.Visual.Started && cl.Status == core.ClusterRunning && n.PublicIP.IsValid() && cl.Visual.Port != 0
		probed := false
		if running {
			node := s.visualNode(cl, i, li)
			m.Match, probed = visualLogin(ctx, netip.AddrPortFrom(n.PublicIP, uint16(cl.Visual.Port)), node.Auth, node.PlainUser, pw)
		}
		if probed {
			m.Checked = "service"
		} else {
			m.Match = sealedMatches(s.cfg.Sealer, n.VisualPassword, core.VisualPasswordContext(cl.ID, n.ID), pw)
		}
		res.Nodes = append(res.Nodes, m)
		res.Match = res.Match && m.Match
	}
	if len(res.Nodes) == 0 {
		if only != "" {
			return PasswordMatch{}, &core.Error{Kind: core.KindNotFound, Field: "node", Message: "the cluster has no login node " + quote(only)}
		}
		return PasswordMatch{}, &core.Error{Kind: core.KindConflict, Message: "the cluster has no login node"}
	}
	return res, nil
}

// SwitchDriver points a cluster at another visual driver; the change
// reaches the nodes at the next start of the visual service.
func (s *EHPC) SwitchDriver(ctx context.Context, c core.Caller, ref core.ClusterRef, driver string) error {
	if _, ok := s.ecfg.Drivers[driver]; !ok {
		return core.Invalid(core.ReasonInvalidParameter, "driver")
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cl, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if cl.Busy(tx.Now()) {
			return conflictingOperation()
		}
		cl.Driver = driver
		return s.saveCluster(ctx, tx, cl)
	})
}

// findByName returns the account's live cluster of that name, advanced
// to now; nil when there is none.
func (s *EHPC) findByName(ctx context.Context, account core.AccountID, name string) (*core.Cluster, error) {
	return findNamed(ctx, s.cfg.Store, core.Query{Kind: core.ClusterKind, Account: account, Labels: named(name)},
		func(cl *core.Cluster) bool { return cl.Name == name && cl.ReleaseAt.IsZero() })
}

// Apply implements Product: the account's clusters.
func (s *EHPC) Apply(ap *Apply, account core.AccountID, fa *fleet.Account) error {
	for _, f := range fa.EHPC {
		if err := s.applyCluster(ap, account, f); err != nil {
			return err
		}
	}
	return nil
}

// applyCluster applies one cluster. Its users, visual service and visual
// password need a running cluster: a stopped one is started for a change
// and stopped again after, as the file asks.
func (s *EHPC) applyCluster(ap *Apply, account core.AccountID, f fleet.Cluster) error {
	if f.Driver != "" && s.ecfg.Drivers[f.Driver] == nil {
		return noDriver("ehpc "+f.Name, "visual", f.Driver)
	}
	ctx, c := ap.Context(), ap.Caller(account)
	x := Applied{Kind: string(core.ClusterKind), Name: f.Name, Account: string(account), Action: "unchanged"}
	step := func(what string, do func() error) error { return ap.Step(account, "ehpc "+f.Name+" "+what, do) }
	root := core.NewSecret(f.RootPassword)
	visualStarted := f.Visual == nil || f.Visual.Started == nil || *f.Visual.Started
	cl, err := s.findByName(ctx, account, f.Name)
	if err != nil {
		return err
	}
	if cl == nil {
		err := step("create", func() error {
			_, err := s.CreateCluster(ctx, c, core.CreateClusterInput{
				RegionID: core.RegionID(f.Region), ZoneID: core.ZoneID(f.Zone), Name: f.Name, OsTag: f.OsTag,
				Manager:  core.NodeOrder{Count: 1, InstanceType: f.InstanceType},
				Compute:  core.NodeOrder{Count: f.ComputeNodes, InstanceType: f.InstanceType},
				Login:    core.NodeOrder{Count: f.LoginNodes, InstanceType: f.InstanceType},
				Password: root, RemoteVisEnable: visualStarted,
			})
			return err
		})
		if err != nil {
			return err
		}
		x.Action = "created"
		if cl, err = s.findByName(ctx, account, f.Name); err != nil || cl == nil {
			return vanished("cluster", err)
		}
	} else {
		switch {
		case string(cl.RegionID) != f.Region:
			return immutable("ehpc", f.Name, "region")
		case len(cl.LoginNodes()) != f.LoginNodes:
			return immutable("ehpc", f.Name, "login_nodes")
		case cl.Compute.Count != f.ComputeNodes:
			return immutable("ehpc", f.Name, "compute_nodes")
		}
	}
	x.ID = string(cl.ID)
	initial := cl.Status
	ref := core.ClusterRef{RegionID: cl.RegionID, ClusterID: cl.ID}
	if f.Driver != "" && cl.Driver != f.Driver {
		if err := step("driver", func() error { return s.SwitchDriver(ctx, c, ref, f.Driver) }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "driver")
	}

	// What differs, decided before anything is changed.
	var add []core.NewClusterUser
	var modify []core.UserPassword
	var userChanges []string
	if u := cl.User(core.RootUser); u == nil || !hashMatches(s.cfg.Hasher, u.Password, root) {
		modify = append(modify, core.UserPassword{Name: core.RootUser, Password: root})
		userChanges = append(userChanges, "root_password")
	}
	for _, fu := range f.Users {
		pw := core.NewSecret(fu.Password)
		switch u := cl.User(fu.Name); {
		case u == nil:
			add = append(add, core.NewClusterUser{Name: fu.Name, Group: fu.Group, Password: pw})
			userChanges = append(userChanges, "users."+fu.Name)
		case !hashMatches(s.cfg.Hasher, u.Password, pw):
			modify = append(modify, core.UserPassword{Name: fu.Name, Password: pw})
			userChanges = append(userChanges, "users."+fu.Name+".password")
		}
	}
	port, cidr := cl.Visual.Port, cl.Visual.CIDR
	if v := f.Visual; v != nil {
		if v.Port != 0 {
			port = v.Port
		}
		if v.CIDR != "" {
			cidr = fleet.ParsePrefix(v.CIDR)
		}
	}
	startVisual := visualStarted && (!cl.Visual.Started || port != cl.Visual.Port || cidr != cl.Visual.CIDR)
	stopVisual := !visualStarted && cl.Visual.Started
	var newVisual core.Secret
	if f.Visual != nil && f.Visual.Password != "" {
		pw := core.NewSecret(f.Visual.Password)
		for _, i := range cl.LoginNodes() {
			n := cl.Nodes[i]
			if !sealedMatches(s.cfg.Sealer, n.VisualPassword, core.VisualPasswordContext(cl.ID, n.ID), pw) {
				newVisual = pw
			}
		}
	}
	needRunning := len(add) > 0 || len(modify) > 0 || startVisual || stopVisual || !newVisual.IsZero()

	if (needRunning || f.Status == string(core.ClusterRunning)) && cl.Status != core.ClusterRunning {
		if err := step("start", func() error { _, err := s.StartCluster(ctx, c, ref); return err }); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		if err := step("users", func() error { return s.AddUsers(ctx, c, ref, add) }); err != nil {
			return err
		}
	}
	if len(modify) > 0 {
		if err := step("users", func() error { return s.ModifyUserPasswords(ctx, c, ref, modify) }); err != nil {
			return err
		}
	}
	x.Changes = append(x.Changes, userChanges...)
	if startVisual {
		in := core.VisualServiceInput{Port: port, CIDR: cidr.String()}
		if err := step("visual", func() error { _, err := s.StartVisualService(ctx, c, ref, in); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual")
	}
	if stopVisual {
		if err := step("visual", func() error { _, err := s.StopVisualService(ctx, c, ref, core.VisualServiceInput{}); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual")
	}
	if !newVisual.IsZero() {
		in := core.VisualPasswdInput{RunasUser: core.RootUser, RunasUserPassword: root, Passwd: newVisual}
		if err := step("visual.password", func() error { _, err := s.ModifyVisualServicePasswd(ctx, c, ref, in); return err }); err != nil {
			return err
		}
		x.Changes = append(x.Changes, "visual.password")
	}
	if f.Status == string(core.ClusterStopped) {
		if cl, err = s.findByName(ctx, account, f.Name); err != nil {
			return err
		}
		if cl.Status != core.ClusterStopped {
			if err := step("stop", func() error { _, err := s.StopCluster(ctx, c, ref); return err }); err != nil {
				return err
			}
		}
	}
	if string(initial) != f.Status {
		x.Changes = append(x.Changes, "status")
	}
	finish(&x)
	ap.Record(x)
	return nil
}

// FindPart returns the cluster one of whose nodes has that id, found by
// its node label (core.LabelNode).
func (*EHPC) FindPart(ctx context.Context, tx core.Tx, id string) (core.Doc, bool, error) {
	docs, err := tx.ListDocs(ctx, core.Query{Kind: core.ClusterKind, Labels: []core.LabelMatch{{Name: core.LabelNode, Values: []string{id}}}, Limit: 1})
	if err != nil || len(docs) == 0 {
		return core.Doc{}, false, err
	}
	return docs[0], true, nil
}

// Labels implements labeler.
func (*EHPC) Labels(d core.Doc) ([]core.Label, error) {
	return labelsOf[core.Cluster](d)
}
