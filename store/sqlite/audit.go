package sqlite

import (
	"context"
	"database/sql"
	"strings"
)

// pendingAudit holds the audit events an open batch has appended and not
// yet inserted. An Update's AppendAudit only queues its row: the rows go
// into the audit table together, in append order, just before the
// batch's COMMIT, outside every fn's savepoint. That spares each event a
// statement of its own and the copies of the audit pages that a write
// inside a savepoint makes (the sub-journal). A QueryAudit inside an
// Update inserts the queued rows first, so that it sees them; if its fn
// then fails, the rows of the fns before it are queued again. Touched
// only by the writer.
type pendingAudit struct {
	rows     [][]any // the AppendAudit arguments, oldest first
	inserted int     // rows[:inserted] are in the audit table
	// At the current fn's savepoint: how many rows there were, and how
	// many were inserted.
	fnRows, fnInserted int
}

// auditChunk bounds the rows of one INSERT (11 parameters each).
const auditChunk = 32

// savepoint marks the start of a fn.
func (p *pendingAudit) savepoint() { p.fnRows, p.fnInserted = len(p.rows), p.inserted }

// rollbackTo drops the fn's rows; the rows it inserted are gone with its
// savepoint, so those of earlier fns among them are queued again.
func (p *pendingAudit) rollbackTo() { p.rows, p.inserted = p.rows[:p.fnRows], p.fnInserted }

// reset empties the queue (a new batch, a rollback, a commit).
func (p *pendingAudit) reset() { p.rows, p.inserted, p.fnRows, p.fnInserted = p.rows[:0], 0, 0, 0 }

// flushAudit inserts the queued rows not inserted yet, in append order,
// on the write connection.
func (s *Store) flushAudit(ctx context.Context) error {
	p := &s.audit
	for p.inserted < len(p.rows) {
		n := min(len(p.rows)-p.inserted, auditChunk)
		st, err := s.auditInsert(ctx, n)
		if err != nil {
			return err
		}
		args := make([]any, 0, n*len(p.rows[p.inserted]))
		for _, r := range p.rows[p.inserted : p.inserted+n] {
			args = append(args, r...)
		}
		if _, err := st.ExecContext(ctx, args...); err != nil {
			return mapErr("sqlite.AppendAudit", err)
		}
		p.inserted += n
	}
	return nil
}

// auditInsert returns the statement that inserts n audit rows, prepared
// on the write connection the first time it is needed.
func (s *Store) auditInsert(ctx context.Context, n int) (*sql.Stmt, error) {
	if st := s.auditInserts[n-1]; st != nil {
		return st, nil
	}
	values := "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	st, err := s.conn.PrepareContext(ctx, sqlAppendAudit+strings.Repeat(", "+values, n-1))
	if err != nil {
		return nil, mapErr("sqlite.prepare", err)
	}
	s.auditInserts[n-1] = st
	return st, nil
}
