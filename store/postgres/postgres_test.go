package postgres

import (
	"context"
	"errors"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/storetest"
)

// openStore opens the database at url for the test, which closes it.
func openStore(t *testing.T, url string) *Store {
	t.Helper()
	s, err := Open(context.Background(), url, core.SystemClock{}, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// opener returns a storetest.Opener: one database per test, opened
// again on a second call with the same t.
func opener() storetest.Opener {
	return storetest.Reopening(
		func(t *testing.T) string { return newDatabase(t, needServer(t)) },
		func(t *testing.T, url string) core.Store { return openStore(t, url) })
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

// TestFailedWriteFailsItsFnAtItsEnd: a write is sent after PutDoc has
// returned, at the fn's end, and its failure (here a lock held by another
// session, with a lock_timeout) is still the fn's alone: the Update fails,
// nothing of it is stored, and the next Update succeeds.
func TestFailedWriteFailsItsFnAtItsEnd(t *testing.T) {
	url := newDatabase(t, needServer(t))
	s := openStore(t, url)
	ctx := context.Background()
	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	if _, err := other.Exec(ctx, "SELECT pg_advisory_lock(hashtextextended('doc:k/held', 0))"); err != nil {
		t.Fatal(err)
	}
	// No Update runs yet: the write connection is free to configure.
	if _, err := s.wconn.Exec(ctx, "SET lock_timeout = '200ms'"); err != nil {
		t.Fatal(err)
	}
	// mate holds the writer until the failing Update is queued, so both
	// are in one batch, which must commit mate's change.
	mateErr, running := make(chan error, 1), make(chan struct{})
	go func() {
		mateErr <- s.Update(ctx, func(tx core.Tx) error {
			close(running)
			for s.writer.Waiting() == 0 {
				runtime.Gosched()
			}
			return tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "mate", Body: []byte(`{}`)})
		})
	}()
	<-running
	err = s.Update(ctx, func(tx core.Tx) error {
		if err := tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "held", Body: []byte(`{}`)}); err != nil {
			t.Errorf("PutDoc = %v; its failure should come at the fn's end", err)
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "REQ-HELD", Resource: "held"})
	})
	if core.KindOf(err) != core.KindUnavailable {
		t.Fatalf("Update = %v, want the lock timeout (unavailable)", err)
	}
	if err := <-mateErr; err != nil {
		t.Fatalf("the other Update of the batch: %v", err)
	}
	err = s.View(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: "k"})
		if len(docs) != 1 || docs[0].Key != "mate" {
			t.Errorf("stored %v, want only mate", docs)
		}
		evs, err2 := tx.QueryAudit(ctx, core.AuditFilter{Resource: "held"})
		if len(evs) != 0 {
			t.Errorf("the failed fn's audit record was kept: %v", evs)
		}
		return errors.Join(err, err2)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFailedStatementSpoilsOnlyItsFn makes one statement fail inside an
// Update that carries on and returns nil: the Update fails with that
// statement's error, and an Update in the same batch is unaffected.
func TestFailedStatementSpoilsOnlyItsFn(t *testing.T) {
	s := openStore(t, newDatabase(t, needServer(t)))
	ctx := context.Background()
	err := s.Update(ctx, func(ctx2 core.Tx) error {
		inner := ctx2.(*tx)
		tx := ctx2
		if err := tx.PutDoc(ctx, core.Doc{Kind: "k", Key: "a", Body: []byte(`{}`)}); err != nil {
			return err
		}
		// The read sends the pending write (and BEGIN) before the
		// statement below, which goes round the Tx.
		if _, err := tx.GetDoc(ctx, "k", "a"); err != nil {
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

// TestPrefetchSharesARoundTrip: the reads an Update announces go out with
// its next statement, so that a nonce and two reads cost one round trip
// of the write connection, not three.
func TestPrefetchSharesARoundTrip(t *testing.T) {
	s := openStore(t, newDatabase(t, needServer(t)))
	ctx := context.Background()
	putKeys(t, s, "a", "b")
	// The writer reconnects, with the counting tracer, at its next batch.
	trips := &roundTrips{}
	s.cfg.Tracer = trips
	s.wconn.Close(ctx)
	err := s.Update(ctx, func(tx core.Tx) error {
		tx.PrefetchDoc(ctx, "k", "a")
		tx.PrefetchDoc(ctx, "k", "b")
		if _, err := tx.RecordNonce(ctx, "AK", "n", tx.Now(), tx.Now().Add(time.Hour)); err != nil {
			return err
		}
		for _, key := range []string{"a", "b"} {
			if d, err := tx.GetDoc(ctx, "k", key); err != nil || string(d.Body) != `{"key":"`+key+`"}` {
				t.Errorf("GetDoc(%s) = %s %v", key, d.Body, err)
			}
		}
		if n := trips.n.Load(); n != 1 {
			t.Errorf("the nonce and two prefetched reads took %d round trips, want 1", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestPrefetchedReadFailsWithItsBatch: a prefetched read that goes out
// behind a failing write fails the GetDoc that takes it, and the Update
// with the write's error; the next Update reads the document.
func TestPrefetchedReadFailsWithItsBatch(t *testing.T) {
	s := openStore(t, newDatabase(t, needServer(t)))
	ctx := context.Background()
	putKeys(t, s, "a")
	err := s.Update(ctx, func(ctx2 core.Tx) error {
		// A duplicate seq violates docs_seq (SQLSTATE 23505) when the
		// queued write goes out, ahead of the prefetched read.
		ctx2.(*tx).write("INSERT INTO docs (kind, key, account, region, seq, body) SELECT 'k', 'b', '', '', seq, '' FROM docs WHERE key = 'a'")
		ctx2.PrefetchDoc(ctx, "k", "a")
		if _, err := ctx2.GetDoc(ctx, "k", "a"); core.KindOf(err) != core.KindConflict {
			t.Errorf("GetDoc behind a failing write = %v, want its conflict", err)
		}
		return nil
	})
	if core.KindOf(err) != core.KindConflict {
		t.Fatalf("Update = %v, want the write's conflict", err)
	}
	if err := s.Update(ctx, func(tx core.Tx) error {
		tx.PrefetchDoc(ctx, "k", "a")
		_, err := tx.GetDoc(ctx, "k", "a")
		return err
	}); err != nil {
		t.Fatalf("the next Update: %v", err)
	}
}

// putKeys stores a document of kind k with body {"key":KEY} for each key.
func putKeys(t *testing.T, s *Store, keys ...string) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx core.Tx) error {
		for _, key := range keys {
			if err := tx.PutDoc(ctx, core.Doc{Kind: "k", Key: key, Body: []byte(`{"key":"` + key + `"}`)}); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// roundTrips counts the statements and batches a connection sends.
type roundTrips struct{ n atomic.Int64 }

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (*roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (r *roundTrips) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	r.n.Add(1)
	return ctx
}
func (*roundTrips) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (*roundTrips) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}
