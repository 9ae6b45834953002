package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
)

// labeled returns doc(key, …) with labels.
func labeled(key string, acct core.AccountID, region core.RegionID, n int, labels ...core.Label) core.Doc {
	d := doc(key, acct, region, n)
	d.Labels = labels
	return d
}

func lbl(name, value string) core.Label { return core.Label{Name: name, Value: value} }

func match(name string, values ...string) core.LabelMatch {
	return core.LabelMatch{Name: name, Values: values}
}

// count runs CountDocs in a View.
func count(t *testing.T, s core.Store, q core.Query) int {
	t.Helper()
	var n int
	view(t, s, func(ctx context.Context, tx core.Tx) (err error) {
		n, err = tx.CountDocs(ctx, q)
		return err
	})
	return n
}

// wantList checks that q lists want (keys, in order) and counts as many.
func wantList(t *testing.T, s core.Store, q core.Query, want string) {
	t.Helper()
	if got := keys(list(t, s, q)); got != want {
		t.Errorf("ListDocs(%+v) = %q, want %q", q, got, want)
	}
	unpaged := q
	unpaged.Offset, unpaged.Limit = 0, 0
	n := len(list(t, s, unpaged))
	if got := count(t, s, q); got != n {
		t.Errorf("CountDocs(%+v) = %d, want %d", q, got, n)
	}
}

// testLabels checks label queries: equality, one of several values,
// several labels at once, account and region scopes, kinds apart.
func testLabels(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s,
		labeled("a", acctA, regionH, 0, lbl("status", "Running"), lbl("zone", "h-a")),
		labeled("b", acctA, regionH, 1, lbl("status", "Stopped"), lbl("zone", "h-b")),
		labeled("c", acctA, regionB, 2, lbl("status", "Running"), lbl("zone", "b-a")),
		labeled("d", acctB, regionH, 3, lbl("status", "Running"), lbl("zone", "h-a")),
		labeled("e", acctA, regionH, 4, lbl("status", "Running"), lbl("zone", "h-b")),
		doc("f", acctA, regionH, 5),
	)
	putAll(t, s, core.Doc{Kind: kindG, Key: "g", Body: []byte(`{}`), Labels: []core.Label{lbl("status", "Running")}})
	running := match("status", "Running")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{running}}, "a,c,d,e")
	wantList(t, s, core.Query{Kind: kindW, Account: acctA, Labels: []core.LabelMatch{running}}, "a,c,e")
	wantList(t, s, core.Query{Kind: kindW, Account: acctA, Region: regionH, Labels: []core.LabelMatch{running}}, "a,e")
	wantList(t, s, core.Query{Kind: kindW, Region: regionH, Labels: []core.LabelMatch{running}}, "a,d,e")
	wantList(t, s, core.Query{Kind: kindW, Account: acctA, Region: regionH,
		Labels: []core.LabelMatch{match("zone", "h-b"), running}}, "e")
	wantList(t, s, core.Query{Kind: kindW, Account: acctA, Region: regionH,
		Labels: []core.LabelMatch{running, match("zone", "h-b")}}, "e")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopped", "Running")}}, "a,b,c,d,e")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopping")}}, "")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("nothing", "Running")}}, "")
	wantList(t, s, core.Query{Kind: kindG, Labels: []core.LabelMatch{running}}, "g")
	// Labels and keys together: only the keys given, if they match.
	wantList(t, s, core.Query{Kind: kindW, Keys: []string{"e", "b", "a", "zz"}, Labels: []core.LabelMatch{running}}, "a,e")
	wantList(t, s, core.Query{Kind: kindW, Keys: []string{"f", "b"}}, "b,f")
	wantList(t, s, core.Query{Kind: kindW, Account: acctB, Keys: []string{"a", "d"}}, "d")
}

