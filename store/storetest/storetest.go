package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Opener opens a store for a test.
//
// Calls with the same t open the same database: the suite closes the
// first store before it calls open again with that t, and expects to find
// what it committed (persistence across restarts). Calls with different
// t's open independent, empty databases. The opener registers cleanup
// (closing the store twice must be harmless).
type Opener func(t *testing.T) core.Store

// Reopening returns an Opener for stores whose database has a name (a
// file's path, a connection string). The first call with a t makes a
// database with fresh and opens it with open; later calls with the same t
// open that database again. open registers the store's cleanup.
func Reopening(fresh func(t *testing.T) string, open func(t *testing.T, name string) core.Store) Opener {
	var mu sync.Mutex
	names := map[*testing.T]string{}
	return func(t *testing.T) core.Store {
		mu.Lock()
		name, ok := names[t]
		if !ok {
			name = fresh(t)
			names[t] = name
		}
		mu.Unlock()
		return open(t, name)
	}
}

// Run runs the conformance suite against the stores open returns.
//
// Update fns in the suite never call t.Fatal (an fn may run on a
// goroutine of the store's choosing); they report with t.Error and return
// an error.
func Run(t *testing.T, open func(t *testing.T) core.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open Opener)
	}{
		{"GetMissing", testGetMissing},
		{"Nonces", testNonces},
		{"PutGet", testPutGet},
		{"PutInvalid", testPutInvalid},
		{"ReplaceKeepsOrder", testReplaceKeepsOrder},
		{"ReplaceMoves", testReplaceMoves},
		{"Delete", testDelete},
		{"ListFilters", testListFilters},
		{"ListAllKinds", testListAllKinds},
		{"Paging", testPaging},
		{"PagingErrors", testPagingErrors},
		{"Labels", testLabels},
		{"LabelsReplaced", testLabelsReplaced},
		{"LabelTimes", testLabelTimes},
		{"LabelGlob", testLabelGlob},
		{"Cursors", testCursors},
		{"OffsetsAcrossBuckets", testOffsetsAcrossBuckets},
		{"QueryErrors", testQueryErrors},
		{"LabelsInUpdate", testLabelsInUpdate},
		{"LabeledGenerics", testLabeledGenerics},
		{"Generics", testGenerics},
		{"Now", testNow},
		{"Audit", testAudit},
		{"AuditFilters", testAuditFilters},
		{"Rollback", testRollback},
		{"Panic", testPanic},
		{"ReadYourWrites", testReadYourWrites},
		{"Prefetch", testPrefetch},
		{"ViewReadOnly", testViewReadOnly},
		{"ViewIsolation", testViewIsolation},
		{"TxAfterReturn", testTxAfterReturn},
		{"CanceledContext", testCanceledContext},
		{"BatchIsolation", testBatchIsolation},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"Persistence", testPersistence},
		{"Close", testClose},
		{"Locks", testLocks},
		{"Leases", testLeases},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open) })
	}
}

// widget is the suite's resource type.
type widget struct {
	ID      string
	Account core.AccountID
	Region  core.RegionID
	N       int
	Note    string
}

func (*widget) Kind() core.ResourceKind   { return "storetest.widget" }
func (w *widget) Key() string             { return w.ID }
func (w *widget) Owner() core.AccountID   { return w.Account }
func (w *widget) Location() core.RegionID { return w.Region }

// gadget is a second kind, to check that kinds are separate.
type gadget struct{ ID string }

func (*gadget) Kind() core.ResourceKind   { return "storetest.gadget" }
func (g *gadget) Key() string             { return g.ID }
func (g *gadget) Owner() core.AccountID   { return "" }
func (g *gadget) Location() core.RegionID { return "" }

const (
	kindW   core.ResourceKind = "storetest.widget"
	kindG   core.ResourceKind = "storetest.gadget"
	acctA   core.AccountID    = "1000000000000001"
	acctB   core.AccountID    = "1000000000000002"
	regionH core.RegionID     = "cn-hangzhou"
	regionB core.RegionID     = "cn-beijing"
)

func doc(key string, acct core.AccountID, region core.RegionID, n int) core.Doc {
	b, _ := json.Marshal(map[string]any{"id": key, "n": n})
	return core.Doc{Kind: kindW, Key: key, Account: acct, Region: region, Body: b}
}

func update(t *testing.T, s core.Store, fn func(ctx context.Context, tx core.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.Update(ctx, func(tx core.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("Update: %v", err)
	}
}

func view(t *testing.T, s core.Store, fn func(ctx context.Context, tx core.Tx) error) {
	t.Helper()
	ctx := context.Background()
	if err := s.View(ctx, func(tx core.Tx) error { return fn(ctx, tx) }); err != nil {
		t.Fatalf("View: %v", err)
	}
}

func putAll(t *testing.T, s core.Store, docs ...core.Doc) {
	t.Helper()
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		for _, d := range docs {
			if err := tx.PutDoc(ctx, d); err != nil {
				return err
			}
		}
		return nil
	})
}

func list(t *testing.T, s core.Store, q core.Query) []core.Doc {
	t.Helper()
	var out []core.Doc
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		out, err = tx.ListDocs(ctx, q)
		return err
	})
	return out
}

