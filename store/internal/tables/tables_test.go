package tables

import (
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

func dollar(n int) string { return "$" + strconv.Itoa(n) }

func TestSelectDocs(t *testing.T) {
	q := core.Query{Kind: "k", Account: "a", Region: "r", After: "x", Limit: 5}
	sql, args := SelectDocs(dollar, q, 7)
	want := "SELECT kind, key, account, region, body FROM docs WHERE kind = $1 AND account = $2 AND region = $3 AND seq > $4 ORDER BY seq LIMIT $5"
	if sql != want {
		t.Errorf("SelectDocs sql =\n%s\nwant\n%s", sql, want)
	}
	if wantArgs := []any{"k", "a", "r", int64(7), 5}; !reflect.DeepEqual(args, wantArgs) {
		t.Errorf("SelectDocs args = %#v, want %#v", args, wantArgs)
	}
	sql, args = SelectDocs(func(int) string { return "?" }, core.Query{}, 7)
	if want := "SELECT kind, key, account, region, body FROM docs ORDER BY seq"; sql != want || len(args) != 0 {
		t.Errorf("SelectDocs(all) = %q %v, want %q and no arguments", sql, args, want)
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
