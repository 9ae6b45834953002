package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/latchkey/latchkey/core"
)

// SQLSTATE codes latchkey distinguishes (PostgreSQL Appendix A).
const (
	codeUniqueViolation     = "23505"
	codeForeignKeyViolation = "23503"
	codeNotNullViolation    = "23502"
	codeCheckViolation      = "23514"
	codeSerialization       = "40001"
	codeDeadlock            = "40P01"
	codeLockNotAvailable    = "55P03"
	codeQueryCanceled       = "57014"
	codeAdminShutdown       = "57P01"
	codeCannotConnectNow    = "57P03"
)

// mapErr turns a driver error into a *core.Error by SQLSTATE, never by
// message text:
//   - unique violations: KindConflict, ReasonAlreadyExists;
//   - CHECK and NOT NULL violations: KindInvalid;
//   - other integrity violations (class 23): KindConflict;
//   - serialization failures, deadlocks, lock timeouts, cancellations,
//     shutdowns, connection failures (class 08) and a done context:
//     KindUnavailable;
//   - anything else: KindInternal.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var ce *core.Error
	if errors.As(err, &ce) {
		return err
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case codeUniqueViolation:
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonAlreadyExists, Op: op, Err: err}
		case codeCheckViolation, codeNotNullViolation:
			return &core.Error{Kind: core.KindInvalid, Op: op, Err: err}
		case codeForeignKeyViolation:
			return &core.Error{Kind: core.KindConflict, Op: op, Err: err}
		case codeSerialization, codeDeadlock, codeLockNotAvailable, codeQueryCanceled, codeAdminShutdown, codeCannotConnectNow:
			return &core.Error{Kind: core.KindUnavailable, Op: op, Err: err}
		}
		switch pe.Code[:2] {
		case "23":
			return &core.Error{Kind: core.KindConflict, Op: op, Err: err}
		case "08":
			return &core.Error{Kind: core.KindUnavailable, Op: op, Err: err}
		}
		return internal(op, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) || pgconn.Timeout(err) {
		return &core.Error{Kind: core.KindUnavailable, Op: op, Err: err}
	}
	var ce2 *pgconn.ConnectError
	if errors.As(err, &ce2) {
		return &core.Error{Kind: core.KindUnavailable, Op: op, Err: err}
	}
	return internal(op, err)
}

func internal(op string, err error) error {
	return &core.Error{Kind: core.KindInternal, Op: op, Err: err}
}

func notFound(op string, kind core.ResourceKind, key string) error {
	return &core.Error{Kind: core.KindNotFound, Op: op, Message: string(kind) + " " + key + " not found"}
}

func errClosed(op string) error {
	return &core.Error{Kind: core.KindUnavailable, Op: op, Message: "store is closed"}
}
