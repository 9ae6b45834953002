package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
)

// benchStore opens a store holding storetest.BenchInstances instance
// documents.
func benchStore(b *testing.B) *Store {
	s, err := Open(context.Background(), newDatabase(b, needServer(b)), core.SystemClock{}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	storetest.SeedInstances(b, s)
	return s
}

// BenchmarkUpdateParallel measures durable password changes from 1, 8
// and 32 concurrent callers of one replica (exactly that many goroutines).
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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
			if c := s.writer.Commits() - commits; c > 0 {
				b.ReportMetric(float64(b.N)/float64(c), "updates/commit")
			}
		})
	}
}

// BenchmarkReplicas measures durable password changes from 32 concurrent
// callers spread over one and over two replicas (Stores) of one
// database: with no global write lock, two replicas' batches commit at
// once instead of one after the other. The locked variants hold each
// instance's Lock around its change, as ECS and BCC do.
func BenchmarkReplicas(b *testing.B) {
	for _, locked := range []bool{false, true} {
		for _, n := range []int{1, 2} {
			name := fmt.Sprintf("replicas=%d", n)
			if locked {
				name += "/locked"
			}
			b.Run(name, func(b *testing.B) { benchReplicas(b, n, locked) })
		}
	}
}

// benchReplicas runs BenchmarkReplicas on n replicas.
func benchReplicas(b *testing.B, n int, locked bool) {
	url := newDatabase(b, needServer(b))
	stores := make([]*Store, n)
	for i := range stores {
		s, err := Open(context.Background(), url, core.SystemClock{}, 0)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		stores[i] = s
	}
	storetest.SeedInstances(b, stores[0])
	ctx := context.Background()
	b.ResetTimer()
	storetest.Concurrently(b, 32, func(k int) error {
		s, i := stores[k%n], k%storetest.BenchInstances
		if locked {
			unlock, err := s.Lock(ctx, storetest.BenchKey(i))
			if err != nil {
				return err
			}
			defer unlock()
		}
		return storetest.ChangePassword(ctx, s, i)
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
}
