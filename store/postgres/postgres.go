package postgres

import (
	"context"
	"embed"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/groupcommit"
	"github.com/latchkey/latchkey/store/internal/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// lockKey is the advisory lock every migration takes, so replicas
// starting together migrate once. (The bytes spell "latchkey".)
const lockKey int64 = 0x6c61746368_6b6579

// maxBatch bounds how many Updates share one transaction.
const maxBatch = 256

// Store is a core.Store on a PostgreSQL database. It is safe for
// concurrent use.
type Store struct {
	clock core.Clock
	cfg   *pgx.ConnConfig

	writer *groupcommit.Writer
	// The write connection and its state belong to the holder of the
	// writer. wconn is replaced when it breaks.
	wconn  *pgx.Conn
	failed error // the statement error that spoiled the current savepoint
	// pending control statements, sent with the next statement (see
	// writeConn); beginPending: they include the batch's BEGIN.
	pending      []pendingStmt
	beginPending bool
	// fnStart is the index in pending of the fn's SAVEPOINT while it
	// has not been sent, else -1; written: pending holds writes of the
	// fn (tx.write), to be sent before the fn may succeed.
	fnStart int
	written bool
	// held are the advisory locks the batch transaction holds (see
	// tx.lock); Begin and RollbackTo empty it.
	held map[string]lockMode
	// prefetched are the current fn's reads sent ahead (tx.PrefetchDoc),
	// by document, until GetDoc takes them or a write of the document
	// makes them stale.
	prefetched map[string]*prefetch
	closed     atomic.Bool

	sess session // core.Locker's locks and leases (locks.go)

	// The read pool: at most cap(slots) connections, idle ones in idle.
	slots  chan struct{}
	idleMu sync.Mutex
	idle   []*pgx.Conn

	// views holds a read lock for each running View; Close takes the
	// write lock, so it waits for them and no View starts after it.
	views sync.RWMutex
}

var _ core.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a libpq
// key=value string), applies the pending migrations and returns the
// Store. readConns bounds the read pool (4 when 0). clock gives each
// transaction its Now. Open fails if the database has migrations this
// binary does not know.
func Open(ctx context.Context, url string, clock core.Clock, readConns int) (*Store, error) {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, &core.Error{Kind: core.KindInvalid, Op: "postgres.Open", Message: "malformed database URL", Err: err}
	}
	if readConns <= 0 {
		readConns = 4
	}
	s := &Store{clock: clock, cfg: cfg, slots: make(chan struct{}, readConns), held: make(map[string]lockMode), prefetched: make(map[string]*prefetch), fnStart: -1}
	if s.wconn, err = pgx.ConnectConfig(ctx, cfg.Copy()); err != nil {
		return nil, mapErr("postgres.Open", err)
	}
	if err := migrate(ctx, s.wconn, clock); err != nil {
		s.wconn.Close(context.Background())
		return nil, err
	}
	s.writer = groupcommit.New(writeConn{s}, maxBatch, newWriteErr)
	s.startSession()
	return s, nil
}

// CommitStats returns how many batch transactions committed and how many
// Updates they carried, since Open (metrics: the average group commit).
func (s *Store) CommitStats() (commits, updates int64) {
	return s.writer.Commits(), s.writer.Updates()
}

// Close waits for the Update holding the writer, commits the open batch,
// waits for running Views and closes every connection. Later calls fail
// with KindUnavailable.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	serr := s.closeSession()
	werr := s.writer.Close()
	s.views.Lock()
	defer s.views.Unlock()
	ctx := context.Background()
	var errs []error
	errs = append(errs, serr, werr)
	if s.wconn != nil {
		errs = append(errs, s.wconn.Close(ctx))
	}
	s.idleMu.Lock()
	for _, c := range s.idle {
		errs = append(errs, c.Close(ctx))
	}
	s.idle = nil
	s.idleMu.Unlock()
	if err := errors.Join(errs...); err != nil {
		return internal("postgres.Close", err)
	}
	return nil
}

// View runs fn in a REPEATABLE READ READ ONLY transaction: one consistent
// snapshot, and writes are refused (by the Tx, and by the server). The
// transaction begins with fn's first statement, in its round trip, so a
// View of one read costs two round trips (the read, the ROLLBACK).
func (s *Store) View(ctx context.Context, fn func(core.Tx) error) error {
	const op = "postgres.View"
	s.views.RLock()
	defer s.views.RUnlock()
	if s.closed.Load() {
		return errClosed(op)
	}
	now := s.clock.Now()
	conn, err := s.acquire(ctx)
	if err != nil {
		return err
	}
	rtx := &readTx{conn: conn}
	t := &tx{s: s, now: now, rtx: rtx}
	err = fn(t)
	t.done = true
	rtx.end(context.WithoutCancel(ctx))
	s.release(conn)
	return err
}

// acquire returns an idle read connection or opens one, waiting while
// the pool is at its bound.
func (s *Store) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, mapErr("postgres.View", ctx.Err())
	}
	s.idleMu.Lock()
	if n := len(s.idle); n > 0 {
		c := s.idle[n-1]
		s.idle = s.idle[:n-1]
		s.idleMu.Unlock()
		return c, nil
	}
	s.idleMu.Unlock()
	c, err := pgx.ConnectConfig(ctx, s.cfg.Copy())
	if err != nil {
		<-s.slots
		return nil, mapErr("postgres.View", err)
	}
	return c, nil
}

// release returns a read connection to the pool, or closes it if it is
// broken or still in a transaction.
func (s *Store) release(c *pgx.Conn) {
	defer func() { <-s.slots }()
	if c.IsClosed() || c.PgConn().TxStatus() != 'I' || s.closed.Load() {
		c.Close(context.Background())
		return
	}
	s.idleMu.Lock()
	s.idle = append(s.idle, c)
	s.idleMu.Unlock()
}

// migrate applies, in one transaction under the migration lock,
// every embedded migration not yet recorded in schema_migrations (see
// package schema).
func migrate(ctx context.Context, conn *pgx.Conn, clock core.Clock) (err error) {
	const op = "postgres.migrate"
	t, err := conn.Begin(ctx)
	if err != nil {
		return mapErr(op, err)
	}
	defer t.Rollback(context.WithoutCancel(ctx))
	if _, err := t.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey); err != nil {
		return mapErr(op, err)
	}
	if _, err := t.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    text   PRIMARY KEY,
		applied_at bigint NOT NULL -- Unix nanoseconds
	)`); err != nil {
		return mapErr(op, err)
	}
	rows, err := t.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return mapErr(op, err)
	}
	applied, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return mapErr(op, err)
	}
	pending, err := schema.Pending(op, migrationFiles, applied)
	if err != nil {
		return err
	}
	for _, m := range pending {
		// No arguments: the simple protocol runs the whole file.
		if _, err := t.Exec(ctx, m.SQL); err != nil {
			return mapErr(op+" "+m.Version, err)
		}
		if _, err := t.Exec(ctx, "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
			m.Version, clock.Now().UnixNano()); err != nil {
			return mapErr(op, err)
		}
	}
	return mapErr(op, t.Commit(ctx))
}
