package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// Benchmarks write where LATCHKEY_BENCH_DIR says (default: the test's
// temporary directory), so that they can measure the disk the data
// directory will live on: the numbers are fsync-bound.
func benchDir(b *testing.B) string {
	if d := os.Getenv("LATCHKEY_BENCH_DIR"); d != "" {
		dir, err := os.MkdirTemp(d, "bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(dir) })
		return dir
	}
	return b.TempDir()
}

// BenchmarkFsync measures what one durable commit costs the disk: a 4 KiB
// write at the same offset followed by fsync, as a WAL commit does.
func BenchmarkFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(benchDir(b), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	page := make([]byte, 4096)
	for b.Loop() {
		if _, err := f.WriteAt(page, 0); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}

const benchInstances = 1000

// benchStore opens a store holding benchInstances instance documents.
func benchStore(b *testing.B) *Store {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(benchDir(b), "latchkey.db"), core.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	err = s.Update(ctx, func(tx core.Tx) error {
		for i := range benchInstances {
			if err := tx.PutDoc(ctx, instanceDoc(i, 0)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchInstance is shaped like an ECS instance document.
type benchInstance struct {
	InstanceID  string
	RegionID    string
	ZoneID      string
	Status      string
	IoOptimized bool
	VncPassword []byte // sealed
	Generation  int
}

func instanceDoc(i, gen int) core.Doc {
	id := fmt.Sprintf("i-bench%06d", i)
	body, _ := json.Marshal(benchInstance{InstanceID: id, RegionID: "cn-hangzhou", ZoneID: "cn-hangzhou-a",
		Status: "Running", IoOptimized: true, VncPassword: make([]byte, 35), Generation: gen})
	return core.Doc{Kind: "ecs.instance", Key: id, Account: "1000000000000001", Region: "cn-hangzhou", Body: body}
}

// changePassword is one password change as the ECS service makes it: read
// the instance, write it back changed, append the audit event.
func changePassword(ctx context.Context, s *Store, i int) error {
	return s.Update(ctx, func(tx core.Tx) error {
		d, err := tx.GetDoc(ctx, "ecs.instance", fmt.Sprintf("i-bench%06d", i))
		if err != nil {
			return err
		}
		var inst benchInstance
		if err := json.Unmarshal(d.Body, &inst); err != nil {
			return err
		}
		inst.Generation++
		if d.Body, err = json.Marshal(inst); err != nil {
			return err
		}
		if err := tx.PutDoc(ctx, d); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "BENCH", AccountID: d.Account, Product: "ecs",
			Action: "ModifyInstanceVncPasswd", Resource: inst.InstanceID, Result: "Success"})
	})
}

// BenchmarkUpdateSequential measures durable password changes one after
// another: each pays a full commit.
func BenchmarkUpdateSequential(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	commits := s.writer.Commits()
	i := 0
	for b.Loop() {
		if err := changePassword(ctx, s, i%benchInstances); err != nil {
			b.Fatal(err)
		}
		i++
	}
	report(b, s, commits)
}

// BenchmarkUpdateParallel measures durable password changes from 1, 8 and
// 32 concurrent callers, where group commit shares each fsync. It starts
// exactly that many goroutines: b.SetParallelism multiplies by GOMAXPROCS
// and so cannot express one caller on two cores.
func BenchmarkUpdateParallel(b *testing.B) {
	for _, n := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("goroutines=%d", n), func(b *testing.B) {
			s := benchStore(b)
			ctx := context.Background()
			commits := s.writer.Commits()
			var next atomic.Int64
			var wg sync.WaitGroup
			b.ResetTimer()
			for range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						k := next.Add(1) - 1
						if k >= int64(b.N) {
							return
						}
						if err := changePassword(ctx, s, int(k%benchInstances)); err != nil {
							b.Error(err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			report(b, s, commits)
		})
	}
}

// BenchmarkView measures a read-only transaction reading one instance.
func BenchmarkView(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			err := s.View(ctx, func(tx core.Tx) error {
				_, err := tx.GetDoc(ctx, "ecs.instance", fmt.Sprintf("i-bench%06d", i%benchInstances))
				return err
			})
			if err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "views/s")
}

func report(b *testing.B, s *Store, commitsBefore int64) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
	if c := s.writer.Commits() - commitsBefore; c > 0 {
		b.ReportMetric(float64(b.N)/float64(c), "updates/commit")
	}
}
