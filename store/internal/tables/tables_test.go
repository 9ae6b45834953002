package tables

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

func dollar(n int) string { return "$" + strconv.Itoa(n) }

var testDialect = Dialect{
	Ph:          dollar,
	Glob:        func(col, p string) string { return col + " LIKE " + p },
	GlobPattern: func(p string) string { return p },
}

func TestSelectDocs(t *testing.T) {
	now := time.Unix(0, 42)
	q := core.Query{Kind: "k", Account: "a", Region: "r", After: "x", Limit: 5}
	sql, args := SelectDocs(testDialect, q, 7, now)
	want := "SELECT d.kind, d.key, d.account, d.region, d.seq, d.body FROM docs d WHERE d.kind = $1 AND d.account = $2 AND d.region = $3 AND d.seq > $4 ORDER BY d.seq LIMIT $5"
	if sql != want {
		t.Errorf("SelectDocs sql =\n%s\nwant\n%s", sql, want)
	}
	if wantArgs := []any{"k", "a", "r", int64(7), 5}; !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("SelectDocs args = %#v, want %#v", args, wantArgs)
	}
	sql, args = SelectDocs(testDialect, core.Query{}, 0, now)
	if want := "SELECT d.kind, d.key, d.account, d.region, d.seq, d.body FROM docs d ORDER BY d.seq"; sql != want || len(args) != 0 {
		t.Errorf("SelectDocs(all) = %q %v, want %q and no arguments", sql, args, want)
	}
}

// TestSelectDocsLabels checks that the first label drives the query and
// the others are checked by seq, each at now.
func TestSelectDocsLabels(t *testing.T) {
	now := time.Unix(0, 42)
	q := core.Query{Kind: "k", Account: "a", Region: "r", AfterSeq: 9, Limit: 3, Labels: []core.LabelMatch{
		{Name: "live", Values: []string{"1"}},
		{Name: "status", Values: []string{"Running", "Stopped"}},
		{Name: "name", Values: []string{"web-*"}, Glob: true},
	}}
	sql, args := SelectDocs(testDialect, q, 0, now)
	want := "SELECT d.kind, d.key, d.account, d.region, d.seq, d.body FROM doc_labels l0 CROSS JOIN docs d WHERE d.seq = l0.seq" +
		" AND l0.kind = $1 AND l0.account = $2 AND l0.region = $3 AND l0.name = $4 AND l0.value = $5 AND l0.from_ns <= $6 AND l0.until_ns > $7 AND l0.seq > $8" +
		" AND EXISTS (SELECT 1 FROM doc_labels l1 WHERE l1.seq = l0.seq AND l1.name = $9 AND l1.value IN ($10, $11) AND l1.from_ns <= $12 AND l1.until_ns > $13)" +
		" AND EXISTS (SELECT 1 FROM doc_labels l2 WHERE l2.seq = l0.seq AND l2.name = $14 AND l2.value LIKE $15 AND l2.from_ns <= $16 AND l2.until_ns > $17)" +
		" ORDER BY l0.seq LIMIT $18"
	if sql != want {
		t.Errorf("SelectDocs sql =\n%s\nwant\n%s", sql, want)
	}
	wantArgs := []any{"k", "a", "r", "live", "1", int64(42), int64(42), int64(9),
		"status", "Running", "Stopped", int64(42), int64(42), "name", "web-*", int64(42), int64(42), 3}
	if !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("SelectDocs args = %#v, want %#v", args, wantArgs)
	}
	// An offset is found on the label index alone, and counting reads
	// no document.
	q.Offset = 20
	sql, args = SelectDocs(testDialect, q, 0, now)
	if !strings.Contains(sql, " AND l0.seq >= (SELECT l0.seq FROM doc_labels l0 WHERE l0.kind = $18 ") ||
		!strings.HasSuffix(sql, " LIMIT 1 OFFSET $35) ORDER BY l0.seq LIMIT $36") || len(args) != 36 || args[34] != 20 || args[35] != 3 {
		t.Errorf("SelectDocs with an offset = %s %v", sql, args)
	}
	count, _ := CountDocs(testDialect, q, 0, now)
	if !strings.HasPrefix(count, "SELECT COUNT(*) FROM doc_labels l0 WHERE ") || strings.Contains(count, "OFFSET") || strings.Contains(count, "docs d") {
		t.Errorf("CountDocs sql = %s", count)
	}
}

// TestLabelsEncoding checks that equal labels encode equally, that
// different ones do not, and that an empty interval is dropped.
func TestLabelsEncoding(t *testing.T) {
	at := time.Unix(100, 0)
	a := []core.Label{{Name: "s", Value: "x", Until: at}, {Name: "s", Value: "y", From: at}}
	rows, enc := Labels(a)
	if _, again := Labels(a); again != enc || len(rows.Names) != 2 || rows.From[0] != minNanos || rows.Until[1] != maxNanos {
		t.Errorf("Labels(%v) = %+v %q", a, rows, enc)
	}
	if _, other := Labels(a[:1]); other == enc {
		t.Errorf("different labels encode the same: %q", enc)
	}
	if rows, enc := Labels([]core.Label{{Name: "s", Value: "x", From: at, Until: at}}); len(rows.Names) != 0 || enc != "" {
		t.Errorf("an empty interval gave rows %+v %q", rows, enc)
	}
}

func TestAuditArgsRange(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	args, err := AuditArgs("test", core.AuditEvent{}, now)
	if err != nil || args[0] != now.UnixNano() || args[5] != "" {
		t.Errorf("AuditArgs(zero event) = %v, %v; want now's nanoseconds and no source IP", args, err)
	}
	_, err = AuditArgs("test", core.AuditEvent{Time: time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC)}, now)
	if core.KindOf(err) != core.KindInvalid {
		t.Errorf("AuditArgs(1600) err = %v, want KindInvalid", err)
	}
}
