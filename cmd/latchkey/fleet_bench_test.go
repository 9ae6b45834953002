package main

import (
	"context"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/store/sqlite"
	"github.com/latchkey/latchkey/vault"
)

// BenchmarkFleet measures what a page costs as the fleet grows: the real
// binary on one SQLite server holding 1,000 or 100,000 ECS instances,
// driven through the official Alibaba SDK. Each round calls
// DescribeInstances four ways (the first page, a middle page by
// PageNumber, the page after that one's NextToken, and a 10-id
// InstanceIds filter), 100 instances a page; it reports each one's p50 and
// p99 over the rounds, the time from starting the binary on the seeded
// store to ready (restart-ms), and the process's resident memory once
// ready (idle-RSS-MB) and at its peak (peak-RSS-MB). Run with a fixed
// round count, e.g.
//
//	go test ./cmd/latchkey -run '^$' -bench Fleet -benchtime 200x
//
// The instances are written straight into the store while latchkey is
// stopped (100,000 API calls would take the benchmark's time), as
// running instances of the root account in cn-hangzhou, each sealed with
// the data directory's master key as latchkey seals them.
func BenchmarkFleet(b *testing.B) {
	bin := buildLatchkey(b)
	for _, n := range []int{1_000, 100_000} {
		b.Run(fmt.Sprintf("instances=%d", n), func(b *testing.B) { benchFleet(b, bin, n) })
	}
}

func benchFleet(b *testing.B, bin string, n int) {
	dir := filepath.Join(b.TempDir(), "data")
	_, _, stop := startProcess(b, bin, dir)
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		b.Fatal(err)
	}
	stop()
	seeded := time.Now()
	ids := seedInstances(b, dir, core.AccountID(creds.AccountID), n)
	seedTime := time.Since(seeded)

	started := time.Now()
	cmd, eps, stop := startProcess(b, bin, dir)
	defer stop()
	restart := time.Since(started)
	idle := procStatusMB(b, cmd.Process.Pid, "VmRSS")

	client, err := ecs.NewClientWithAccessKey("cn-hangzhou", creds.AccessKeyID, creds.AccessKeySecret)
	if err != nil {
		b.Fatal(err)
	}
	client.Domain = eps.HTTP
	const size = 100
	describe := func(set func(*ecs.DescribeInstancesRequest)) (*ecs.DescribeInstancesResponse, time.Duration) {
		req := ecs.CreateDescribeInstancesRequest()
		req.RegionId = "cn-hangzhou"
		set(req)
		start := time.Now()
		resp, err := client.DescribeInstances(req)
		d := time.Since(start)
		if err != nil {
			b.Fatal(err)
		}
		return resp, d
	}
	middle := n / size / 2
	tenIDs := fmt.Sprintf("[%q", ids[n/3])
	for i := 1; i < 10; i++ {
		tenIDs += fmt.Sprintf(",%q", ids[n/3+i*(n/30)])
	}
	tenIDs += "]"
	var first, mid, token, filtered []time.Duration
	for b.Loop() {
		resp, d := describe(func(r *ecs.DescribeInstancesRequest) { r.PageSize = requests.NewInteger(size) })
		if resp.TotalCount != n || len(resp.Instances.Instance) != size {
			b.Fatalf("first page: total %d, %d instances", resp.TotalCount, len(resp.Instances.Instance))
		}
		first = append(first, d)
		resp, d = describe(func(r *ecs.DescribeInstancesRequest) {
			r.PageSize, r.PageNumber = requests.NewInteger(size), requests.NewInteger(middle)
		})
		if got := resp.Instances.Instance; len(got) != size || got[0].InstanceId != ids[(middle-1)*size] {
			b.Fatalf("page %d does not start with instance %d", middle, (middle-1)*size)
		}
		mid = append(mid, d)
		next := resp.NextToken
		resp, d = describe(func(r *ecs.DescribeInstancesRequest) { r.MaxResults, r.NextToken = requests.NewInteger(size), next })
		if got := resp.Instances.Instance; len(got) != size || got[0].InstanceId != ids[middle*size] {
			b.Fatalf("the page after NextToken does not start with instance %d", middle*size)
		}
		token = append(token, d)
		resp, d = describe(func(r *ecs.DescribeInstancesRequest) { r.InstanceIds = tenIDs })
		if resp.TotalCount != 10 || len(resp.Instances.Instance) != 10 {
			b.Fatalf("10-id filter: total %d, %d instances", resp.TotalCount, len(resp.Instances.Instance))
		}
		filtered = append(filtered, d)
	}
	b.StopTimer()
	// Reported after the loop: b.Loop's first call resets the metrics.
	b.ReportMetric(seedTime.Seconds(), "seed-s")
	b.ReportMetric(float64(restart.Microseconds())/1000, "restart-ms")
	b.ReportMetric(idle, "idle-RSS-MB")
	for _, m := range []struct {
		name string
		ds   []time.Duration
	}{{"first", first}, {"middle", mid}, {"token", token}, {"ids", filtered}} {
		b.ReportMetric(quantileMS(m.ds, 0.50), m.name+"-p50-ms")
		b.ReportMetric(quantileMS(m.ds, 0.99), m.name+"-p99-ms")
	}
	b.ReportMetric(procStatusMB(b, cmd.Process.Pid, "VmHWM"), "peak-RSS-MB")
}

