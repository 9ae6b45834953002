package service_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
	"github.com/latchkey/latchkey/store/sqlite"
)

// A nonce is refused until it expires and accepted again after; expired
// nonces are swept as new ones are recorded, so the store keeps about one
// window's worth.
func TestNoncesExpireAndAreSwept(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latchkey.db"), core.SystemClock{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	n := service.NewNonces(st)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	use := func(nonce string, now time.Time) bool {
		t.Helper()
		fresh, err := n.Use(ctx, "LTAIk", nonce, now, now.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	if !use("a", t0) || use("a", t0.Add(59*time.Second)) || !use("a", t0.Add(time.Minute)) {
		t.Fatal("a nonce is fresh once, used within its minute, fresh after")
	}
	// count is how many nonces are stored: a sweep of all of them, in an
	// Update that is then rolled back.
	errCounted := errors.New("counted")
	count := func() (n int) {
		err := st.Update(ctx, func(tx core.Tx) (err error) {
			if n, err = tx.SweepNonces(ctx, t0.Add(24*time.Hour), 1<<20); err != nil {
				return err
			}
			return errCounted
		})
		if err != errCounted {
			t.Fatal(err)
		}
		return n
	}
	for i := range 300 {
		use(fmt.Sprint("old-", i), t0.Add(2*time.Minute))
	}
	if c := count(); c < 300 {
		t.Fatalf("%d nonces stored after 300 fresh ones", c)
	}
	later := t0.Add(10 * time.Minute)
	for i := range 600 {
		use(fmt.Sprint("new-", i), later)
	}
	if c := count(); c > 600+128 {
		t.Errorf("%d nonces stored: the 300 expired ones were not swept", c)
	}
}
