package service

import (
	"context"

	"github.com/latchkey/latchkey/core"
)

// AuditLog is the store-backed core.Auditor.
type AuditLog struct{ Store core.Store }

var _ core.Auditor = AuditLog{}

// Record appends ev to the audit table.
func (a AuditLog) Record(ctx context.Context, ev core.AuditEvent) error {
	return a.Store.Update(ctx, func(tx core.Tx) error {
		if ev.Time.IsZero() {
			ev.Time = tx.Now()
		}
		return tx.AppendAudit(ctx, ev)
	})
}