func keys(docs []core.Doc) string {
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(d.Key)
	}
	return b.String()
}

func wantKind(t *testing.T, err error, kind core.Kind, what string) {
	t.Helper()
	if err == nil {
		t.Errorf("%s: err = nil, want kind %v", what, kind)
		return
	}
	var e *core.Error
	if !errors.As(err, &e) {
		t.Errorf("%s: err = %v (%T), want a *core.Error of kind %v", what, err, err, kind)
		return
	}
	if e.Kind != kind {
		t.Errorf("%s: err = %v, want kind %v", what, err, kind)
	}
}

func getN(t *testing.T, s core.Store, key string) int {
	t.Helper()
	var w *widget
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		w, err = core.Get[widget](ctx, tx, key)
		return err
	})
	return w.N
}

func exists(t *testing.T, s core.Store, kind core.ResourceKind, key string) bool {
	t.Helper()
	found := false
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		_, err := tx.GetDoc(ctx, kind, key)
		switch core.KindOf(err) {
		case core.KindNotFound:
			return nil
		case core.KindInternal:
			if err != nil {
				return err
			}
		}
		found = true
		return nil
	})
	return found
}

func testGetMissing(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	for _, run := range []func(context.Context, func(core.Tx) error) error{s.View, s.Update} {
		err := run(ctx, func(tx core.Tx) error {
			_, err := tx.GetDoc(ctx, kindW, "absent")
			wantKind(t, err, core.KindNotFound, "GetDoc(absent)")
			_, err = core.Get[widget](ctx, tx, "absent")
			wantKind(t, err, core.KindNotFound, "core.Get(absent)")
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func testPutGet(t *testing.T, open Opener) {
	s := open(t)
	d := core.Doc{Kind: kindW, Key: "w-1", Account: acctA, Region: regionH,
		Body: []byte(`{"id":"w-1","note":"ünïcode ✓ \u0000 and \"quotes\""}`)}
	g := core.Doc{Kind: kindG, Key: "w-1", Body: []byte(`{"id":"w-1"}`)}
	putAll(t, s, d, g)
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		got, err := tx.GetDoc(ctx, kindW, "w-1")
		if err != nil {
			return err
		}
		if got.Kind != d.Kind || got.Key != d.Key || got.Account != d.Account || got.Region != d.Region || !bytes.Equal(got.Body, d.Body) {
			t.Errorf("GetDoc = %+v, want %+v", got, d)
		}
		got, err = tx.GetDoc(ctx, kindG, "w-1")
		if err != nil {
			return err
		}
		if got.Account != "" || got.Region != "" || !bytes.Equal(got.Body, g.Body) {
			t.Errorf("same key, other kind: GetDoc = %+v, want %+v", got, g)
		}
		return nil
	})
}

func testPutInvalid(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	for _, d := range []core.Doc{
		{Kind: "", Key: "k", Body: []byte(`{}`)},
		{Kind: kindW, Key: "", Body: []byte(`{}`)},
	} {
		err := s.Update(ctx, func(tx core.Tx) error { return tx.PutDoc(ctx, d) })
		wantKind(t, err, core.KindInvalid, fmt.Sprintf("PutDoc(kind %q, key %q)", d.Kind, d.Key))
	}
	if got := list(t, s, core.Query{}); len(got) != 0 {
		t.Errorf("invalid documents were stored: %s", keys(got))
	}
}

func testReplaceKeepsOrder(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, doc("c", acctA, regionH, 1), doc("a", acctA, regionH, 1), doc("b", acctA, regionH, 1))
	putAll(t, s, doc("c", acctA, regionH, 2))
	putAll(t, s, doc("a", acctA, regionH, 3), doc("d", acctA, regionH, 1))
	got := list(t, s, core.Query{Kind: kindW})
	if k := keys(got); k != "c,a,b,d" {
		t.Fatalf("order after replace = %s, want c,a,b,d (insertion order)", k)
	}
	if !bytes.Equal(got[0].Body, doc("c", acctA, regionH, 2).Body) || !bytes.Equal(got[1].Body, doc("a", acctA, regionH, 3).Body) {
		t.Error("replace did not store the new body")
	}
}

func testReplaceMoves(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, doc("a", acctA, regionH, 1), doc("b", acctA, regionH, 1))
	putAll(t, s, doc("a", acctB, regionB, 2))
	if k := keys(list(t, s, core.Query{Kind: kindW, Account: acctA})); k != "b" {
		t.Errorf("account A after move = %s, want b", k)
	}
	if k := keys(list(t, s, core.Query{Kind: kindW, Account: acctB, Region: regionB})); k != "a" {
		t.Errorf("account B, region B after move = %s, want a", k)
	}
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "a,b" {
		t.Errorf("order after move = %s, want a,b", k)
	}
}

