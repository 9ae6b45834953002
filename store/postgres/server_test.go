package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/internal/testutil/pgtest"
)

// The tests need a PostgreSQL server. With LATCHKEY_TEST_POSTGRES set to
// a connection string of a role that may create databases, they use that
// server. Otherwise TestMain starts a throwaway one (pgtest.Start).
// Without one the tests skip, unless CI is set: then they fail.

// testServer is the admin connection string of the server the tests use,
// or why there is none.
type testServer struct {
	admin   string
	missing string
}

func TestMain(m *testing.M) {
	srv, stop, err := startServer()
	if err != nil {
		fmt.Fprintln(os.Stderr, "postgres tests:", err)
		os.Exit(1)
	}
	server = srv
	code := m.Run()
	stop()
	os.Exit(code)
}

// server is set once by TestMain before any test runs.
var server testServer

func needServer(t testing.TB) string {
	t.Helper()
	if server.admin == "" {
		testutil.Missing(t, "no PostgreSQL server: "+server.missing)
	}
	return server.admin
}

func startServer() (testServer, func(), error) {
	if url := os.Getenv("LATCHKEY_TEST_POSTGRES"); url != "" {
		return testServer{admin: url}, func() {}, nil
	}
	s, err := pgtest.Start()
	if errors.Is(err, pgtest.ErrUnavailable) {
		return testServer{missing: err.Error()}, func() {}, nil
	}
	if err != nil {
		return testServer{}, nil, err
	}
	return testServer{admin: s.DSN()}, s.Stop, nil
}

// newDatabase creates an empty schema and returns a connection string
// whose search_path selects it: a fresh database per test at the cost of
// a CREATE SCHEMA, not a CREATE DATABASE.
func newDatabase(t testing.TB, admin string) string {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SEQUENCE IF NOT EXISTS public.latchkey_test_schema"); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := conn.QueryRow(ctx, "SELECT nextval('public.latchkey_test_schema')").Scan(&n); err != nil {
		t.Fatal(err)
	}
	name := fmt.Sprintf("latchkey_test_%d_%d", os.Getpid(), n)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(ctx, admin)
		if err == nil {
			c.Exec(ctx, "DROP SCHEMA "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	return admin + " search_path=" + name
}