// quantileMS returns the q-quantile of ds in milliseconds.
func quantileMS(ds []time.Duration, q float64) float64 {
	s := slices.Clone(ds)
	slices.Sort(s)
	return float64(s[min(len(s)-1, int(q*float64(len(s))))].Microseconds()) / 1000
}

// startProcess starts bin serving dir, with the extra flags, and waits
// until it is ready; stop ends it with SIGTERM and waits for it.
func startProcess(b testing.TB, bin, dir string, extra ...string) (*exec.Cmd, server.Endpoints, func()) {
	cmd := exec.Command(bin, append(serveArgs(dir), extra...)...)
	var stderr testutil.Buffer
	cmd.Stdout, cmd.Stderr = io.Discard, &stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	eps := waitReady(b, dir, exited, stderr.String)
	return cmd, eps, func() {
		cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}
}

// seedInstances writes n running ECS instances of account into the
// stopped server's store, in creation order, and returns their ids.
func seedInstances(b *testing.B, dir string, account core.AccountID, n int) []string {
	ctx := context.Background()
	st, sealer := openSeedStore(b, dir)
	defer st.Close()
	ids := make([]string, n)
	now := time.Now().UTC()
	const batch = 1000
	for lo := 0; lo < n; lo += batch {
		err := st.Update(ctx, func(tx core.Tx) error {
			for i := lo; i < min(lo+batch, n); i++ {
				id := core.InstanceID(fmt.Sprintf("i-bp%018d", i))
				sealed, err := sealer.Seal(core.NewSecret(fmt.Sprintf("Pw%04d", i%10000)), core.VNCSealContext(id))
				if err != nil {
					return err
				}
				inst := &core.Instance{
					ID: id, AccountID: account, RegionID: "cn-hangzhou", ZoneID: "cn-hangzhou-b",
					Name: fmt.Sprintf("fleet-%06d", i), HostName: "iZbp" + string(id[4:]) + "Z",
					InstanceType: "ecs.g7.large", ImageID: "aliyun_3_x64_20G_alibase_20240819.vhd",
					IoOptimized: true, ChargeType: "PostPaid", Status: core.StatusRunning,
					CreatedAt: now, StartedAt: now, Driver: "sim", VNCPassword: sealed,
				}
				if err := core.Put(ctx, tx, inst); err != nil {
					return err
				}
				ids[i] = string(id)
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	return ids
}

// openSeedStore opens the store of the stopped server at dir, with the
// sealer of its master key, for a benchmark to seed.
func openSeedStore(b *testing.B, dir string) (*sqlite.Store, *vault.Sealer) {
	key, err := vault.LoadOrCreateKey(filepath.Join(dir, vault.KeyFileName))
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := vault.NewSealer(key)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "latchkey.db"), core.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	return st, sealer
}
