package service

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/latchkey/latchkey/core"
)

// maxPageNumber is the largest PageNumber the Alibaba APIs accept: the
// parameter is an Integer (int32) in their references. A larger one is
// InvalidParameter, never an overflow.
const maxPageNumber = math.MaxInt32

// pageBounds returns the slice [lo, hi) of total items that page number
// (from 1) of size items covers; a page past the end is empty. It cannot
// overflow: number and size are bounded by their checks.
func pageBounds(total, number, size int) (lo, hi int) {
	if number-1 >= (total+size-1)/size {
		return total, total
	}
	lo = (number - 1) * size
	return lo, min(lo+size, total)
}

// encodeCursor and decodeCursor give a listing's position (core.Doc.Seq)
// as an opaque token of 16 lowercase hexadecimal digits: the NextToken and
// Marker of the listings that page by cursor. A cursor stays valid when
// its resource is deleted: the listing goes on after its place.
func encodeCursor(seq int64) string { return fmt.Sprintf("%016x", seq) }

// decodeCursor reports false for anything encodeCursor does not make.
func decodeCursor(token string) (int64, bool) {
	if len(token) != 16 {
		return 0, false
	}
	for _, r := range token {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return 0, false
		}
	}
	seq, err := strconv.ParseInt(token, 16, 64)
	return seq, err == nil && seq > 0
}

// scanPage reads the resources q selects in insertion order from
// q.AfterSeq, a chunk of n at a time, keeping those keep accepts at the
// transaction's Now, until it has n of them or the listing ends. It
// serves listings whose filters the labels narrow but do not decide:
// when they do decide, the first chunk is the page.
func scanPage[T any, P interface {
	*T
	core.Resource
}](ctx context.Context, tx core.Tx, q core.Query, n int, keep func(*T, time.Time) bool) ([]core.Listed[T], error) {
	q.Limit = n
	var out []core.Listed[T]
	for {
		list, err := core.ListSeq[T, P](ctx, tx, q)
		if err != nil {
			return nil, err
		}
		for _, l := range list {
			if keep(l.V, tx.Now()) {
				if out = append(out, l); len(out) == n {
					return out, nil
				}
			}
		}
		if len(list) < q.Limit {
			return out, nil
		}
		q.AfterSeq = list[len(list)-1].Seq
	}
}
