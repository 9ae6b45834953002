package storetest

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

// The workload the stores' benchmarks share: BenchInstances documents
// shaped like ECS instances, and password changes on them as the ECS
// service makes them.

// BenchInstances is how many instance documents SeedInstances writes.
const BenchInstances = 1000

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

// BenchKey is the key of instance document i.
func BenchKey(i int) string { return fmt.Sprintf("i-bench%06d", i) }

func instanceDoc(i int) core.Doc {
	body, _ := json.Marshal(benchInstance{InstanceID: BenchKey(i), RegionID: "cn-hangzhou", ZoneID: "cn-hangzhou-a",
		Status: "Running", IoOptimized: true, VncPassword: make([]byte, 35)})
	return core.Doc{Kind: "ecs.instance", Key: BenchKey(i), Account: "1000000000000001", Region: "cn-hangzhou", Body: body}
}

// SeedInstances writes BenchInstances instance documents of kind
// "ecs.instance", keyed BenchKey(0) onwards, into s in one Update. It
// fails b on error.
func SeedInstances(b testing.TB, s core.Store) {
	b.Helper()
	ctx := context.Background()
	err := s.Update(ctx, func(tx core.Tx) error {
		for i := range BenchInstances {
			if err := tx.PutDoc(ctx, instanceDoc(i)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// benchNonces numbers the nonces ChangePassword records.
var benchNonces atomic.Int64

// ChangePassword is one password change on instance document i as the
// ECS service makes it, in one Update: record the request's signature
// nonce, read the instance, write it back with its generation
// incremented, append the audit event.
func ChangePassword(ctx context.Context, s core.Store, i int) error {
	nonce := fmt.Sprintf("%032x", uint64(benchNonces.Add(1))*0x9e3779b97f4a7c15) // spread like random nonces
	return s.Update(ctx, func(tx core.Tx) error {
		if _, err := tx.RecordNonce(ctx, "BENCH", nonce, tx.Now(), tx.Now().Add(15*time.Minute)); err != nil {
			return err
		}
		d, err := tx.GetDoc(ctx, "ecs.instance", BenchKey(i))
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

// Concurrently calls fn b.N times in all from exactly n goroutines, with
// the indexes 0 to b.N-1, and returns when every call has. A goroutine
// whose call fails reports the error with b.Error and stops. It exists
// because b.SetParallelism multiplies by GOMAXPROCS and so cannot express
// one caller on two cores. The caller resets and stops the timer.
func Concurrently(b *testing.B, n int, fn func(i int) error) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			for {
				k := next.Add(1) - 1
				if k >= int64(b.N) {
					return
				}
				if err := fn(int(k)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