func testDelete(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("a", acctA, regionH, 1), doc("b", acctA, regionH, 1))
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		if err := tx.DeleteDoc(ctx, kindW, "a"); err != nil {
			return err
		}
		if _, err := tx.GetDoc(ctx, kindW, "a"); core.KindOf(err) != core.KindNotFound {
			t.Errorf("GetDoc after DeleteDoc in the same Update: err = %v, want not found", err)
		}
		return tx.DeleteDoc(ctx, kindW, "never-existed")
	})
	if exists(t, s, kindW, "a") {
		t.Error("deleted document still there")
	}
	putAll(t, s, doc("a", acctA, regionH, 2))
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "b,a" {
		t.Errorf("order after delete and re-insert = %s, want b,a", k)
	}
	if err := s.Update(ctx, func(tx core.Tx) error { return core.Delete(ctx, tx, &widget{ID: "b"}) }); err != nil {
		t.Fatal(err)
	}
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "a" {
		t.Errorf("after core.Delete = %s, want a", k)
	}
}

func testListFilters(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s,
		doc("1", acctA, regionH, 0),
		doc("2", acctB, regionH, 0),
		doc("3", acctA, regionB, 0),
		core.Doc{Kind: kindG, Key: "g", Account: acctA, Region: regionH, Body: []byte(`{}`)},
		doc("4", acctA, regionH, 0),
		doc("5", "", "", 0),
		doc("6", acctB, regionB, 0),
	)
	for _, c := range []struct {
		q    core.Query
		want string
	}{
		{core.Query{Kind: kindW}, "1,2,3,4,5,6"},
		{core.Query{Kind: kindG}, "g"},
		{core.Query{Kind: "storetest.none"}, ""},
		{core.Query{Kind: kindW, Account: acctA}, "1,3,4"},
		{core.Query{Kind: kindW, Account: acctB}, "2,6"},
		{core.Query{Kind: kindW, Region: regionH}, "1,2,4"},
		{core.Query{Kind: kindW, Account: acctA, Region: regionH}, "1,4"},
		{core.Query{Kind: kindW, Account: acctB, Region: regionB}, "6"},
		{core.Query{Kind: kindW, Account: "1000000000000009"}, ""},
		{core.Query{Kind: kindW, Account: acctA, Limit: 2}, "1,3"},
		{core.Query{Kind: kindW, Account: acctA, After: "1"}, "3,4"},
		{core.Query{Kind: kindW, Region: regionB, After: "3"}, "6"},
	} {
		if got := keys(list(t, s, c.q)); got != c.want {
			t.Errorf("ListDocs(%+v) = %q, want %q", c.q, got, c.want)
		}
	}
}

func testListAllKinds(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, doc("1", acctA, regionH, 0),
		core.Doc{Kind: kindG, Key: "g", Account: acctA, Region: regionH, Body: []byte(`{}`)},
		doc("2", acctB, regionH, 0))
	got := list(t, s, core.Query{})
	if k := keys(got); k != "1,g,2" {
		t.Errorf("ListDocs(all kinds) = %s, want 1,g,2", k)
	}
	if k := keys(list(t, s, core.Query{Account: acctA})); k != "1,g" {
		t.Errorf("ListDocs(all kinds, account A) = %s, want 1,g", k)
	}
}

func testPaging(t *testing.T, open Opener) {
	s := open(t)
	var all []core.Doc
	for i := range 23 {
		acct := acctA
		if i%3 == 0 {
			acct = acctB
		}
		all = append(all, doc(fmt.Sprintf("w-%02d", 23-i), acct, regionH, i)) // keys sort opposite to insertion
	}
	putAll(t, s, all...)
	for _, q := range []core.Query{{Kind: kindW}, {Kind: kindW, Account: acctA}, {Kind: kindW, Account: acctB, Region: regionH}} {
		want := keys(list(t, s, q))
		for _, limit := range []int{1, 2, 5, 7, 22, 23, 100} {
			var pages []core.Doc
			q := q
			q.Limit = limit
			for n := 0; ; n++ {
				if n > 30 {
					t.Fatalf("paging %+v does not end", q)
				}
				page := list(t, s, q)
				if len(page) > limit {
					t.Fatalf("page of %d documents, limit %d", len(page), limit)
				}
				pages = append(pages, page...)
				if len(page) < limit {
					break
				}
				q.After = page[len(page)-1].Key
			}
			if got := keys(pages); got != want {
				t.Errorf("paging %+v by %d = %s, want %s", q, limit, got, want)
			}
		}
	}
}

