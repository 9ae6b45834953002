package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/latchkey/latchkey/core"
)

const benchInstances = 1000

func benchStore(b *testing.B) *Store {
	ctx := context.Background()
	s, err := Open(ctx, newDatabase(b, needServer(b)), core.SystemClock{}, 0)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	err = s.Update(ctx, func(tx core.Tx) error {
		for i := range benchInstances {
			body, _ := json.Marshal(map[string]any{"InstanceID": fmt.Sprintf("i-bench%06d", i), "Generation": 0})
			d := core.Doc{Kind: "ecs.instance", Key: fmt.Sprintf("i-bench%06d", i), Account: "1000000000000001", Region: "cn-hangzhou", Body: body}
			if err := tx.PutDoc(ctx, d); err != nil {
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

// changePassword is one password change: read the instance, write it
// back changed, append the audit event.
func changePassword(ctx context.Context, s *Store, i int) error {
	return s.Update(ctx, func(tx core.Tx) error {
		d, err := tx.GetDoc(ctx, "ecs.instance", fmt.Sprintf("i-bench%06d", i))
		if err != nil {
			return err
		}
		var inst map[string]any
		if err := json.Unmarshal(d.Body, &inst); err != nil {
			return err
		}
		inst["Generation"] = inst["Generation"].(float64) + 1
		if d.Body, err = json.Marshal(inst); err != nil {
			return err
		}
		if err := tx.PutDoc(ctx, d); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "BENCH", AccountID: d.Account, Product: "ecs",
			Action: "ModifyInstanceVncPasswd", Resource: d.Key, Result: "Success"})
	})
}

// BenchmarkUpdateParallel measures durable password changes from 1, 8
// and 32 concurrent callers of one replica (exactly that many goroutines).
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
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "updates/s")
			if c := s.writer.Commits() - commits; c > 0 {
				b.ReportMetric(float64(b.N)/float64(c), "updates/commit")
			}
		})
	}
}
