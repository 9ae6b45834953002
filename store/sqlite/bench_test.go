package sqlite

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
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

// benchStore opens a store holding storetest.BenchInstances instance
// documents.
func benchStore(b *testing.B) *Store {
	s, err := Open(context.Background(), filepath.Join(benchDir(b), "latchkey.db"), core.SystemClock{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.SeedInstances(b, s)
	return s
}

// BenchmarkUpdateSequential measures durable password changes one after
// another: each pays a full commit.
func BenchmarkUpdateSequential(b *testing.B) {
	s := benchStore(b)
	ctx := context.Background()
	commits := s.writer.Commits()
	i := 0
	for b.Loop() {
		if err := storetest.ChangePassword(ctx, s, i%storetest.BenchInstances); err != nil {
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
			b.ResetTimer()
			storetest.Concurrently(b, n, func(k int) error {
				return storetest.ChangePassword(ctx, s, k%storetest.BenchInstances)
			})
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
				_, err := tx.GetDoc(ctx, "ecs.instance", storetest.BenchKey(i%storetest.BenchInstances))
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
