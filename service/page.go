package service

import "math"

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
