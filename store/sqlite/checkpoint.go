package sqlite

import (
	"context"
	"database/sql"
	"time"
)

// checkpointEvery is how often the checkpointer copies the WAL back into
// the database file.
const checkpointEvery = 250 * time.Millisecond

// checkpointer runs PASSIVE checkpoints from a connection of its own, so
// that a commit never pays for copying the WAL into the database and
// syncing both (SQLite's automatic checkpoint runs inside the COMMIT
// that crosses its threshold, holding the writer). PASSIVE never waits:
// it copies what no reader still needs and leaves the rest for the next
// round. A checkpoint that fails changes nothing and is retried; the
// writer's own automatic checkpoint (writerPragmas) bounds the WAL
// should the checkpointer fall behind.
type checkpointer struct {
	db   *sql.DB
	stop context.CancelFunc
	done chan struct{}
}

func startCheckpointer(path string) (*checkpointer, error) {
	db, err := sql.Open("sqlite", dsn(path, nil))
	if err != nil {
		return nil, internal("sqlite.Open", err)
	}
	db.SetMaxOpenConns(1)
	ctx, stop := context.WithCancel(context.Background())
	c := &checkpointer{db: db, stop: stop, done: make(chan struct{})}
	go c.run(ctx)
	return c, nil
}

func (c *checkpointer) run(ctx context.Context) {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			_, _ = c.db.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)") // a failure is retried next round
		}
	}
}

// close ends the checkpointer and its connection.
func (c *checkpointer) close() error {
	c.stop()
	<-c.done
	return c.db.Close()
}