func testPagingErrors(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, doc("a", acctA, regionH, 0))
	ctx := context.Background()
	err := s.View(ctx, func(tx core.Tx) error {
		_, err := tx.ListDocs(ctx, core.Query{Kind: kindW, After: "absent"})
		wantKind(t, err, core.KindInvalid, "ListDocs(After: absent)")
		_, err = tx.ListDocs(ctx, core.Query{Kind: kindW, Limit: -1})
		wantKind(t, err, core.KindInvalid, "ListDocs(Limit: -1)")
		_, err = tx.ListDocs(ctx, core.Query{After: "a"})
		wantKind(t, err, core.KindInvalid, "ListDocs(no Kind, After)")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testGenerics(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	in := []*widget{
		{ID: "g1", Account: acctA, Region: regionH, N: 1, Note: "first"},
		{ID: "g2", Account: acctB, Region: regionH, N: 2},
		{ID: "g3", Account: acctA, Region: regionB, N: 3},
	}
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		for _, w := range in {
			if err := core.Put(ctx, tx, w); err != nil {
				return err
			}
		}
		return core.Put(ctx, tx, &gadget{ID: "g1"})
	})
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		w, err := core.Get[widget](ctx, tx, "g1")
		if err != nil {
			return err
		}
		if *w != *in[0] {
			t.Errorf("core.Get = %+v, want %+v", *w, *in[0])
		}
		d, err := tx.GetDoc(ctx, kindW, "g3")
		if err != nil {
			return err
		}
		if d.Account != acctA || d.Region != regionB {
			t.Errorf("core.Put stored account %q region %q, want the resource's Owner and Location", d.Account, d.Region)
		}
		ws, err := core.List[widget](ctx, tx, core.Query{Account: acctA})
		if err != nil {
			return err
		}
		if len(ws) != 2 || *ws[0] != *in[0] || *ws[1] != *in[2] {
			t.Errorf("core.List(account A) = %v, want g1, g3", ws)
		}
		gs, err := core.List[gadget](ctx, tx, core.Query{})
		if err != nil {
			return err
		}
		if len(gs) != 1 || gs[0].ID != "g1" {
			t.Errorf("core.List[gadget] = %v, want one gadget g1 (List sets the Kind)", gs)
		}
		return nil
	})
	if err := s.Update(ctx, func(tx core.Tx) error { return core.Delete(ctx, tx, in[1]) }); err != nil {
		t.Fatal(err)
	}
	if exists(t, s, kindW, "g2") {
		t.Error("core.Delete left the resource")
	}
}

func testNow(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	check := func(tx core.Tx) error {
		a := tx.Now()
		if a.IsZero() {
			t.Error("Tx.Now() is zero")
		}
		if _, err := tx.GetDoc(ctx, kindW, "x"); core.KindOf(err) != core.KindNotFound {
			return err
		}
		if b := tx.Now(); !b.Equal(a) {
			t.Errorf("Tx.Now() changed inside one transaction: %v then %v", a, b)
		}
		return nil
	}
	if err := s.View(ctx, check); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, check); err != nil {
		t.Fatal(err)
	}
}

func auditEvents() []core.AuditEvent {
	base := time.Date(2025, 3, 1, 12, 0, 0, 123456789, time.UTC)
	ev := func(min int, res string, acct core.AccountID, user core.UserName, ak core.AccessKeyID, result string) core.AuditEvent {
		return core.AuditEvent{
			Time: base.Add(time.Duration(min) * time.Minute), RequestID: core.RequestID(fmt.Sprintf("REQ-%d-%s", min, res)),
			AccountID: acct, User: user, AccessKeyID: ak, SourceIP: netip.MustParseAddr("192.0.2.7"),
			Product: "ecs", Action: "ModifyInstanceVncPasswd", Resource: res, Result: result, Detail: "d",
		}
	}
	return []core.AuditEvent{
		ev(3, "i-1", acctA, "", "AK1", "Success"), // appended out of time order
		ev(0, "i-1", acctA, "alice", "AK2", "Success"),
		ev(1, "i-2", acctA, "alice", "AK2", "IncorrectVncPassword.Malformed"),
		ev(2, "i-1", acctB, "", "AK3", "Success"),
		ev(3, "i-3", acctA, "bob", "AK4", "Success"), // same time as the first: append order breaks the tie
		ev(5, "c-1", acctA, "alice", "AK2", "Success"),
	}
}

