package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"net/url"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"modernc.org/sqlite"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/groupcommit"
	"github.com/latchkey/latchkey/store/internal/keylock"
	"github.com/latchkey/latchkey/store/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// pragma is a connection setting and the reason latchkey needs it.
type pragma struct{ setting, reason string }

// writerPragmas configure the single write connection.
func writerPragmas() []pragma {
	return []pragma{
		{"busy_timeout(5000)", "another process (a backup, the sqlite3 shell) holding the lock makes us wait up to 5 s instead of failing at once with SQLITE_BUSY"},
		{"journal_mode(WAL)", "readers and the writer never block each other, and a commit appends to one file"},
		{"synchronous(FULL)", "with WAL, FULL fsyncs the WAL at every commit, so a committed Update survives a crash or power loss; NORMAL would sync only at checkpoints and could lose the last commits"},
		{"foreign_keys(1)", "SQLite leaves foreign keys unenforced unless each connection asks"},
		{"wal_autocheckpoint(10000)", "the checkpointer copies the WAL back from a connection of its own (checkpoint.go), so commits do not pay for it; at 10,000 pages (40 MB) the writer checkpoints by itself, should the checkpointer fall behind"},
		{"temp_store(MEMORY)", "the savepoint of each Update of a batch keeps the pages it changes in a sub-journal; in memory it costs no write(2) per page, and it never needs to outlive the transaction"},
	}
}

// readerPragmas configure the read pool.
func readerPragmas() []pragma {
	return []pragma{
		{"busy_timeout(5000)", "a reader may meet a lock while the WAL is recovered or reset"},
		{"foreign_keys(1)", "the same rules on every connection"},
		{"query_only(1)", "a View can never write, even by mistake"},
	}
}

// maxBatch bounds how many Updates share one transaction, so that one
// commit's latency stays bounded however many callers queue up.
const maxBatch = 256

// Store is a core.Store on one SQLite database file. It is safe for
// concurrent use.
type Store struct {
	clock core.Clock

	wdb *sql.DB // one connection, held by conn
	rdb *sql.DB // the read pool
	rs  stmts   // prepared on rdb

	writer  *groupcommit.Writer
	conn    *sql.Conn // the write connection, used only by the writer's holder
	ws      stmts     // prepared on conn
	ctl     control   // transaction control, prepared on conn
	aborted bool      // SQLite rolled back the open transaction by itself
	// audit queues the open batch's audit rows (audit.go);
	// auditInserts[n-1] inserts n of them, prepared on conn when first
	// needed.
	audit        pendingAudit
	auditInserts [auditChunk]*sql.Stmt
	docs         docCache // what the writer knows of the documents
	closed       atomic.Bool

	owned    *os.File      // the database file, flocked (own)
	ckpt     *checkpointer // copies the WAL back into the database
	versions kindVersions  // core.KindVersions

	locks  keylock.Set    // core.Locker's locks and leases
	leases keylock.Leases // the held leases, ended by Close

	// views holds a read lock for each running View; Close takes the
	// write lock, so it waits for them and no View starts after it.
	views sync.RWMutex
}

var (
	_ core.Store        = (*Store)(nil)
	_ core.KindVersions = (*Store)(nil)
)

