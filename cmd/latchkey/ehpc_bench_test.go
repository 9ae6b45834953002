package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/server"
)

// BenchmarkEHPCFleet measures start-to-ready of the real binary on one
// SQLite server holding 100 or 10,000 E-HPC clusters (two login nodes
// each; ehpcListening of them with the sim visual service started, the
// rest stopped). first-start-ms is the first start on the seeded store,
// which carries no index marker, as a store an older latchkey wrote: it
// includes the one-off reindex of every cluster. restart-ms is the
// median of the later starts (one per round), which read the marker
// alone. Run with a fixed round count, e.g.
//
//	go test ./cmd/latchkey -run '^$' -bench EHPCFleet -benchtime 5x
//
// The clusters are written straight into the store while latchkey is
// stopped, as running clusters of the root account in cn-hangzhou.
func BenchmarkEHPCFleet(b *testing.B) {
	bin := buildLatchkey(b)
	for _, n := range []int{100, 10_000} {
		b.Run(fmt.Sprintf("clusters=%d", n), func(b *testing.B) { benchEHPCFleet(b, bin, n) })
	}
}

// ehpcListening is how many seeded clusters have their visual service
// started: the sim listeners start after ready, one per login node.
const ehpcListening = 10

func benchEHPCFleet(b *testing.B, bin string, n int) {
	dir := filepath.Join(b.TempDir(), "data")
	logins := netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(32 + rand.IntN(200)), 0, 0}), 16)
	start := func() (time.Duration, func()) {
		started := time.Now()
		stop := startEHPCProcess(b, bin, dir, logins)
		return time.Since(started), stop
	}
	_, stop := start()
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		b.Fatal(err)
	}
	stop()
	seedClusters(b, dir, core.AccountID(creds.AccountID), logins, n)

	first, stop := start()
	stop()
	var restarts []time.Duration
	for b.Loop() {
		d, stop := start()
		restarts = append(restarts, d)
		stop()
	}
	b.StopTimer()
	// Reported after the loop: b.Loop's first call resets the metrics.
	b.ReportMetric(float64(first.Microseconds())/1000, "first-start-ms")
	b.ReportMetric(quantileMS(restarts, 0.50), "restart-ms")
	b.ReportMetric(0, "ns/op") // the start times above say it
}

// startEHPCProcess starts bin serving dir with login nodes in logins,
// waits until it is ready, and returns the function that ends it with
// SIGTERM and waits for it.
func startEHPCProcess(b *testing.B, bin, dir string, logins netip.Prefix) func() {
	_, _, stop := startProcess(b, bin, dir, "--ehpc-login-addresses", logins.String())
	return stop
}

// seedClusters writes n running clusters of account into the stopped
// server's store, each with a manager, a compute and two login nodes
// whose addresses come from logins; the first ehpcListening have their
// visual service started, sealed with the data directory's master key as
// latchkey seals it. The index marker is deleted.
func seedClusters(b *testing.B, dir string, account core.AccountID, logins netip.Prefix, n int) {
	ctx := context.Background()
	st, sealer := openSeedStore(b, dir)
	defer st.Close()
	now := time.Now().UTC()
	addr := logins.Addr()
	private := netip.MustParseAddr("172.16.0.10")
	node := func(cl core.ClusterID, i int, role core.NodeRole, host string) core.Node {
		nd := core.Node{ID: core.NodeID(fmt.Sprintf("i-bp%016d%02d", i, len(host))), Role: role, HostName: host,
			InstanceType: "ecs.n1.medium", IPAddress: private, CreatedAt: now}
		if role == core.RoleLogin {
			addr = addr.Next()
			nd.PublicIP = addr
			nd.ID += core.NodeID(host[len(host)-1:])
			sealed, err := sealer.Seal(core.NewSecret("Abc123"), core.VisualPasswordContext(cl, nd.ID))
			if err != nil {
				b.Fatal(err)
			}
			nd.VisualPassword = sealed
		}
		return nd
	}
	// The first start wrote the marker of an empty store: without it,
	// the store is one an older latchkey wrote.
	err := st.Update(ctx, func(tx core.Tx) error { return tx.DeleteDoc(ctx, "ehpc.index", "clusters-indexed") })
	if err != nil {
		b.Fatal(err)
	}
	const batch = 500
	for lo := 0; lo < n; lo += batch {
		err := st.Update(ctx, func(tx core.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				id := core.ClusterID(fmt.Sprintf("ehpc-hz-%010d", i))
				cl := &core.Cluster{
					ID: id, AccountID: account, RegionID: "cn-hangzhou", ZoneID: "cn-hangzhou-b",
					Name: fmt.Sprintf("hpc-%06d", i), OsTag: "CentOS_7.6_64", Status: core.ClusterRunning,
					Manager: core.NodeOrder{Count: 1, InstanceType: "ecs.n1.medium"},
					Compute: core.NodeOrder{Count: 1, InstanceType: "ecs.n1.medium"},
					Login:   core.NodeOrder{Count: 2, InstanceType: "ecs.n1.medium"},
					Nodes: []core.Node{node(id, i, core.RoleManager, "manager0"), node(id, i, core.RoleCompute, "compute0"),
						node(id, i, core.RoleLogin, "login0"), node(id, i, core.RoleLogin, "login1")},
					Visual: core.VisualService{Started: i < ehpcListening, Port: 12016,
						CIDR: netip.MustParsePrefix("0.0.0.0/0"), User: core.RootUser},
					CreatedAt: now, Driver: "sim",
				}
				if err := core.Put(ctx, tx, cl); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}