func testAudit(t *testing.T, open Opener) {
	s := open(t)
	in := auditEvents()
	in[1].SourceIP = netip.MustParseAddr("2001:db8::1")
	in[2].SourceIP = netip.Addr{}
	var now time.Time
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		now = tx.Now()
		for _, ev := range in {
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "REQ-NOW", Resource: "now"})
	})
	var got []core.AuditEvent
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		got, err = tx.QueryAudit(ctx, core.AuditFilter{Resource: "now"})
		return err
	})
	if len(got) != 1 || !got[0].Time.Equal(now) {
		t.Errorf("event without Time: got %v, want one event at the transaction's Now %v", got, now)
	}
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		got, err = tx.QueryAudit(ctx, core.AuditFilter{Until: in[0].Time.Add(time.Hour)})
		return err
	})
	want := []core.AuditEvent{in[1], in[2], in[3], in[0], in[4], in[5]}
	if len(got) != len(want) {
		t.Fatalf("QueryAudit returned %d events, want %d", len(got), len(want))
	}
	for i := range want {
		if !sameEvent(got[i], want[i]) {
			t.Errorf("event %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}

func sameEvent(a, b core.AuditEvent) bool {
	ta, tb := a.Time, b.Time
	a.Time, b.Time = time.Time{}, time.Time{}
	return ta.Equal(tb) && a == b
}

func testAuditFilters(t *testing.T, open Opener) {
	s := open(t)
	in := auditEvents()
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		for _, ev := range in {
			if err := tx.AppendAudit(ctx, ev); err != nil {
				return err
			}
		}
		return nil
	})
	t0 := in[1].Time
	ids := func(evs []core.AuditEvent) string {
		var b bytes.Buffer
		for i, ev := range evs {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(string(ev.RequestID))
		}
		return b.String()
	}
	for _, c := range []struct {
		f    core.AuditFilter
		want string
	}{
		{core.AuditFilter{}, "REQ-0-i-1,REQ-1-i-2,REQ-2-i-1,REQ-3-i-1,REQ-3-i-3,REQ-5-c-1"},
		{core.AuditFilter{Resource: "i-1"}, "REQ-0-i-1,REQ-2-i-1,REQ-3-i-1"},
		{core.AuditFilter{Resource: "i-9"}, ""},
		{core.AuditFilter{AccountID: acctB}, "REQ-2-i-1"},
		{core.AuditFilter{AccountID: acctA, User: "alice"}, "REQ-0-i-1,REQ-1-i-2,REQ-5-c-1"},
		{core.AuditFilter{User: "bob"}, "REQ-3-i-3"},
		{core.AuditFilter{AccessKeyID: "AK2"}, "REQ-0-i-1,REQ-1-i-2,REQ-5-c-1"},
		{core.AuditFilter{Since: t0.Add(time.Minute)}, "REQ-1-i-2,REQ-2-i-1,REQ-3-i-1,REQ-3-i-3,REQ-5-c-1"},
		{core.AuditFilter{Until: t0.Add(3 * time.Minute)}, "REQ-0-i-1,REQ-1-i-2,REQ-2-i-1"},
		{core.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3*time.Minute + time.Nanosecond)}, "REQ-1-i-2,REQ-2-i-1,REQ-3-i-1,REQ-3-i-3"},
		{core.AuditFilter{Since: t0.Add(3 * time.Minute), Until: t0.Add(3 * time.Minute)}, ""},
		{core.AuditFilter{Resource: "i-1", Since: t0.Add(time.Second)}, "REQ-2-i-1,REQ-3-i-1"},
		{core.AuditFilter{AccountID: acctA, Limit: 2}, "REQ-0-i-1,REQ-1-i-2"},
		{core.AuditFilter{Since: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, "REQ-0-i-1,REQ-1-i-2,REQ-2-i-1,REQ-3-i-1,REQ-3-i-3,REQ-5-c-1"},
	} {
		var got []core.AuditEvent
		view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
			got, err = tx.QueryAudit(ctx, c.f)
			return err
		})
		if g := ids(got); g != c.want {
			t.Errorf("QueryAudit(%+v) = %s, want %s", c.f, g, c.want)
		}
	}
	ctx := context.Background()
	err := s.View(ctx, func(tx core.Tx) error {
		_, err := tx.QueryAudit(ctx, core.AuditFilter{Limit: -1})
		wantKind(t, err, core.KindInvalid, "QueryAudit(Limit: -1)")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

var errSentinel = errors.New("storetest: fn failed on purpose")

func testRollback(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("keep", acctA, regionH, 1), doc("gone", acctA, regionH, 1))
	err := s.Update(ctx, func(tx core.Tx) error {
		for _, err := range []error{
			tx.PutDoc(ctx, doc("new", acctA, regionH, 1)),
			tx.PutDoc(ctx, doc("keep", acctA, regionH, 2)),
			tx.DeleteDoc(ctx, kindW, "gone"),
			tx.AppendAudit(ctx, core.AuditEvent{RequestID: "REQ-RB", Resource: "rb"}),
		} {
			if err != nil {
				t.Errorf("write in the rolled-back Update: %v", err)
			}
		}
		return fmt.Errorf("wrapped: %w", errSentinel)
	})
	if !errors.Is(err, errSentinel) {
		t.Fatalf("Update returned %v, want fn's error", err)
	}
	if exists(t, s, kindW, "new") || !exists(t, s, kindW, "gone") || getN(t, s, "keep") != 1 {
		t.Error("changes of a failed Update are visible")
	}
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		evs, err := tx.QueryAudit(ctx, core.AuditFilter{Resource: "rb"})
		if len(evs) != 0 {
			t.Error("audit event of a failed Update is visible")
		}
		return err
	})
	// The store is still usable.
	putAll(t, s, doc("after", acctA, regionH, 1))
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "keep,gone,after" {
		t.Errorf("after rollback: %s, want keep,gone,after", k)
	}
}

func testPanic(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	func() {
		defer func() {
			if r := recover(); r != "storetest panic" {
				t.Errorf("recovered %v, want the fn's panic value", r)
			}
		}()
		s.Update(ctx, func(tx core.Tx) error {
			tx.PutDoc(ctx, doc("p", acctA, regionH, 1))
			panic("storetest panic")
		})
		t.Error("Update returned after its fn panicked")
	}()
	if exists(t, s, kindW, "p") {
		t.Error("changes of a panicking Update are visible")
	}
	putAll(t, s, doc("q", acctA, regionH, 1))
	if !exists(t, s, kindW, "q") {
		t.Error("store unusable after a panicking Update")
	}
}

