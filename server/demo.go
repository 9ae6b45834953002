package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"net/netip"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
)

// demoRegion is where the demo fleet's ECS instances live (PRODUCT.md §7).
const demoRegion core.RegionID = "cn-hangzhou"

// demoECS describes the demo fleet's ECS instances: two I/O optimized, one
// not, all Running.
func demoECS() []struct {
	name        string
	ioOptimized bool
} {
	return []struct {
		name        string
		ioOptimized bool
	}{
		{"demo-web-1", true},
		{"demo-db-1", true},
		{"demo-legacy-1", false},
	}
}

// seedDemo creates the demo fleet through the services, as a client of
// the API would, so every rule applies: each instance is created (Stopped
// once its Pending interval has passed), given a random VNC password and
// started, which makes that password live on its console whether or not
// it is I/O optimized. ClientTokens make a repeated seeding create nothing
// twice.
func seedDemo(ctx context.Context, ecs *service.ECS, creds service.Credentials, rnd io.Reader, poll time.Duration) ([]demoInstance, error) {
	caller := demoCaller(creds)
	var out []demoInstance
	var ids []core.InstanceID
	for _, d := range demoECS() {
		id, err := ecs.CreateInstance(ctx, caller, core.CreateInstanceInput{
			RegionID:     demoRegion,
			InstanceType: "ecs.g7.large",
			ImageID:      "aliyun_3_x64_20G_alibase_20240819.vhd",
			Name:         d.name,
			IoOptimized:  d.ioOptimized,
			ClientToken:  "latchkey-demo-" + d.name,
		})
		if err != nil {
			return nil, fmt.Errorf("create %s: %w", d.name, err)
		}
		ids = append(ids, id)
		out = append(out, demoInstance{ID: string(id), Name: d.name, RegionID: string(demoRegion), IoOptimized: d.ioOptimized})
	}
	if err := waitStatus(ctx, ecs, caller, ids, core.StatusStopped, poll); err != nil {
		return nil, err
	}
	for i := range out {
		pw, err := demoPassword(rnd)
		if err != nil {
			return nil, err
		}
		ref := core.InstanceRef{RegionID: demoRegion, InstanceID: ids[i]}
		if err := ecs.ModifyInstanceVncPasswd(ctx, caller, ref, pw); err != nil {
			return nil, fmt.Errorf("set the VNC password of %s: %w", out[i].Name, err)
		}
		if err := ecs.StartInstance(ctx, caller, ref); err != nil {
			return nil, fmt.Errorf("start %s: %w", out[i].Name, err)
		}
		out[i].VNCPassword = pw.Reveal()
	}
	return out, nil
}

// demoCaller is the root account as the seeding's caller.
func demoCaller(creds service.Credentials) core.Caller {
	return core.Caller{
		Principal: core.Principal{AccountID: creds.AccountID, AccessKeyID: creds.AccessKeyID},
		RequestID: "latchkey-demo-seed",
	}
}

// waitStatus polls DescribeInstances until every instance of ids is in
// status want, or ctx ends.
func waitStatus(ctx context.Context, ecs *service.ECS, caller core.Caller, ids []core.InstanceID, want core.InstanceStatus, poll time.Duration) error {
	poll = max(poll, time.Millisecond)
	for {
		page, err := ecs.DescribeInstances(ctx, caller, core.DescribeInstancesInput{RegionID: demoRegion, InstanceIDs: ids, PageSize: 100})
		if err != nil {
			return err
		}
		n := 0
		for _, inst := range page.Instances {
			if inst.Status == want {
				n++
			}
		}
		if n == len(ids) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
	}
}

// demoPassword returns a random VNC password that ECS accepts: six
// characters from [A-Za-z0-9], with at least one upper-case letter, one
// lower-case letter and one digit so it reads as a password.
func demoPassword(rnd io.Reader) (core.Secret, error) {
	const (
		upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower = "abcdefghijkmnpqrstuvwxyz"
		digit = "23456789"
	)
	all := upper + lower + digit
	return pick(rnd, []string{upper, lower, digit, all, all, all})
}

