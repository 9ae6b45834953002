package postgres

import (
	"context"
	"strconv"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
)

// opener returns a storetest.Opener: one database per test, opened
// again on a second call with the same t.
func opener() storetest.Opener {
	return storetest.Reopening(
		func(t *testing.T) string { return newDatabase(t, needServer(t)) },
		func(t *testing.T, url string) core.Store {
			s, err := Open(context.Background(), url, core.SystemClock{}, 0)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		})
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener())
}

// TestReplicasSerialize runs read-modify-write Updates from two Stores on
// one database, as two replicas would: the document's lock orders them,
// so no increment is lost.
func TestReplicasSerialize(t *testing.T) {
	url := newDatabase(t, needServer(t))
	ctx := context.Background()
	var stores []*Store
	for range 2 {
		s, err := Open(ctx, url, core.SystemClock{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		stores = append(stores, s)
	}
	doc := core.Doc{Kind: "test.counter", Key: "c", Body: []byte("0")}
	if err := stores[0].Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, doc) }); err != nil {
		t.Fatal(err)
	}
	const perGoroutine, goroutines = 20, 8
	var wg sync.WaitGroup
	for g := range goroutines {
		s := stores[g%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range perGoroutine {
				err := s.Update(ctx, func(tx core.Tx) error {
					d, err := tx.GetDoc(ctx, "test.counter", "c")
					if err != nil {
						return err
					}
					n, _ := strconv.Atoi(string(d.Body))
					d.Body = []byte(strconv.Itoa(n + 1))
					return tx.PutDoc(ctx, d)
				})
				if err != nil {
					t.Errorf("Update: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	err := stores[1].View(ctx, func(tx core.Tx) error {
		d, err := tx.GetDoc(ctx, "test.counter", "c")
		if err != nil {
			return err
		}
		if string(d.Body) != strconv.Itoa(perGoroutine*goroutines) {
			t.Errorf("counter = %s, want %d: replicas lost updates", d.Body, perGoroutine*goroutines)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedStatementSpoilsOnlyItsFn makes one statement fail inside an
// Update that carries on and returns nil: the Update fails with that
// statement's error, and an Update in the same batch is unaffected.
func TestFailedStatementSpoilsOnlyItsFn(t *testing.T) {
	s, err := Open(context.Background(), newDatabase(t, needServer(t)), core.SystemClock{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	err = s.Update(ctx, func(ctx2 core.Tx) error {
		inner := ctx2.(*tx)
		tx := ctx2
		if err := tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "a", Body: []byte(`{}`)}); err != nil {
			return err
		}
		// A duplicate seq violates docs_seq: SQLSTATE 23505.
		_, err := s.wconn.Exec(ctx, "INSERT INTO docs (kind, key, account, region, seq, body) SELECT 'k', 'b', '', '', seq, '' FROM docs WHERE key = 'a'")
		if e := core.AsError(inner.fail("test", err)); e.Kind != core.KindConflict || e.Reason != core.ReasonAlreadyExists {
			t.Errorf("duplicate key: %v, want conflict (AlreadyExists)", e)
		}
		if err := tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "c", Body: []byte(`{}`)}); err == nil {
			t.Error("PutDoc after a failed statement succeeded")
		}
		return nil
	})
	if core.KindOf(err) != core.KindConflict {
		t.Fatalf("Update = %v, want the failed statement's conflict", err)
	}
	if err := s.Update(ctx, func(tx core.Tx) error {
		return tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "d", Body: []byte(`{}`)})
	}); err != nil {
		t.Fatal(err)
	}
	err = s.View(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: "k"})
		if len(docs) != 1 || docs[0].Key != "d" {
			t.Errorf("stored %v, want only d", docs)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
