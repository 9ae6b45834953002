package postgres

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// replicas opens n Stores on one fresh database.
func replicas(t *testing.T, n int) []*Store {
	t.Helper()
	url := newDatabase(t, needServer(t))
	out := make([]*Store, n)
	for i := range out {
		s, err := Open(context.Background(), url, core.SystemClock{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out[i] = s
	}
	return out
}

// twoReplicas opens two Stores on one fresh database.
func twoReplicas(t *testing.T) (*Store, *Store) {
	t.Helper()
	r := replicas(t, 2)
	return r[0], r[1]
}

// An Update of one replica that holds its transaction open does not hold
// up the other replica's Updates of other documents: there is no global
// write lock.
func TestReplicasWriteDifferentDocumentsAtOnce(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := testutil.Context(t, 30*time.Second)
	held, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- a.Update(ctx, func(tx core.Tx) error {
			if err := tx.PutDoc(ctx, core.Doc{Kind: "test.doc", Key: "a", Body: []byte("1")}); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	// With one lock for every writer this Update would wait for a's, which
	// waits for release: the test would hang until its context ends.
	if err := b.Update(ctx, func(tx core.Tx) error {
		return tx.PutDoc(ctx, core.Doc{Kind: "test.doc", Key: "b", Body: []byte("1")})
	}); err != nil {
		t.Fatalf("b's Update while a's is open: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// "Absent, so create" is decided once across replicas: of concurrent
// Updates that create a document only when it is missing, exactly one
// creates it.
func TestReplicasCreateOnce(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	for round := range 10 {
		key := fmt.Sprintf("k%d", round)
		var mu sync.Mutex
		created := 0
		var wg sync.WaitGroup
		for i := range 6 {
			s := []*Store{a, b}[i%2]
			wg.Go(func() {
				made := false
				err := s.Update(ctx, func(tx core.Tx) error {
					made = false
					_, err := tx.GetDoc(ctx, "test.once", key)
					if core.KindOf(err) != core.KindNotFound {
						return err
					}
					made = true
					return tx.PutDoc(ctx, core.Doc{Kind: "test.once", Key: key, Body: []byte("x")})
				})
				if err != nil {
					t.Errorf("Update: %v", err)
				}
				if made && err == nil {
					mu.Lock()
					created++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if created != 1 {
			t.Errorf("round %d: %d Updates created the document, want 1", round, created)
		}
	}
}

// A listing inside an Update holds its kind: Updates that each take the
// next free slot of a listing, on four replicas at once, never take the
// same slot.
func TestReplicasListingHoldsItsKind(t *testing.T) {
	stores := replicas(t, 4)
	a := stores[0]
	ctx := context.Background()
	const n = 200
	var wg sync.WaitGroup
	for i := range n {
		s := stores[i%len(stores)]
		wg.Go(func() {
			err := s.Update(ctx, func(tx core.Tx) error {
				docs, err := tx.ListDocs(ctx, core.Query{Kind: "test.slot"})
				if err != nil {
					return err
				}
				return tx.PutDoc(ctx, core.Doc{Kind: "test.slot", Key: fmt.Sprintf("slot-%d", len(docs)), Body: []byte("x")})
			})
			if err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	var docs []core.Doc
	err := a.View(ctx, func(tx core.Tx) (err error) {
		docs, err = tx.ListDocs(ctx, core.Query{Kind: "test.slot"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != n {
		t.Errorf("%d slots taken by %d Updates: two took the same slot", len(docs), n)
	}
}

// A name locked by one replica makes the other's Lock wait until it is
// unlocked; a replica's lease keeps the other from taking it until the
// holder's session ends (here: its Store closes, as a dying process's
// connection does).
func TestReplicasShareLocksAndLeases(t *testing.T) {
	a, b := twoReplicas(t)
	ctx := context.Background()
	unlock, err := a.Lock(ctx, "ecs.instance/i-1")
	if err != nil {
		t.Fatal(err)
	}
	other, err := b.Lock(ctx, "ecs.instance/i-2")
	if err != nil {
		t.Fatalf("another name on the other replica: %v", err)
	}
	other()
	var released sync.Mutex // held until a unlocks
	released.Lock()
	got := make(chan error, 1)
	go func() {
		unlockB, err := b.Lock(ctx, "ecs.instance/i-1")
		if err == nil {
			if !released.TryLock() {
				t.Error("the other replica locked a held name before its holder unlocked it")
			}
			unlockB()
		}
		got <- err
	}()
	released.Unlock()
	unlock()
	if err := <-got; err != nil {
		t.Fatal(err)
	}

	la, err := a.TryLease(ctx, "ehpc.visual")
	if err != nil || la == nil {
		t.Fatalf("TryLease = %v, %v", la, err)
	}
	if lb, err := b.TryLease(ctx, "ehpc.visual"); err != nil || lb != nil {
		t.Fatalf("the other replica took a held lease: %v, %v", lb, err)
	}
	a.Close()
	<-la.Lost()
	for {
		lb, err := b.TryLease(ctx, "ehpc.visual")
		if err != nil {
			t.Fatal(err)
		}
		if lb != nil {
			lb.Release()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}
