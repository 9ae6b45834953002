package service

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/latchkey/latchkey/core"
)

// auditBatch bounds how many events one store transaction writes, and
// auditQueue how many may wait: Record blocks when the writer falls that
// far behind.
const (
	auditBatch = 512
	auditQueue = 4096
)

// AuditLog is the store-backed core.Auditor. Record queues the event and
// returns; one writer goroutine stores queued events in batches, one
// transaction per batch. A request's own change is durable when it is
// answered; its audit event follows within one commit. Keeping the audit
// write out of the request's path halves the transactions a password
// change costs. Flush waits for everything queued; Close flushes and
// stops the writer.
type AuditLog struct {
	store core.Store
	clock core.Clock
	log   *slog.Logger

	queue chan auditItem
	stop  sync.Once
	done  chan struct{}
}

// auditItem is an event to store, or (flush non-nil) a marker whose
// channel is closed once everything queued before it is stored.
type auditItem struct {
	ev    core.AuditEvent
	flush chan struct{}
}

var _ core.Auditor = (*AuditLog)(nil)

// NewAuditLog starts the audit writer. Call Close at shutdown.
func NewAuditLog(st core.Store, clock core.Clock, log *slog.Logger) *AuditLog {
	if clock == nil {
		clock = core.SystemClock{}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &AuditLog{store: st, clock: clock, log: log, queue: make(chan auditItem, auditQueue), done: make(chan struct{})}
	go a.write()
	return a
}

// Record implements core.Auditor. The event is stamped now if it has no
// time.
func (a *AuditLog) Record(ctx context.Context, ev core.AuditEvent) error {
	if ev.Time.IsZero() {
		ev.Time = a.clock.Now()
	}
	select {
	case a.queue <- auditItem{ev: ev}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Flush implements core.Auditor: it returns once every event recorded
// before the call is stored.
func (a *AuditLog) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case a.queue <- auditItem{flush: done}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stores what is queued and stops the writer. Record must not be
// called after Close.
func (a *AuditLog) Close() error {
	a.stop.Do(func() { close(a.queue) })
	<-a.done
	return nil
}

func (a *AuditLog) write() {
	defer close(a.done)
	for first := range a.queue {
		batch := []auditItem{first}
	drain:
		for len(batch) < auditBatch {
			select {
			case it, ok := <-a.queue:
				if !ok {
					break drain
				}
				batch = append(batch, it)
			default:
				break drain
			}
		}
		a.store1(batch)
		for _, it := range batch {
			if it.flush != nil {
				close(it.flush)
			}
		}
	}
}

// store1 writes one batch, retrying a failed transaction a few times: the
// audit log must not silently drop events because of a busy database.
func (a *AuditLog) store1(batch []auditItem) {
	var err error
	for attempt := 0; attempt < 5; attempt++ {
		err = a.store.Update(context.Background(), func(tx core.Tx) error {
			for _, it := range batch {
				if it.flush == nil {
					if err := tx.AppendAudit(context.Background(), it.ev); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			return
		}
		time.Sleep(time.Duration(attempt+1) * 50 * time.Millisecond)
	}
	events := 0
	for _, it := range batch {
		if it.flush == nil {
			events++
		}
	}
	a.log.Error("audit events could not be stored", "events", events, "err", err)
}
