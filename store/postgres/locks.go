package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/keylock"
)

// The locks and leases of core.Locker are PostgreSQL session advisory
// locks held by one connection of each Store, the session connection,
// that does nothing else. They span replicas, and a replica that dies
// loses them with its connection, at once (PostgreSQL ends the session
// when the socket closes). Names are hashed onto the lock space with
// the "lock:" and "lease:" prefixes, apart from the transaction locks
// of Updates (tx.lock).
//
// A session lock is reentrant for its session, so the Store first takes
// the name in its own keylock.Set: at most one caller per process asks
// PostgreSQL for a name. It asks with pg_try_advisory_lock, which never
// blocks the shared connection; while another replica holds the name it
// asks again after a pause growing from lockPollMin to lockPollMax.
//
// While leases are held the Store checks the session every
// sessionCheckEvery; when the session is found broken every lease ends
// (Lost is closed), and the next call connects again. A holder that
// vanishes without closing its socket (its host lost, not just its
// process) is found by the server's TCP keepalives on the session,
// which sessionKeepalives makes about ten seconds; the holder itself
// stops at its next failed check, before that. A held Lock whose
// session broke is not reported: the Update it orders still commits
// with its own transaction locks.
const (
	lockPollMin       = time.Millisecond
	lockPollMax       = 50 * time.Millisecond
	sessionCheckEvery = 2 * time.Second
)

// sessionKeepalives are the server-side TCP keepalive settings of the
// session connection (PostgreSQL's tcp_keepalives_*; ignored on a Unix
// socket): a peer silent for 4 s is probed every 2 s, and dropped after
// 3 unanswered probes.
var sessionKeepalives = map[string]string{
	"tcp_keepalives_idle": "4", "tcp_keepalives_interval": "2", "tcp_keepalives_count": "3",
}

// session is the Store's session connection.
type session struct {
	mu   sync.Mutex
	conn *pgx.Conn // nil until first used, and after it broke
	gen  uint64    // counts connections, so a lock of a broken one is not unlocked on the next

	locks  keylock.Set
	leases keylock.Leases
	stop   chan struct{} // closed by Close
	done   chan struct{} // closed when the checker has returned
}

// startSession starts the checker of s's session.
func (s *Store) startSession() {
	s.sess.stop, s.sess.done = make(chan struct{}), make(chan struct{})
	go s.checkSession()
}

// closeSession ends every lease, stops the checker and closes the
// session connection.
func (s *Store) closeSession() error {
	close(s.sess.stop)
	<-s.sess.done
	s.sess.leases.EndAll()
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	if s.sess.conn == nil {
		return nil
	}
	err := s.sess.conn.Close(context.Background())
	s.sess.conn = nil
	return err
}

// checkSession pings the session while leases are held, and ends them
// all when it is broken.
func (s *Store) checkSession() {
	defer close(s.sess.done)
	t := time.NewTicker(sessionCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-s.sess.stop:
			return
		case <-t.C:
		}
		if s.sess.leases.Len() == 0 {
			continue
		}
		err := s.onSession(context.Background(), func(ctx context.Context, c *pgx.Conn) error {
			ctx, cancel := context.WithTimeout(ctx, sessionCheckEvery)
			defer cancel()
			return c.Ping(ctx)
		})
		if err != nil {
			s.sess.leases.EndAll()
		}
	}
}

// onSession runs fn on the session connection, connecting first if
// needed; a connection that fails is dropped, and with it every lock and
// lease it held.
func (s *Store) onSession(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	return s.onSessionLocked(ctx, fn)
}

func (s *Store) onSessionLocked(ctx context.Context, fn func(context.Context, *pgx.Conn) error) error {
	if s.closed.Load() {
		return errClosed("postgres.Lock")
	}
	if s.sess.conn == nil || s.sess.conn.IsClosed() {
		cfg := s.cfg.Copy()
		for k, v := range sessionKeepalives {
			cfg.RuntimeParams[k] = v
		}
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return mapErr("postgres.Lock", err)
		}
		s.sess.conn = c
		s.sess.gen++
	}
	// A canceled statement would close the connection and every lock on
	// it: the caller's context only bounds the wait before it.
	if err := ctx.Err(); err != nil {
		return mapErr("postgres.Lock", err)
	}
	err := fn(context.WithoutCancel(ctx), s.sess.conn)
	if err != nil && s.sess.conn.IsClosed() {
		s.sess.conn = nil
		// The leases went with the connection; ending them takes
		// s.sess.mu through their release, so it runs after this call.
		go s.sess.leases.EndAll()
	}
	return mapErr("postgres.Lock", err)
}

// tryAdvisory takes the session lock called name if it is free, and
// returns the generation of the connection that holds it.
func (s *Store) tryAdvisory(ctx context.Context, name string) (ok bool, gen uint64, err error) {
	err = s.onSession(ctx, func(ctx context.Context, c *pgx.Conn) error {
		gen = s.sess.gen
		return c.QueryRow(ctx, "SELECT pg_try_advisory_lock(hashtextextended($1, 0))", name).Scan(&ok)
	})
	return ok, gen, err
}

// unlockAdvisory releases the session lock called name that the
// connection of generation gen took; if that connection is gone, so is
// the lock.
func (s *Store) unlockAdvisory(name string, gen uint64) {
	s.sess.mu.Lock()
	defer s.sess.mu.Unlock()
	if s.sess.conn == nil || s.sess.gen != gen || s.closed.Load() {
		return
	}
	_ = s.onSessionLocked(context.Background(), func(ctx context.Context, c *pgx.Conn) error {
		_, err := c.Exec(ctx, "SELECT pg_advisory_unlock(hashtextextended($1, 0))", name)
		return err
	})
}

// Lock implements core.Locker.
func (s *Store) Lock(ctx context.Context, name string) (func(), error) {
	const op = "postgres.Lock"
	if s.closed.Load() {
		return nil, errClosed(op)
	}
	name = "lock:" + name
	local, err := s.sess.locks.Lock(ctx, name)
	if err != nil {
		return nil, mapErr(op, err)
	}
	pause := lockPollMin
	for {
		ok, gen, err := s.tryAdvisory(ctx, name)
		if err != nil {
			local()
			return nil, err
		}
		if ok {
			var once sync.Once
			return func() {
				once.Do(func() {
					s.unlockAdvisory(name, gen)
					local()
				})
			}, nil
		}
		select {
		case <-time.After(pause):
		case <-ctx.Done():
			local()
			return nil, mapErr(op, ctx.Err())
		}
		pause = min(2*pause, lockPollMax)
	}
}

// TryLease implements core.Locker.
func (s *Store) TryLease(ctx context.Context, name string) (core.Lease, error) {
	if s.closed.Load() {
		return nil, errClosed("postgres.TryLease")
	}
	name = "lease:" + name
	local, ok := s.sess.locks.TryLock(name)
	if !ok {
		return nil, nil
	}
	ok, gen, err := s.tryAdvisory(ctx, name)
	if err != nil || !ok {
		local()
		return nil, err
	}
	l := keylock.NewLease(func() {
		s.unlockAdvisory(name, gen)
		local()
	})
	s.sess.leases.Add(l)
	return l, nil
}