// testLabelsReplaced checks that a put replaces the labels, that a
// document moved to another account or region takes its labels along,
// that a put without labels leaves none, and that a deleted document's
// labels go with it.
func testLabelsReplaced(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, labeled("a", acctA, regionH, 0, lbl("status", "Running")), labeled("b", acctA, regionH, 1, lbl("status", "Running")))
	running := []core.LabelMatch{match("status", "Running")}
	q := core.Query{Kind: kindW, Account: acctA, Region: regionH, Labels: running}
	// The body alone changes: the labels stay.
	putAll(t, s, labeled("a", acctA, regionH, 10, lbl("status", "Running")))
	wantList(t, s, q, "a,b")
	if n := getN(t, s, "a"); n != 10 {
		t.Errorf("a's body after a put keeping its labels: n = %d, want 10", n)
	}
	putAll(t, s, labeled("a", acctA, regionH, 11, lbl("status", "Stopped")))
	wantList(t, s, q, "b")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopped")}}, "a")
	putAll(t, s, labeled("b", acctB, regionB, 12, lbl("status", "Running")))
	wantList(t, s, q, "")
	wantList(t, s, core.Query{Kind: kindW, Account: acctB, Region: regionB, Labels: running}, "b")
	putAll(t, s, doc("b", acctB, regionB, 13))
	wantList(t, s, core.Query{Kind: kindW, Labels: running}, "")
	update(t, s, func(ctx context.Context, tx core.Tx) error { return tx.DeleteDoc(ctx, kindW, "a") })
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopped")}}, "")
	// A new document of the deleted one's key starts without labels.
	putAll(t, s, doc("a", acctA, regionH, 14))
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopped")}}, "")
	wantList(t, s, core.Query{Kind: kindW}, "b,a")
	wantList(t, s, core.Query{Unlabeled: true}, "")
}

// testLabelTimes checks that a label holds from its From until its Until
// at the transaction's Now, whatever the store's clock says Now is.
func testLabelTimes(t *testing.T, open Opener) {
	s := open(t)
	var now time.Time
	view(t, s, func(_ context.Context, tx core.Tx) error { now = tx.Now(); return nil })
	past, future := now.Add(-time.Hour), now.Add(time.Hour)
	putAll(t, s,
		labeled("was", acctA, regionH, 0, core.Label{Name: "status", Value: "Running", Until: past},
			core.Label{Name: "status", Value: "Stopped", From: past}),
		labeled("is", acctA, regionH, 1, core.Label{Name: "status", Value: "Running", From: past, Until: future}),
		labeled("will", acctA, regionH, 2, core.Label{Name: "status", Value: "Stopped", Until: future},
			core.Label{Name: "status", Value: "Running", From: future}),
		labeled("always", acctA, regionH, 3, lbl("status", "Running")),
		labeled("never", acctA, regionH, 4, core.Label{Name: "status", Value: "Running", From: now, Until: now}),
	)
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Running")}}, "is,always")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Stopped")}}, "was,will")
	wantList(t, s, core.Query{Kind: kindW, Labels: []core.LabelMatch{match("status", "Running", "Stopped")}}, "was,is,will,always")
}

// testLabelGlob checks pattern matches: '*' matches any run, every other
// character (the metacharacters of GLOB and LIKE included) only itself,
// and case counts.
func testLabelGlob(t *testing.T, open Opener) {
	s := open(t)
	names := []string{"web-1", "web-2", "db-1", "Web-3", "we?b", "we_b", "we%b", "we[b]", `we\b`, "web"}
	var docs []core.Doc
	for i, n := range names {
		docs = append(docs, labeled(fmt.Sprintf("k%d", i), acctA, regionH, i, lbl("name", n)))
	}
	putAll(t, s, docs...)
	for pattern, want := range map[string]string{
		"web-*":  "k0,k1",
		"*-1":    "k0,k2",
		"*":      "k0,k1,k2,k3,k4,k5,k6,k7,k8,k9",
		"we?b":   "k4",
		"we_b":   "k5",
		"we%b":   "k6",
		"we[b]":  "k7",
		`we\b`:   "k8",
		"we*b":   "k4,k5,k6,k8,k9",
		"web":    "k9",
		"Web-*":  "k3",
		"*eb-*":  "k0,k1,k3",
		"nobody": "",
	} {
		q := core.Query{Kind: kindW, Account: acctA, Region: regionH,
			Labels: []core.LabelMatch{{Name: "name", Values: []string{pattern}, Glob: true}}}
		wantList(t, s, q, want)
	}
}