// Open opens (creating if needed) the database at path, applies the
// pending migrations and returns the Store. clock gives each transaction
// its Now. A database Open creates is private: it and the files SQLite
// keeps beside it (Files) have mode 0600, whatever the umask; the modes
// of an existing database are the caller's. Open fails if the database
// has migrations this binary does not know (it was written by a newer
// latchkey).
func Open(ctx context.Context, path string, clock core.Clock) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, &core.Error{Kind: core.KindInvalid, Op: "sqlite.Open", Message: "database path must be non-empty and contain no '?' or '#'"}
	}
	if err := createPrivate(path); err != nil {
		return nil, internal("sqlite.Open", err)
	}
	s := &Store{clock: clock, docs: newDocCache()}
	var err error
	if s.owned, err = own(path); err != nil {
		return nil, err
	}
	if err := s.open(ctx, path); err != nil {
		s.closeAll()
		return nil, err
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) error {
	var err error
	if s.wdb, err = sql.Open("sqlite", dsn(path, writerPragmas())); err != nil {
		return internal("sqlite.Open", err)
	}
	s.wdb.SetMaxOpenConns(1)
	if s.conn, err = s.wdb.Conn(ctx); err != nil {
		return mapErr("sqlite.Open", err)
	}
	if err := s.conn.Raw(func(dc any) error {
		h, ok := dc.(interface{ RegisterRollbackHook(sqlite.RollbackHookFn) })
		if !ok {
			return errors.New("driver connection has no rollback hook")
		}
		// SQLite calls this when a whole transaction rolls back: on
		// our own ROLLBACK, and on an error (disk full, I/O) that
		// ends the transaction by itself. The latter must fail the
		// batch: statements after it would run outside any
		// transaction. The hook runs where the fns run, under the writer.
		h.RegisterRollbackHook(func() { s.aborted = true })
		return nil
	}); err != nil {
		return internal("sqlite.Open", err)
	}
	if err := migrate(ctx, s.conn, s.clock); err != nil {
		return err
	}
	if err := s.ws.prepare(ctx, s.conn); err != nil {
		return err
	}
	if err := s.ctl.prepare(ctx, s.conn); err != nil {
		return err
	}

	s.writer = groupcommit.New(writeConn{s}, maxBatch, newWriteErr)

	if s.rdb, err = sql.Open("sqlite", dsn(path, readerPragmas())); err != nil {
		return internal("sqlite.Open", err)
	}
	if s.ckpt, err = startCheckpointer(path); err != nil {
		return err
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(n)
	s.rdb.SetMaxIdleConns(n)
	s.rdb.SetConnMaxIdleTime(0)
	return s.rs.prepare(ctx, s.rdb)
}

func dsn(path string, pragmas []pragma) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p.setting)
	}
	return path + "?" + q.Encode()
}

// CommitStats returns how many batch transactions committed and how many
// Updates they carried, since Open (metrics: the average group commit).
func (s *Store) CommitStats() (commits, updates int64) {
	return s.writer.Commits(), s.writer.Updates()
}

// Close waits for the Update that holds the writer, commits the open
// batch, and closes the database. Later calls fail with KindUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.leases.EndAll()
	werr := s.writer.Close()
	s.views.Lock()
	defer s.views.Unlock()
	return errors.Join(werr, s.closeAll())
}

func (s *Store) closeAll() error {
	var errs []error
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.close())
	}
	s.ws.close()
	closeAll(s.auditInserts[:]...)
	s.ctl.close()
	s.rs.close()
	if s.conn != nil {
		errs = append(errs, s.conn.Close())
	}
	if s.rdb != nil {
		errs = append(errs, s.rdb.Close())
	}
	if s.wdb != nil {
		errs = append(errs, s.wdb.Close())
	}
	if s.owned != nil {
		errs = append(errs, s.owned.Close())
	}
	if err := errors.Join(errs...); err != nil {
		return internal("sqlite.Close", err)
	}
	return nil
}

// View runs fn in a read-only transaction on the read pool: it sees one
// consistent snapshot, the state as of some commit, and never waits for
// the writer. Its Tx's write methods fail with KindInternal.
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	s.views.RLock()
	defer s.views.RUnlock()
	if s.closed.Load() {
		return errClosed("sqlite.View")
	}
	now := s.clock.Now()
	rtx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return mapErr("sqlite.View", err)
	}
	defer rtx.Rollback()
	t := &tx{s: s, now: now, rtx: rtx}
	err = fn(t)
	t.done = true
	return err
}

func errClosed(op string) error {
	return &core.Error{Kind: core.KindUnavailable, Op: op, Message: "store is closed"}
}

// migrate applies, in one IMMEDIATE transaction, every embedded migration
// not yet recorded in schema_migrations (see package schema).
func migrate(ctx context.Context, conn *sql.Conn, clock core.Clock) (err error) {
	const op = "sqlite.migrate"
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		return mapErr(op, err)
	}
	defer func() {
		if err != nil {
			conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK")
		}
	}()
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    TEXT    PRIMARY KEY,
		applied_at INTEGER NOT NULL -- Unix nanoseconds
	)`); err != nil {
		return mapErr(op, err)
	}
	var applied []string
	rows, err := conn.QueryContext(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return mapErr(op, err)
	}
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return mapErr(op, err)
		}
		applied = append(applied, v)
	}
	if err := rows.Close(); err != nil {
		return mapErr(op, err)
	}
	pending, err := schema.Pending(op, migrationFiles, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		if _, err := conn.ExecContext(ctx, m.SQL); err != nil {
			return mapErr(op+" "+m.Version, err)
		}
		if _, err := conn.ExecContext(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
			m.Version, clock.Now().UnixNano()); err != nil {
			return mapErr(op, err)
		}
	}
	if _, err := conn.ExecContext(ctx, "COMMIT"); err != nil {
		return mapErr(op, err)
	}
	return nil
}
