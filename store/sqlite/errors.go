package sqlite

import (
	"context"
	"errors"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchkey/latchkey/core"
)

// mapErr turns a driver error into a *core.Error, by SQLite result code
// (extended codes are on in the driver), never by message text:
//   - PRIMARY KEY and UNIQUE violations: KindConflict, ReasonAlreadyExists;
//   - CHECK and NOT NULL violations: KindInvalid (a malformed document);
//   - other constraint violations (foreign keys): KindConflict;
//   - BUSY and LOCKED (another process holds the database past the busy
//     timeout): KindUnavailable;
//   - a done context: KindUnavailable, wrapping the context's error;
//   - anything else: KindInternal.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonAlreadyExists, Op: op, Err: err}
		case sqlite3.SQLITE_CONSTRAINT_CHECK, sqlite3.SQLITE_CONSTRAINT_NOTNULL:
			return &core.Error{Kind: core.KindInvalid, Op: op, Err: err}
		}
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_CONSTRAINT:
			return &core.Error{Kind: core.KindConflict, Op: op, Err: err}
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return &core.Error{Kind: core.KindUnavailable, Op: op, Message: "database is locked by another process", Err: err}
		}
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &core.Error{Kind: core.KindUnavailable, Op: op, Err: err}
	}
	return internal(op, err)
}

// isConstraint reports whether err is a constraint violation: SQLite
// aborts only the failing statement, and the transaction goes on.
func isConstraint(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CONSTRAINT
}

func internal(op string, err error) error {
	return &core.Error{Kind: core.KindInternal, Op: op, Err: err}
}

func notFound(op string, kind core.ResourceKind, key string) error {
	return &core.Error{Kind: core.KindNotFound, Op: op, Message: string(kind) + " " + key + " not found"}
}
