package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

func openTest(t *testing.T) (*Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	s, err := Open(context.Background(), path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, path
}

func testDoc(key string) core.Doc {
	return core.Doc{Kind: "test.doc", Key: key, Account: "1", Region: "r", Body: []byte(`{}`)}
}

// TestGroupCommit holds the writer with one Update while n more queue up
// behind it, then checks that all n+1 share a single COMMIT, and that the
// failing ones among them rolled back only themselves.
func TestGroupCommit(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	const n = 20
	holding, release := make(chan struct{}), make(chan struct{})
	before := s.writer.Commits()

	var wg sync.WaitGroup
	errs := make([]error, n+1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[n] = s.Update(ctx, func(tx core.Tx) error {
			close(holding)
			<-release
			return tx.PutDoc(ctx, testDoc("first"))
		})
	}()
	<-holding
	failing := errors.New("fails on purpose")
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.Update(ctx, func(tx core.Tx) error {
				if err := tx.PutDoc(ctx, testDoc(fmt.Sprint(i))); err != nil {
					return err
				}
				if i%4 == 1 {
					return failing
				}
				if i%4 == 2 {
					// A constraint error aborts only its statement;
					// the fn goes on and succeeds.
					if err := tx.PutDoc(ctx, core.Doc{Kind: "test.doc", Body: []byte(`{}`)}); core.KindOf(err) != core.KindInvalid {
						t.Errorf("PutDoc(empty key) = %v, want invalid", err)
					}
				}
				return nil
			})
		}()
	}
	// Wait until all n are queued for the writer. This loop has no
	// deadline: if they never queue, the test times out.
	for s.writer.Waiting() != n {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()

	if got := s.writer.Commits() - before; got != 1 {
		t.Errorf("%d commits for %d queued Updates, want 1", got, n+1)
	}
	var want []string
	for i, err := range errs {
		switch {
		case i < n && i%4 == 1:
			if !errors.Is(err, failing) {
				t.Errorf("Update %d = %v, want its own error", i, err)
			}
		case err != nil:
			t.Errorf("Update %d: %v", i, err)
		case i == n:
			want = append(want, "first")
		default:
			want = append(want, fmt.Sprint(i))
		}
	}
	var got []string
	err := s.View(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: "test.doc"})
		for _, d := range docs {
			got = append(got, d.Key)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	slices.Sort(want)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// TestAuditRowsInABatch: audit rows wait for the batch's commit, a
// QueryAudit inside an Update sees those of the fns before it, and when
// that Update then fails, its own rows go and the earlier fns' stay.
func TestAuditRowsInABatch(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	appendEv := func(tx core.Tx, id string) error {
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: core.RequestID(id), Resource: "batch"})
	}
	ids := func(evs []core.AuditEvent) string {
		var b []string
		for _, ev := range evs {
			b = append(b, string(ev.RequestID))
		}
		return strings.Join(b, ",")
	}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	failing := errors.New("fails on purpose")
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs[0] = s.Update(ctx, func(tx core.Tx) error {
			close(holding)
			<-release
			return appendEv(tx, "A")
		})
	}()
	<-holding
	queue := func(i int, fn func(tx core.Tx) error) {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = s.Update(ctx, fn) }()
		for s.writer.Waiting() != i {
			runtime.Gosched()
		}
	}
	queue(1, func(tx core.Tx) error {
		if err := appendEv(tx, "B"); err != nil {
			return err
		}
		evs, err := tx.QueryAudit(ctx, core.AuditFilter{Resource: "batch"})
		if got := ids(evs); err != nil || got != "A,B" {
			t.Errorf("QueryAudit in the batch's second Update = %s %v, want A,B", got, err)
		}
		return failing
	})
	queue(2, func(tx core.Tx) error { return appendEv(tx, "C") })
	close(release)
	wg.Wait()
	if errs[0] != nil || !errors.Is(errs[1], failing) || errs[2] != nil {
		t.Fatalf("Updates = %v", errs)
	}
	var evs []core.AuditEvent
	if err := s.View(ctx, func(tx core.Tx) (err error) {
		evs, err = tx.QueryAudit(ctx, core.AuditFilter{Resource: "batch"})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got := ids(evs); got != "A,C" {
		t.Errorf("stored %s, want A,C", got)
	}
}

// TestFailedAuditInsertCommitsNothing: when the batch's audit rows cannot
// be inserted at its commit, every member fails, none of their changes is
// stored, and the writer's documents forget them.
func TestFailedAuditInsertCommitsNothing(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	if _, err := s.conn.ExecContext(ctx, `CREATE TRIGGER audit_refused BEFORE INSERT ON audit
		WHEN NEW.request_id = 'REFUSED' BEGIN SELECT RAISE(ABORT, 'refused'); END`); err != nil {
		t.Fatal(err)
	}
	err := s.Update(ctx, func(tx core.Tx) error {
		if err := tx.PutDoc(ctx, testDoc("x")); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "REFUSED", Resource: "x"})
	})
	if err == nil {
		t.Fatal("Update committed although its audit row was refused")
	}
	for name, run := range map[string]func(context.Context, func(core.Tx) error) error{"View": s.View, "Update": s.Update} {
		if err := run(ctx, func(tx core.Tx) error {
			_, err := tx.GetDoc(ctx, "test.doc", "x")
			if core.KindOf(err) != core.KindNotFound {
				t.Errorf("%s: GetDoc after the failed commit = %v, want not found", name, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Update(ctx, func(tx core.Tx) error {
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "R", Resource: "x"})
	}); err != nil {
		t.Fatalf("the next Update: %v", err)
	}
}

// TestDocCacheFollowsTheFn: the writer's document cache answers an
// Update's reads as the database would, across a fn that writes and
// fails, one that deletes, and a failed write.
func TestDocCacheFollowsTheFn(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	body := func(tx core.Tx) string {
		d, err := tx.GetDoc(ctx, "test.doc", "x")
		if core.KindOf(err) == core.KindNotFound {
			return "none"
		}
		if err != nil {
			t.Error(err)
		}
		return string(d.Body)
	}
	put := func(tx core.Tx, b string) error {
		d := testDoc("x")
		d.Body = []byte(b)
		return tx.PutDoc(ctx, d)
	}
	failing := errors.New("fails on purpose")
	steps := []struct {
		fn      func(tx core.Tx) error
		wantErr error
	}{
		{func(tx core.Tx) error { return put(tx, `{"v":1}`) }, nil},
		{func(tx core.Tx) error {
			if got := body(tx); got != `{"v":1}` {
				t.Errorf("read = %s, want v1", got)
			}
			if err := put(tx, `{"v":2}`); err != nil {
				return err
			}
			if got := body(tx); got != `{"v":2}` {
				t.Errorf("read after write = %s, want v2", got)
			}
			return failing
		}, failing},
		{func(tx core.Tx) error {
			if got := body(tx); got != `{"v":1}` {
				t.Errorf("read after a failed fn = %s, want v1", got)
			}
			return tx.DeleteDoc(ctx, "test.doc", "x")
		}, nil},
		{func(tx core.Tx) error {
			if got := body(tx); got != "none" {
				t.Errorf("read after a delete = %s, want none", got)
			}
			if err := put(tx, `{"v":3}`); err != nil {
				return err
			}
			bad := testDoc("")
			if err := tx.PutDoc(ctx, bad); core.KindOf(err) != core.KindInvalid {
				t.Errorf("PutDoc(empty key) = %v", err)
			}
			return nil
		}, nil},
	}
	for i, st := range steps {
		if err := s.Update(ctx, st.fn); !errors.Is(err, st.wantErr) {
			t.Fatalf("Update %d = %v, want %v", i, err, st.wantErr)
		}
	}
	for name, run := range map[string]func(context.Context, func(core.Tx) error) error{"View": s.View, "Update": s.Update} {
		if err := run(ctx, func(tx core.Tx) error {
			if got := body(tx); got != `{"v":3}` {
				t.Errorf("%s reads %s, want v3", name, got)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
}

// TestAbortedBatch makes SQLite roll back the whole batch transaction by
// itself and checks that every member of the batch reports failure and
// that no statement runs outside a transaction afterwards.
func TestAbortedBatch(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	holding, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	var firstErr, secondErr error
	wg.Add(1)
	go func() {
		defer wg.Done()
		firstErr = s.Update(ctx, func(tx core.Tx) error {
			close(holding)
			<-release
			return tx.PutDoc(ctx, testDoc("first"))
		})
	}()
	<-holding
	wg.Add(1)
	go func() {
		defer wg.Done()
		secondErr = s.Update(ctx, func(tx core.Tx) error {
			// Stand-in for an I/O error: end the transaction under
			// the batch's feet.
			if _, err := s.conn.ExecContext(ctx, "ROLLBACK"); err != nil {
				t.Errorf("ROLLBACK: %v", err)
			}
			if err := tx.PutDoc(ctx, testDoc("second")); err == nil {
				t.Error("PutDoc after the transaction was rolled back succeeded")
			}
			return nil
		})
	}()
	for s.writer.Waiting() != 1 {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	if firstErr == nil || secondErr == nil {
		t.Fatalf("Updates of an aborted batch: %v, %v; want both to fail", firstErr, secondErr)
	}
	err := s.View(ctx, func(tx core.Tx) error {
		docs, err := tx.ListDocs(ctx, core.Query{Kind: "test.doc"})
		if len(docs) != 0 {
			t.Errorf("an aborted batch left %d documents", len(docs))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, testDoc("later")) }); err != nil {
		t.Fatalf("Update after an aborted batch: %v", err)
	}
}

func TestPragmas(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "synchronous": "2", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "0",
	} {
		var got string
		if err := s.conn.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("writer PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
	for pragma, want := range map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "5000", "query_only": "1",
	} {
		var got string
		if err := s.rdb.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("reader PRAGMA %s = %s, want %s", pragma, got, want)
		}
	}
}

func TestMigrationsRecorded(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	var versions []string
	rows, err := s.rdb.QueryContext(ctx, "SELECT version FROM schema_migrations ORDER BY version")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v string
		rows.Scan(&v)
		versions = append(versions, v)
	}
	rows.Close()
	if strings.Join(versions, ",") != "0001_init,0002_labels,0003_nonces" {
		t.Errorf("schema_migrations = %v, want [0001_init 0002_labels 0003_nonces]", versions)
	}
	if err := s.Update(ctx, func(core.Tx) error {
		_, err := s.conn.ExecContext(ctx, "INSERT INTO schema_migrations VALUES ('9999_future', 0)")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := Open(ctx, path, core.SystemClock{}); err == nil || !strings.Contains(err.Error(), "9999_future") {
		t.Fatalf("Open of a database from a newer binary: err = %v", err)
	}
}

func TestOpenTwiceKeepsSchema(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, testDoc("a")) }); err != nil {
		t.Fatal(err)
	}
	s.Close()
	for range 2 {
		s2, err := Open(ctx, path, core.SystemClock{})
		if err != nil {
			t.Fatal(err)
		}
		s2.Close()
	}
}

func TestConstraintErrorsByCode(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	err := s.Update(ctx, func(tx core.Tx) error {
		if err := tx.PutDoc(ctx, testDoc("a")); err != nil {
			return err
		}
		_, err := s.conn.ExecContext(ctx, "INSERT INTO docs (kind, key, account, region, seq, body) VALUES ('test.doc', 'a', '', '', 99, x'')")
		if e := core.AsError(mapErr("op", err)); e.Kind != core.KindConflict || e.Reason != core.ReasonAlreadyExists {
			t.Errorf("duplicate primary key: %v, want conflict (AlreadyExists)", e)
		}
		_, err = s.conn.ExecContext(ctx, "INSERT INTO docs (kind, key, account, region, seq, body) VALUES ('test.doc', 'b', '', '', 1, x'')")
		if e := core.AsError(mapErr("op", err)); e.Kind != core.KindConflict || e.Reason != core.ReasonAlreadyExists {
			t.Errorf("duplicate seq (unique index): %v, want conflict (AlreadyExists)", e)
		}
		_, err = s.conn.ExecContext(ctx, "INSERT INTO docs (kind, key, account, region, seq, body) VALUES ('test.doc', 'c', NULL, '', 100, x'')")
		if e := core.AsError(mapErr("op", err)); e.Kind != core.KindInvalid {
			t.Errorf("NULL account: %v, want invalid", e)
		}
		_, err = s.conn.ExecContext(ctx, "INSERT INTO docs (kind, key, account, region, seq, body) VALUES ('', 'd', '', '', 101, x'')")
		if e := core.AsError(mapErr("op", err)); e.Kind != core.KindInvalid {
			t.Errorf("empty kind (CHECK): %v, want invalid", e)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestQueryPlans checks that every shape of ListDocs and QueryAudit is an
// index range scan in order, never a table scan or a sort.
func TestQueryPlans(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	for _, q := range []string{
		"SELECT kind, key, account, region, body FROM docs WHERE kind = 'k' ORDER BY seq LIMIT 10",
		"SELECT kind, key, account, region, body FROM docs WHERE kind = 'k' AND account = 'a' ORDER BY seq LIMIT 10",
		"SELECT kind, key, account, region, body FROM docs WHERE kind = 'k' AND account = 'a' AND region = 'r' AND seq > 5 ORDER BY seq LIMIT 10",
		"SELECT kind, key, account, region, body FROM docs WHERE kind = 'k' AND region = 'r' ORDER BY seq",
		"SELECT kind, key, account, region, body FROM docs ORDER BY seq",
		"SELECT seq FROM docs WHERE kind = 'k' AND key = 'x'",
		"SELECT COALESCE(MAX(seq), 0) + 1 FROM docs",
		"SELECT * FROM audit WHERE resource = 'i-1' ORDER BY time, id",
		"SELECT * FROM audit WHERE account = 'a' AND user_name = 'u' AND time >= 5 ORDER BY time, id",
		"SELECT * FROM audit WHERE access_key_id = 'k' ORDER BY time, id",
		"SELECT * FROM audit WHERE time >= 1 AND time < 9 ORDER BY time, id",
	} {
		rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+q)
		if err != nil {
			t.Fatal(err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, notused int
			var detail string
			if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		p := strings.Join(plan, "; ")
		bad := strings.Contains(p, "TEMP B-TREE") || !strings.Contains(p, "INDEX") && !strings.Contains(p, "PRIMARY KEY")
		if strings.Contains(q, "WHERE") && !strings.HasPrefix(p, "SEARCH") {
			bad = true
		}
		if bad {
			t.Errorf("%s\n\tplan: %s", q, p)
		}
	}
}

func TestOpenRejectsBadPath(t *testing.T) {
	for _, p := range []string{"", "a?mode=ro", "a#b"} {
		if _, err := Open(context.Background(), p, core.SystemClock{}); core.KindOf(err) != core.KindInvalid {
			t.Errorf("Open(%q) = %v, want invalid", p, err)
		}
	}
	if _, err := Open(context.Background(), filepath.Join(t.TempDir(), "missing", "x.db"), core.SystemClock{}); err == nil {
		t.Error("Open in a missing directory succeeded")
	}
}

// TestUpgradeToLabels opens a database that only 0001_init made, holding
// a document, and checks that the document comes back as Unlabeled until
// it is put again, and that label queries find it after that.
func TestUpgradeToLabels(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "latchkey.db")
	init, err := migrationFiles.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		string(init),
		"CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)",
		"INSERT INTO schema_migrations VALUES ('0001_init', 0)",
		"INSERT INTO docs VALUES ('test.doc', 'old', '1', 'r', 1, '{}')",
	} {
		if _, err := db.ExecContext(ctx, stmt); err != nil {
			db.Close()
			t.Fatal(err)
		}
	}
	db.Close()
	s, err := Open(ctx, path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	live := core.Query{Kind: "test.doc", Labels: []core.LabelMatch{{Name: "live", Values: []string{"1"}}}}
	listKeys := func(q core.Query) (out []string) {
		t.Helper()
		if err := s.View(ctx, func(tx core.Tx) error {
			docs, err := tx.ListDocs(ctx, q)
			for _, d := range docs {
				out = append(out, d.Key)
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := listKeys(core.Query{Unlabeled: true}); !slices.Equal(got, []string{"old"}) {
		t.Errorf("unlabeled after the upgrade = %v, want [old]", got)
	}
	if got := listKeys(live); len(got) != 0 {
		t.Errorf("label query before relabeling = %v, want none", got)
	}
	d := testDoc("old")
	d.Labels = []core.Label{{Name: "live", Value: "1"}}
	if err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, d) }); err != nil {
		t.Fatal(err)
	}
	if got := listKeys(core.Query{Unlabeled: true}); len(got) != 0 {
		t.Errorf("unlabeled after the put = %v, want none", got)
	}
	if got := listKeys(live); !slices.Equal(got, []string{"old"}) {
		t.Errorf("label query after relabeling = %v, want [old]", got)
	}
}

// A database whose nonces an older latchkey stored as documents gets them
// as rows by migration 0003: they keep refusing their replays until they
// expire (to the millisecond: SQLite's unixepoch keeps no more).
func TestMigrationMovesNonceDocuments(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	expires := time.Date(2026, 12, 1, 0, 30, 0, 123456789, time.UTC)
	body := `{"AccessKeyID":"LTAIold","Nonce":"n-1","Expires":"` + expires.Format(time.RFC3339Nano) + `"}`
	for _, q := range []string{
		"DROP TABLE nonces",
		"DELETE FROM schema_migrations WHERE version = '0003_nonces'",
		"INSERT INTO docs (kind, key, account, region, seq, body) VALUES ('signature.nonce', 'LTAIold/n-1', '', '', 1000, CAST('" + body + "' AS BLOB))",
	} {
		if _, err := s.conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s, err := Open(ctx, path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Update(ctx, func(tx core.Tx) error {
		if fresh, err := tx.RecordNonce(ctx, "LTAIold", "n-1", expires.Add(-time.Millisecond), expires.Add(time.Hour)); err != nil || fresh {
			t.Errorf("the migrated nonce just before its expiry = %v, %v; want refused", fresh, err)
		}
		if fresh, err := tx.RecordNonce(ctx, "LTAIold", "n-1", expires.Add(time.Millisecond), expires.Add(time.Hour)); err != nil || !fresh {
			t.Errorf("the migrated nonce after its expiry = %v, %v; want recorded", fresh, err)
		}
		if _, err := tx.GetDoc(ctx, "signature.nonce", "LTAIold/n-1"); core.KindOf(err) != core.KindNotFound {
			t.Errorf("the nonce document is still there: %v", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestKindVersions(t *testing.T) {
	s, _ := openTest(t)
	ctx := context.Background()
	kind := testDoc("a").Kind
	const other = core.ResourceKind("test.other")
	v0, o0 := s.KindVersion(kind), s.KindVersion(other)
	if err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, testDoc("a")) }); err != nil {
		t.Fatal(err)
	}
	v1 := s.KindVersion(kind)
	if v1 == v0 {
		t.Error("the version did not change when an Update put a document of the kind")
	}
	if s.KindVersion(other) != o0 {
		t.Error("the version of a kind nobody wrote changed")
	}
	if err := s.View(ctx, func(tx core.Tx) error { _, err := tx.GetDoc(ctx, kind, "a"); return err }); err != nil {
		t.Fatal(err)
	}
	if s.KindVersion(kind) != v1 {
		t.Error("a View changed the version")
	}
	var inside uint64
	if err := s.Update(ctx, func(tx core.Tx) error {
		err := tx.DeleteDoc(ctx, kind, "a")
		inside = s.KindVersion(kind)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if inside == v1 {
		t.Error("inside the Update, the version did not change when it deleted a document of the kind")
	}
	if s.KindVersion(kind) == inside {
		t.Error("the version did not change again when the Update that deleted a document of the kind ended")
	}
}

func TestOneStorePerDatabase(t *testing.T) {
	_, path := openTest(t)
	_, err := Open(context.Background(), path, core.SystemClock{})
	if core.KindOf(err) != core.KindUnavailable {
		t.Fatalf("second Open of one database = %v, want KindUnavailable", err)
	}
}

// TestCheckpointerCopiesTheWAL: a committed Update reaches the database
// file itself (read here while ignoring the WAL) without any commit
// paying for it: the writer's own automatic checkpoint is far away.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	s, path := openTest(t)
	ctx := context.Background()
	if err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, testDoc("checkpointed")) }); err != nil {
		t.Fatal(err)
	}
	// immutable=1 reads the database file alone, and caches it: a new
	// connection each time.
	count := func() (int, error) {
		db, err := sql.Open("sqlite", "file:"+path+"?immutable=1")
		if err != nil {
			return 0, err
		}
		defer db.Close()
		var n int
		err = db.QueryRowContext(ctx, "SELECT count(*) FROM docs WHERE key = 'checkpointed'").Scan(&n)
		return n, err
	}
	deadline := time.Now().Add(20 * checkpointEvery)
	for {
		n, err := count()
		if err == nil && n == 1 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the database file does not hold the commit after %v (count %d, %v)", 20*checkpointEvery, n, err)
		}
		time.Sleep(checkpointEvery / 5)
	}
}
