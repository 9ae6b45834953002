package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
)

func auditEvents(t *testing.T, st core.Store, f core.AuditFilter) []core.AuditEvent {
	t.Helper()
	var out []core.AuditEvent
	err := st.View(context.Background(), func(tx core.Tx) (err error) {
		out, err = tx.QueryAudit(context.Background(), f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestAuditLogFlushAndClose: every event recorded before Flush is stored
// when Flush returns, stamped with the recording time when it had none;
// Close stores what is still queued.
func TestAuditLogFlushAndClose(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	st, err := sqlite.Open(ctx, path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := service.NewAuditLog(st, testutil.NewManualClock(at), nil)

	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				ev := core.AuditEvent{Product: "ecs", Action: "ModifyInstanceVncPasswd", Resource: fmt.Sprintf("i-%d-%d", g, i), Result: "Success"}
				if err := a.Record(ctx, ev); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	events := auditEvents(t, st, core.AuditFilter{})
	if len(events) != 800 {
		t.Fatalf("%d events stored after Flush, want 800", len(events))
	}
	if !events[0].Time.Equal(at) {
		t.Errorf("event time %v, want the recording time %v", events[0].Time, at)
	}

	// Close drains the queue before the store is closed.
	for i := 0; i < 50; i++ {
		if err := a.Record(ctx, core.AuditEvent{Product: "bcc", Action: "ChangePass", Resource: "late", Result: "Success"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(ctx, path, core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := len(auditEvents(t, st, core.AuditFilter{Resource: "late"})); got != 50 {
		t.Fatalf("%d events recorded before Close were stored, want 50", got)
	}
}

// TestAuditLogReportsEventsItCannotStore: when the store refuses the
// batch after every retry, the loss is logged (without the event's
// contents) and Flush still returns, so callers are never stuck.
func TestAuditLogReportsEventsItCannotStore(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"), core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	var logs strings.Builder
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	a := service.NewAuditLog(st, nil, log)
	defer a.Close()
	st.Close() // every Update now fails
	if err := a.Record(ctx, core.AuditEvent{Product: "ecs", Action: "ModifyInstanceVncPasswd", Resource: "i-lost", Result: "Success"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "audit events could not be stored") || !strings.Contains(out, "events=1") {
		t.Fatalf("the lost batch was not reported; log:\n%s", out)
	}
	if strings.Contains(out, "i-lost") {
		t.Fatal("the log repeats the lost event's contents")
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}
