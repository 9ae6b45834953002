package sqlite

import (
	"context"
	"slices"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/store/internal/tables"
)

// bucket is how many documents one label bucket (tables.BucketBits) holds
// for a query.
type bucket struct{ id, n int64 }

// buckets returns, in order, the buckets that hold documents q's one
// label selects at the transaction's Now, with how many: the open-ended
// rows label_buckets counts, plus the rows with an interval that hold now.
// It reads one row per bucket and one per row with an interval, never the
// label rows one by one. q must be tables.Bucketed.
func (t *tx) buckets(ctx context.Context, op string, q core.Query) ([]bucket, error) {
	var out []bucket
	query, args := tables.BucketCounts(dialect, q)
	rows, err := t.query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	for rows.Next() {
		var b bucket
		if err := rows.Scan(&b.id, &b.n); err != nil {
			rows.Close()
			return nil, mapErr(op, err)
		}
		out = append(out, b)
	}
	if err := rows.Close(); err != nil {
		return nil, mapErr(op, err)
	}
	query, args = tables.BoundedSeqs(dialect, q, t.now)
	rows, err = t.query(ctx, query, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, mapErr(op, err)
		}
		id := seq >> tables.BucketBits
		i, found := slices.BinarySearchFunc(out, id, func(b bucket, id int64) int { return int(b.id - id) })
		if !found {
			out = slices.Insert(out, i, bucket{id: id})
		}
		out[i].n++
	}
	return out, mapErr(op, rows.Err())
}

// skipBuckets turns q's Offset into a position and a smaller offset: the
// buckets wholly before the offset are skipped by their counts, so the
// statement reads at most one bucket's rows to reach it. It reports false
// when the offset is past the last document. q must be tables.Bucketed.
func (t *tx) skipBuckets(ctx context.Context, op string, q core.Query) (core.Query, bool, error) {
	bs, err := t.buckets(ctx, op, q)
	if err != nil {
		return q, false, err
	}
	skipped := int64(0)
	for _, b := range bs {
		if skipped+b.n > int64(q.Offset) {
			q.AfterSeq = max(0, b.id<<tables.BucketBits-1)
			q.Offset -= int(skipped)
			return q, true, nil
		}
		skipped += b.n
	}
	return q, false, nil
}