// testCursors checks AfterSeq and Offset paging with and without labels:
// pages read in turn give the whole listing once, a cursor holds after
// its document is deleted, and Seq is the same on every page and in
// every query.
func testCursors(t *testing.T, open Opener) {
	s := open(t)
	var docs []core.Doc
	for i := range 25 {
		var labels []core.Label
		if i%2 == 0 {
			labels = append(labels, lbl("even", "1"))
		}
		docs = append(docs, labeled(fmt.Sprintf("w-%02d", 25-i), acctA, regionH, i, labels...))
	}
	putAll(t, s, docs...)
	for _, base := range []core.Query{
		{Kind: kindW},
		{Kind: kindW, Account: acctA, Region: regionH, Labels: []core.LabelMatch{match("even", "1")}},
	} {
		all := list(t, s, base)
		seqs := map[string]int64{}
		for i, d := range all {
			if d.Seq <= 0 || (i > 0 && d.Seq <= all[i-1].Seq) {
				t.Fatalf("Seq of %s = %d after %d: not positive and increasing", d.Key, d.Seq, all[max(i-1, 0)].Seq)
			}
			seqs[d.Key] = d.Seq
		}
		for _, limit := range []int{1, 4, 7, 25} {
			var byCursor, byOffset []core.Doc
			q := base
			q.Limit = limit
			for n := 0; n <= len(all); n++ {
				page := list(t, s, q)
				byCursor = append(byCursor, page...)
				if len(page) < limit {
					break
				}
				q.AfterSeq = page[len(page)-1].Seq
			}
			q = base
			q.Limit = limit
			for ; q.Offset <= len(all); q.Offset += limit {
				byOffset = append(byOffset, list(t, s, q)...)
			}
			for what, got := range map[string][]core.Doc{"AfterSeq": byCursor, "Offset": byOffset} {
				if keys(got) != keys(all) {
					t.Errorf("%s paging of %+v by %d = %s, want %s", what, base, limit, keys(got), keys(all))
				}
				for _, d := range got {
					if d.Seq != seqs[d.Key] {
						t.Errorf("%s: Seq of %s = %d, want %d", what, d.Key, d.Seq, seqs[d.Key])
					}
				}
			}
		}
		q := base
		q.AfterSeq = all[2].Seq
		wantList(t, s, q, keys(all[3:]))
		q.Offset, q.Limit = 1, 2
		wantList(t, s, q, keys(all[4:6]))
	}
	// A cursor on a deleted document still continues after its place.
	all := list(t, s, core.Query{Kind: kindW})
	update(t, s, func(ctx context.Context, tx core.Tx) error { return tx.DeleteDoc(ctx, kindW, all[5].Key) })
	wantList(t, s, core.Query{Kind: kindW, AfterSeq: all[5].Seq, Limit: 3}, keys(all[6:9]))
}