func testReadYourWrites(t *testing.T, open Opener) {
	s := open(t)
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		if err := tx.PutDoc(ctx, doc("a", acctA, regionH, 7)); err != nil {
			return err
		}
		d, err := tx.GetDoc(ctx, kindW, "a")
		if err != nil {
			return err
		}
		if !bytes.Equal(d.Body, doc("a", acctA, regionH, 7).Body) {
			t.Error("GetDoc in an Update does not see its own PutDoc")
		}
		if k := keys(mustList(t, ctx, tx, core.Query{Kind: kindW})); k != "a" {
			t.Errorf("ListDocs in an Update = %s, want its own insert", k)
		}
		if err := tx.AppendAudit(ctx, core.AuditEvent{RequestID: "R", Resource: "ryw"}); err != nil {
			return err
		}
		evs, err := tx.QueryAudit(ctx, core.AuditFilter{Resource: "ryw"})
		if err != nil {
			return err
		}
		if len(evs) != 1 {
			t.Errorf("QueryAudit in an Update = %d events, want its own append", len(evs))
		}
		return nil
	})
}

// testPrefetch: GetDoc answers the same after PrefetchDoc, for a present
// and a missing document, after the fn writes or deletes the document,
// in a later Update after a write nobody prefetched, and in a View.
func testPrefetch(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, doc("a", acctA, regionH, 1), doc("b", acctA, regionH, 2))
	wantBody := func(what string, d core.Doc, err error, want core.Doc) {
		t.Helper()
		if err != nil || !bytes.Equal(d.Body, want.Body) || d.Account != want.Account || d.Region != want.Region {
			t.Errorf("%s: GetDoc = %q %v, want %q", what, d.Body, err, want.Body)
		}
	}
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		tx.PrefetchDoc(ctx, kindW, "a")
		tx.PrefetchDoc(ctx, kindW, "a") // twice is once
		tx.PrefetchDoc(ctx, kindW, "b")
		tx.PrefetchDoc(ctx, kindW, "missing")
		tx.PrefetchDoc(ctx, kindW, "unused")
		if _, err := tx.RecordNonce(ctx, "AK", "prefetch", tx.Now(), tx.Now().Add(time.Hour)); err != nil {
			return err
		}
		d, err := tx.GetDoc(ctx, kindW, "a")
		wantBody("prefetched", d, err, doc("a", acctA, regionH, 1))
		_, err = tx.GetDoc(ctx, kindW, "missing")
		wantKind(t, err, core.KindNotFound, "prefetched missing document")
		if err := tx.PutDoc(ctx, doc("b", acctA, regionB, 3)); err != nil {
			return err
		}
		d, err = tx.GetDoc(ctx, kindW, "b")
		wantBody("prefetched, then written", d, err, doc("b", acctA, regionB, 3))
		tx.PrefetchDoc(ctx, kindW, "a")
		if err := tx.DeleteDoc(ctx, kindW, "a"); err != nil {
			return err
		}
		_, err = tx.GetDoc(ctx, kindW, "a")
		wantKind(t, err, core.KindNotFound, "prefetched, then deleted")
		tx.PrefetchDoc(ctx, kindW, "c")
		if err := tx.PutDoc(ctx, doc("c", acctA, regionH, 4)); err != nil {
			return err
		}
		d, err = tx.GetDoc(ctx, kindW, "c")
		wantBody("prefetched missing, then created", d, err, doc("c", acctA, regionH, 4))
		return nil
	})
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		return tx.PutDoc(ctx, doc("unused", acctA, regionH, 5))
	})
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		tx.PrefetchDoc(ctx, kindW, "unused")
		d, err := tx.GetDoc(ctx, kindW, "unused")
		wantBody("a later Update", d, err, doc("unused", acctA, regionH, 5))
		return nil
	})
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		tx.PrefetchDoc(ctx, kindW, "b")
		d, err := tx.GetDoc(ctx, kindW, "b")
		wantBody("in a View", d, err, doc("b", acctA, regionB, 3))
		return nil
	})
}

func mustList(t *testing.T, ctx context.Context, tx core.Tx, q core.Query) []core.Doc {
	docs, err := tx.ListDocs(ctx, q)
	if err != nil {
		t.Errorf("ListDocs: %v", err)
	}
	return docs
}