// pick draws one character from each set, then shuffles them so the
// classes do not sit in fixed places.
func pick(rnd io.Reader, sets []string) (core.Secret, error) {
	b := make([]byte, len(sets))
	for i, set := range sets {
		n, err := rand.Int(rnd, big.NewInt(int64(len(set))))
		if err != nil {
			return core.Secret{}, err
		}
		b[i] = set[n.Int64()]
	}
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rnd, big.NewInt(int64(i+1)))
		if err != nil {
			return core.Secret{}, err
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return core.NewSecret(string(b)), nil
}

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

// seedDemoCluster creates the E-HPC part of the demo fleet (PRODUCT.md
// §7) through the service: a running cluster in cn-hangzhou with one
// login node whose visual service is started (RemoteVisEnable), then sets
// the visual service's password with ModifyVisualServicePasswd as root,
// under the password policy in force.
func seedDemoCluster(ctx context.Context, ehpc *service.EHPC, creds service.Credentials, policy core.EHPCPasswordPolicy, clock core.Clock, rnd io.Reader, poll time.Duration) (*demoCluster, error) {
	caller := demoCaller(creds)
	root, err := randomPassword(rnd, 12, "-")
	if err != nil {
		return nil, err
	}
	created, err := ehpc.CreateCluster(ctx, caller, core.CreateClusterInput{
		RegionID:        demoRegion,
		Name:            "demo-hpc",
		OsTag:           "CentOS_7.6_64",
		Manager:         core.NodeOrder{Count: 1, InstanceType: "ecs.g7.large"},
		Compute:         core.NodeOrder{Count: 2, InstanceType: "ecs.c7.large"},
		Login:           core.NodeOrder{Count: 1, InstanceType: "ecs.g7.large"},
		Password:        root,
		RemoteVisEnable: true,
		ClientToken:     "latchkey-demo-demo-hpc",
	})
	if err != nil {
		return nil, fmt.Errorf("create demo-hpc: %w", err)
	}
	ref := core.ClusterRef{RegionID: demoRegion, ClusterID: created.ClusterID}
	poll = max(poll, time.Millisecond)
	for {
		cl, err := ehpc.DescribeCluster(ctx, caller, ref)
		if err != nil {
			return nil, err
		}
		if cl.Status == core.ClusterRunning && !cl.Busy(clock.Now()) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(poll):
		}
	}
	visual, err := demoPassword(rnd)
	if policy == core.EHPCPasswordPolicy2024 {
		visual, err = randomPassword(rnd, 12, "-")
	}
	if err != nil {
		return nil, err
	}
	if _, err := ehpc.ModifyVisualServicePasswd(ctx, caller, ref, core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: root, Passwd: visual}); err != nil {
		return nil, fmt.Errorf("set the visual service password of demo-hpc: %w", err)
	}
	nodes, err := ehpc.ListNodes(ctx, caller, core.ListNodesInput{ClusterRef: ref, Role: core.RoleLogin})
	if err != nil {
		return nil, err
	}
	out := &demoCluster{ID: string(created.ClusterID), Name: "demo-hpc", RegionID: string(demoRegion), RootPassword: root.Reveal(), VisualPassword: visual.Reveal()}
	for _, n := range nodes.Nodes {
		out.Logins = append(out.Logins, netip.AddrPortFrom(n.PublicIP, uint16(nodes.Cluster.Visual.Port)).String())
	}
	return out, nil
}

// randomPassword returns n characters with at least one upper-case
// letter, one lower-case letter, one digit and one of specials: a
// password that every policy of three classes or more accepts.
func randomPassword(rnd io.Reader, n int, specials string) (core.Secret, error) {
	const (
		upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		lower = "abcdefghijkmnpqrstuvwxyz"
		digit = "23456789"
	)
	all := upper + lower + digit
	classes := []string{upper, lower, digit, specials}
	for len(classes) < n {
		classes = append(classes, all)
	}
	return pick(rnd, classes)
}
