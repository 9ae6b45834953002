package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestServerAcceptsBothForms(t *testing.T) {
	s := Need(t)
	ctx := context.Background()
	for name, conn := range map[string]string{"DSN": s.DSN(), "URL": s.URL()} {
		c, err := pgx.Connect(ctx, conn)
		if err != nil {
			t.Fatalf("connect with %s: %v", name, err)
		}
		var one int
		if err := c.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
			t.Errorf("SELECT 1 over %s: %d, %v", name, one, err)
		}
		c.Close(ctx)
	}
	s.Stop()
	if _, err := os.Stat(s.dir); !os.IsNotExist(err) {
		t.Errorf("after Stop the server's directory is still there: %v", err)
	}
	s.Stop() // and again at cleanup: harmless
}