func testViewReadOnly(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("a", acctA, regionH, 1))
	err := s.View(ctx, func(tx core.Tx) error {
		if err := tx.PutDoc(ctx, doc("b", acctA, regionH, 1)); err == nil {
			t.Error("PutDoc in a View succeeded")
		}
		if err := tx.DeleteDoc(ctx, kindW, "a"); err == nil {
			t.Error("DeleteDoc in a View succeeded")
		}
		if err := tx.AppendAudit(ctx, core.AuditEvent{RequestID: "R", Resource: "v"}); err == nil {
			t.Error("AppendAudit in a View succeeded")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if exists(t, s, kindW, "b") || !exists(t, s, kindW, "a") {
		t.Error("a View changed the store")
	}
	if err := s.View(ctx, func(tx core.Tx) error { return errSentinel }); !errors.Is(err, errSentinel) {
		t.Errorf("View returned %v, want fn's error", err)
	}
}

// testViewIsolation holds an Update open while a View runs: the View
// must neither wait for it (that would deadlock here) nor see its
// uncommitted writes.
func testViewIsolation(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("a", acctA, regionH, 1))
	written, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.Update(ctx, func(tx core.Tx) error {
			if err := tx.PutDoc(ctx, doc("a", acctA, regionH, 2)); err != nil {
				close(written)
				return err
			}
			if err := tx.PutDoc(ctx, doc("b", acctA, regionH, 2)); err != nil {
				close(written)
				return err
			}
			close(written)
			<-release
			return nil
		})
	}()
	<-written
	if n := getN(t, s, "a"); n != 1 {
		t.Errorf("View saw an uncommitted write: n = %d, want 1", n)
	}
	if exists(t, s, kindW, "b") {
		t.Error("View saw an uncommitted insert")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := getN(t, s, "a"); n != 2 {
		t.Errorf("after commit n = %d, want 2", n)
	}
}

func testTxAfterReturn(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	var kept core.Tx
	update(t, s, func(ctx context.Context, tx core.Tx) error { kept = tx; return nil })
	if err := kept.PutDoc(ctx, doc("late", acctA, regionH, 1)); err == nil {
		t.Error("PutDoc on a Tx after its Update returned succeeded")
	}
	view(t, s, func(ctx context.Context, tx core.Tx) error { kept = tx; return nil })
	if _, err := kept.GetDoc(ctx, kindW, "late"); err == nil || core.KindOf(err) == core.KindNotFound {
		t.Errorf("GetDoc on a Tx after its View returned: err = %v, want a usage error", err)
	}
	if exists(t, s, kindW, "late") {
		t.Error("a write through a finished Tx is visible")
	}
}

func testCanceledContext(t *testing.T, open Opener) {
	s := open(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	if err := s.Update(ctx, func(tx core.Tx) error { ran = true; return nil }); err == nil {
		t.Error("Update with a canceled context succeeded")
	}
	if ran {
		t.Error("Update ran fn with a canceled context")
	}
	// A context canceled inside fn fails that fn's next statement only.
	ctx2, cancel2 := context.WithCancel(context.Background())
	err := s.Update(ctx2, func(tx core.Tx) error {
		if err := tx.PutDoc(ctx2, doc("c1", acctA, regionH, 1)); err != nil {
			return err
		}
		cancel2()
		return tx.PutDoc(ctx2, doc("c2", acctA, regionH, 1))
	})
	if err == nil {
		t.Error("PutDoc with a canceled context succeeded")
	}
	if exists(t, s, kindW, "c1") || exists(t, s, kindW, "c2") {
		t.Error("an Update that failed on a canceled context left changes")
	}
	putAll(t, s, doc("ok", acctA, regionH, 1))
	if !exists(t, s, kindW, "ok") {
		t.Error("store unusable after a canceled Update")
	}
}

// testBatchIsolation runs many Updates at once, half of which fail after
// writing: with group commit they share transactions, and each failing
// one must roll back only itself.
func testBatchIsolation(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	const n = 64
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = s.Update(ctx, func(tx core.Tx) error {
				key := fmt.Sprintf("b-%02d", i)
				if err := tx.PutDoc(ctx, doc(key, acctA, regionH, i)); err != nil {
					return err
				}
				if err := tx.AppendAudit(ctx, core.AuditEvent{RequestID: core.RequestID(key), Resource: "batch"}); err != nil {
					return err
				}
				if i%2 == 1 {
					return errSentinel
				}
				return nil
			})
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if i%2 == 1 && !errors.Is(err, errSentinel) {
			t.Errorf("failing Update %d returned %v, want its own error", i, err)
		}
		if i%2 == 0 && err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	docs := list(t, s, core.Query{Kind: kindW})
	var evs []core.AuditEvent
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		evs, err = tx.QueryAudit(ctx, core.AuditFilter{Resource: "batch"})
		return err
	})
	if len(docs) != n/2 || len(evs) != n/2 {
		t.Fatalf("%d documents and %d audit events, want %d of each", len(docs), len(evs), n/2)
	}
	for _, d := range docs {
		var i int
		fmt.Sscanf(d.Key, "b-%d", &i)
		if i%2 == 1 {
			t.Errorf("document %s of a failed Update is visible", d.Key)
		}
	}
	for _, ev := range evs {
		var i int
		fmt.Sscanf(string(ev.RequestID), "b-%d", &i)
		if i%2 == 1 {
			t.Errorf("audit event %s of a failed Update is visible", ev.RequestID)
		}
	}
}

