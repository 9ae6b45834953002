package server

import (
	"context"
	"fmt"
	"io"
	"net/netip"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
	"github.com/latchkey/latchkey/service"
)

// demoCluster is the demo fleet's E-HPC cluster as the banner shows it.
// Its passwords are shown on the first start only.
type demoCluster struct {
	ID, Name, RegionID string
	RootPassword       string
	VisualPassword     string
	// Logins are the host:port addresses of the login nodes' visual
	// services.
	Logins []string
}

// seedDemo applies the demo fleet (fleet.Demo) with fresh random
// passwords drawn from rnd, through the registry like any fleet file, and
// fills the banner's demo part with what it made and the passwords,
// which are shown this once.
func seedDemo(ctx context.Context, reg *service.Registry, ehpc *service.EHPC, creds service.Credentials, policy core.EHPCPasswordPolicy, rnd io.Reader, b *banner) error {
	pw, err := fleet.RandomDemoPasswords(rnd, policy)
	if err != nil {
		return err
	}
	f, err := fleet.Parse(fleet.Demo(pw))
	if err != nil {
		return err
	}
	res, err := reg.ApplyFleet(ctx, creds.AccountID, "latchkey-demo-seed", f)
	if err != nil {
		return err
	}
	vnc := map[string]string{"demo-web-1": pw.Web, "demo-db-1": pw.DB, "demo-legacy-1": pw.Legacy}
	for _, x := range res.Resources {
		switch core.ResourceKind(x.Kind) {
		case core.InstanceKind:
			b.demo = append(b.demo, demoInstance{ID: x.ID, Name: x.Name, RegionID: "cn-hangzhou", IoOptimized: x.Name != "demo-legacy-1", VNCPassword: vnc[x.Name]})
		case core.BCCInstanceKind:
			b.demoBCC = append(b.demoBCC, x.ID)
			b.demoBCCPassword = pw.BCC
		case core.ClusterKind:
			c, err := demoLogins(ctx, ehpc, creds, core.ClusterID(x.ID))
			if err != nil {
				return err
			}
			c.Name, c.RootPassword, c.VisualPassword = x.Name, pw.HPCRoot, pw.Visual
			b.demoCluster = c
		}
	}
	return nil
}

// demoLogins reads the demo cluster's login nodes' visual addresses.
func demoLogins(ctx context.Context, ehpc *service.EHPC, creds service.Credentials, id core.ClusterID) (*demoCluster, error) {
	caller := core.Caller{Principal: core.Principal{AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID}, RequestID: "latchkey-demo-seed"}
	nodes, err := ehpc.ListNodes(ctx, caller, core.ListNodesInput{ClusterRef: core.ClusterRef{ClusterID: id}, Role: core.RoleLogin})
	if err != nil {
		return nil, fmt.Errorf("demo cluster nodes: %w", err)
	}
	out := &demoCluster{ID: string(id), RegionID: string(nodes.Cluster.RegionID)}
	for _, n := range nodes.Nodes {
		out.Logins = append(out.Logins, netip.AddrPortFrom(n.PublicIP, uint16(nodes.Cluster.Visual.Port)).String())
	}
	return out, nil
}
