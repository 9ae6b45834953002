// Package schema holds the rules the SQL stores share for their embedded
// schema migrations: which files are migrations, the order they apply in,
// and which databases a binary must refuse. Each store runs the pending
// migrations in its own dialect and transaction, and records each one in
// its schema_migrations table.
package schema

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// Migration is one embedded schema change.
type Migration struct {
	// Version is the file's name without "migrations/" and ".sql", as
	// schema_migrations records it. Versions apply in name order.
	Version string
	SQL     string
}

// Pending returns the migrations in files (migrations/*.sql) whose
// versions applied does not list, in version order. It fails with a
// *core.Error of KindInternal, as op, if applied lists a version files
// lacks: the database was written by a newer latchkey, and this binary
// must not use it.
func Pending(op string, files fs.FS, applied []string) ([]Migration, error) {
	names, err := fs.Glob(files, "migrations/*.sql")
	if err != nil {
		return nil, &core.Error{Kind: core.KindInternal, Op: op, Err: err}
	}
	sort.Strings(names)
	versions := make([]string, len(names))
	known := map[string]bool{}
	for i, name := range names {
		versions[i] = strings.TrimSuffix(strings.TrimPrefix(name, "migrations/"), ".sql")
		known[versions[i]] = true
	}
	done := map[string]bool{}
	for _, v := range applied {
		if !known[v] {
			return nil, &core.Error{Kind: core.KindInternal, Op: op, Message: fmt.Sprintf("database has migration %q that this binary does not know: it was written by a newer latchkey", v)}
		}
		done[v] = true
	}
	var out []Migration
	for i, version := range versions {
		if done[version] {
			continue
		}
		body, err := fs.ReadFile(files, names[i])
		if err != nil {
			return nil, &core.Error{Kind: core.KindInternal, Op: op, Err: err}
		}
		out = append(out, Migration{Version: version, SQL: string(body)})
	}
	return out, nil
}