// testQueryErrors checks the bounds of the new query fields.
func testQueryErrors(t *testing.T, open Opener) {
	s := open(t)
	ctx := context.Background()
	tooMany := make([]string, core.MaxQueryKeys+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint(i)
	}
	err := s.View(ctx, func(tx core.Tx) error {
		for what, q := range map[string]core.Query{
			"Offset -1":             {Kind: kindW, Offset: -1},
			"AfterSeq -1":           {Kind: kindW, AfterSeq: -1},
			"Keys without Kind":     {Keys: []string{"a"}},
			"Labels without Kind":   {Labels: []core.LabelMatch{match("a", "b")}},
			"a match without value": {Kind: kindW, Labels: []core.LabelMatch{{Name: "a"}}},
			"a match without name":  {Kind: kindW, Labels: []core.LabelMatch{{Values: []string{"b"}}}},
			"two patterns":          {Kind: kindW, Labels: []core.LabelMatch{{Name: "a", Values: []string{"b", "c"}, Glob: true}}},
			"too many keys":         {Kind: kindW, Keys: tooMany},
		} {
			_, err := tx.ListDocs(ctx, q)
			wantKind(t, err, core.KindInvalid, "ListDocs("+what+")")
			_, err = tx.CountDocs(ctx, q)
			wantKind(t, err, core.KindInvalid, "CountDocs("+what+")")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testLabelsInUpdate checks that label queries and counts inside an
// Update see the Update's own writes.
func testLabelsInUpdate(t *testing.T, open Opener) {
	s := open(t)
	putAll(t, s, labeled("a", acctA, regionH, 0, lbl("status", "Running")))
	q := core.Query{Kind: kindW, Account: acctA, Region: regionH, Labels: []core.LabelMatch{match("status", "Running")}}
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		if err := tx.PutDoc(ctx, labeled("b", acctA, regionH, 1, lbl("status", "Running"))); err != nil {
			return err
		}
		if err := tx.PutDoc(ctx, labeled("a", acctA, regionH, 2, lbl("status", "Stopped"))); err != nil {
			return err
		}
		docs, err := tx.ListDocs(ctx, q)
		if err != nil {
			return err
		}
		n, err := tx.CountDocs(ctx, q)
		if err != nil {
			return err
		}
		if keys(docs) != "b" || n != 1 {
			t.Errorf("inside the Update: listed %q, counted %d; want b and 1", keys(docs), n)
		}
		return nil
	})
	wantList(t, s, q, "b")
}

// labeledWidget is a core.Labeled resource: core.Put stores its labels.
type labeledWidget struct {
	widget
	Status string
}

func (w *labeledWidget) Labels() []core.Label { return []core.Label{lbl("status", w.Status)} }

// testLabeledGenerics checks core.Put of a Labeled resource, core.ListSeq
// and core.Count.
func testLabeledGenerics(t *testing.T, open Opener) {
	s := open(t)
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		for i, st := range []string{"Running", "Stopped", "Running"} {
			w := &labeledWidget{widget: widget{ID: fmt.Sprint("w", i), Account: acctA, Region: regionH, N: i}, Status: st}
			if err := core.Put(ctx, tx, w); err != nil {
				return err
			}
		}
		return nil
	})
	q := core.Query{Account: acctA, Labels: []core.LabelMatch{match("status", "Running")}}
	view(t, s, func(ctx context.Context, tx core.Tx) error {
		got, err := core.ListSeq[labeledWidget](ctx, tx, q)
		if err != nil {
			return err
		}
		n, err := core.Count[labeledWidget](ctx, tx, q)
		if err != nil {
			return err
		}
		if len(got) != 2 || got[0].V.ID != "w0" || got[1].V.ID != "w2" || got[0].Seq >= got[1].Seq || n != 2 {
			t.Errorf("ListSeq = %+v, Count = %d; want w0 and w2 in order, 2", got, n)
		}
		return nil
	})
}

// testOffsetsAcrossBuckets checks offsets and counts over more documents
// than one of SQLite's label buckets holds (512 seqs), with documents
// whose labels hold only for an interval mixed in, some holding now and
// some not, and others deleted: every offset gives the listing's rest.
func testOffsetsAcrossBuckets(t *testing.T, open Opener) {
	s := open(t)
	var now time.Time
	view(t, s, func(_ context.Context, tx core.Tx) error { now = tx.Now(); return nil })
	const n = 1300
	var docs []core.Doc
	for i := range n {
		l := lbl("status", "Running")
		switch i % 7 {
		case 3:
			l.Until = now.Add(time.Hour) // holds now
		case 5:
			l.From = now.Add(time.Hour) // not yet
		}
		docs = append(docs, labeled(fmt.Sprintf("w%04d", i), acctA, regionH, i, l))
	}
	putAll(t, s, docs...)
	update(t, s, func(ctx context.Context, tx core.Tx) error {
		for i := 0; i < n; i += 11 {
			if err := tx.DeleteDoc(ctx, kindW, fmt.Sprintf("w%04d", i)); err != nil {
				return err
			}
		}
		return nil
	})
	q := core.Query{Kind: kindW, Account: acctA, Region: regionH, Labels: []core.LabelMatch{match("status", "Running")}}
	all := list(t, s, q)
	want := 0
	for i := range n {
		if i%11 != 0 && i%7 != 5 {
			want++
		}
	}
	if len(all) != want || count(t, s, q) != want {
		t.Fatalf("listed %d, counted %d, want %d", len(all), count(t, s, q), want)
	}
	for _, off := range []int{1, 100, 460, 461, 511, 512, 600, 900, 1000, want - 1, want, want + 5} {
		q := q
		q.Offset, q.Limit = off, 25
		got := list(t, s, q)
		if w := keys(all[min(off, len(all)):min(off+25, len(all))]); keys(got) != w {
			t.Errorf("offset %d: %s, want %s", off, keys(got), w)
		}
	}
}