// testConcurrentIncrements runs read-modify-write Updates of one document
// from many goroutines: Updates are serialized, so none is lost.
func testConcurrentIncrements(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		return core.Put(ctx, tx, &widget{ID: "counter", Account: acctA, Region: regionH})
	})
	const goroutines, each = 32, 25
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []error
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				err := s.Update(ctx, func(tx core.Tx) error {
					w, err := core.Get[widget](ctx, tx, "counter")
					if err != nil {
						return err
					}
					w.N++
					return core.Put(ctx, tx, w)
				})
				if err != nil {
					mu.Lock()
					failures = append(failures, err)
					mu.Unlock()
				}
			}
		}()
	}
	// Concurrent readers never see a torn or decreasing value.
	stop := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		last := 0
		for {
			select {
			case <-stop:
				return
			default:
			}
			err := s.View(ctx, func(tx core.Tx) error {
				w, err := core.Get[widget](ctx, tx, "counter")
				if err != nil {
					return err
				}
				if w.N < last {
					t.Errorf("reader saw the counter go back from %d to %d", last, w.N)
				}
				last = w.N
				return nil
			})
			if err != nil {
				t.Errorf("View: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(stop)
	<-readerDone
	for _, err := range failures {
		t.Errorf("Update: %v", err)
	}
	if n := getN(t, s, "counter"); n != goroutines*each {
		t.Errorf("counter = %d, want %d: updates were lost", n, goroutines*each)
	}
}

func testPersistence(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("p1", acctA, regionH, 1), doc("p2", acctB, regionB, 2), doc("p3", acctA, regionH, 3))
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		if err := tx.DeleteDoc(ctx, kindW, "p2"); err != nil {
			return err
		}
		if err := tx.PutDoc(ctx, doc("p1", acctA, regionH, 10)); err != nil {
			return err
		}
		return tx.AppendAudit(ctx, core.AuditEvent{RequestID: "REQ-P", Resource: "persist", Time: time.Unix(1700000000, 5)})
	})
	s.Update(ctx, func(tx core.Tx) error {
		tx.PutDoc(ctx, doc("p4", acctA, regionH, 4))
		return errSentinel
	})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s = open(t)
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "p1,p3" {
		t.Fatalf("after reopen: %s, want p1,p3", k)
	}
	if n := getN(t, s, "p1"); n != 10 {
		t.Errorf("after reopen p1.N = %d, want 10", n)
	}
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		evs, err := tx.QueryAudit(ctx, core.AuditFilter{Resource: "persist"})
		if len(evs) != 1 || !evs[0].Time.Equal(time.Unix(1700000000, 5)) {
			t.Errorf("audit after reopen = %+v", evs)
		}
		return err
	})
	// Insertion order continues after a reopen.
	putAll(t, s, doc("p0", acctA, regionH, 0))
	if k := keys(list(t, s, core.Query{Kind: kindW})); k != "p1,p3,p0" {
		t.Errorf("insert after reopen: %s, want p1,p3,p0", k)
	}
}

func testClose(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	putAll(t, s, doc("a", acctA, regionH, 1))
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	wantKind(t, s.Update(ctx, func(tx core.Tx) error { return nil }), core.KindUnavailable, "Update after Close")
	wantKind(t, s.View(ctx, func(tx core.Tx) error { return nil }), core.KindUnavailable, "View after Close")
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// RecordNonce records a nonce once until it expires, again after;
// SweepNonces deletes the expired ones, oldest first, up to its limit; a
// rolled-back Update keeps none; recorded nonces survive a reopen.
func testNonces(t *testing.T, open Opener) {
	s := open(t)
	t0 := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	record := func(s core.Store, nonce string, now time.Time) (fresh bool) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx core.Tx) (err error) {
			fresh, err = tx.RecordNonce(ctx, "LTAIk", nonce, now, now.Add(time.Minute))
			return err
		})
		return fresh
	}
	if !record(s, "a", t0) || record(s, "a", t0.Add(59*time.Second)) || !record(s, "a", t0.Add(time.Minute)) {
		t.Fatal("a nonce is recorded once, refused within its minute, recorded again after")
	}
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		if fresh, err := tx.RecordNonce(ctx, "LTAIother", "a", t0, t0.Add(time.Minute)); err != nil || !fresh {
			t.Errorf("the same nonce of another access key = %v, %v; want recorded", fresh, err)
		}
		return nil
	})
	rollback := errors.New("rolled back")
	err := s.Update(context.Background(), func(tx core.Tx) error {
		if _, err := tx.RecordNonce(context.Background(), "LTAIk", "dropped", t0, t0.Add(time.Minute)); err != nil {
			return err
		}
		return rollback
	})
	if err != rollback {
		t.Fatalf("Update = %v, want %v", err, rollback)
	}
	if !record(s, "dropped", t0) {
		t.Error("a nonce recorded by a rolled-back Update is refused")
	}
	for i := range 3 {
		record(s, fmt.Sprint("old-", i), t0.Add(time.Duration(i)*time.Second))
	}
	sweep := func(s core.Store, now time.Time, limit int) (n int) {
		t.Helper()
		update(t, s, func(ctx context.Context, tx core.Tx) (err error) {
			n, err = tx.SweepNonces(ctx, now, limit)
			return err
		})
		return n
	}
	// At t0+61s, LTAIother/a, dropped and old-0 expired at t0+60s,
	// old-1 at t0+61s; old-2 and LTAIk/a are live.
	if n := sweep(s, t0.Add(61*time.Second), 3); n != 3 {
		t.Errorf("sweep with limit 3 deleted %d", n)
	}
	s.Close()
	s = open(t)
	if record(s, "old-1", t0.Add(60500*time.Millisecond)) {
		t.Error("the sweep did not take the oldest first, or a nonce was forgotten across a reopen")
	}
	if record(s, "old-2", t0.Add(61*time.Second)) {
		t.Error("a live nonce was swept")
	}
	if n := sweep(s, t0.Add(61*time.Second), 100); n != 1 {
		t.Errorf("the second sweep deleted %d, want old-1", n)
	}
	if !record(s, "old-0", t0.Add(61*time.Second)) {
		t.Error("an expired, swept nonce is refused")
	}
}
