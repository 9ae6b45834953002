package testutil

import (
	"fmt"
	"testing"
)

// fakeT is a testing.TB that records how a helper ended the test instead
// of ending the real one: Fatal and Skip unwind through a panic that run
// recovers.
type fakeT struct {
	testing.TB
	failed, skipped bool
	msg             string
}

type unwind struct{}

func (f *fakeT) Helper() {}
func (f *fakeT) Errorf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
}
func (f *fakeT) Fatal(args ...any) { f.failed, f.msg = true, fmt.Sprint(args...); panic(unwind{}) }
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed, f.msg = true, fmt.Sprintf(format, args...)
	panic(unwind{})
}
func (f *fakeT) Skip(args ...any) { f.skipped, f.msg = true, fmt.Sprint(args...); panic(unwind{}) }

// run calls fn with a fakeT over t and returns it once fn has returned or
// ended the fake test.
func run(t *testing.T, fn func(tb testing.TB)) *fakeT {
	f := &fakeT{TB: t}
	func() {
		defer func() {
			if r := recover(); r != nil {
				if _, ok := r.(unwind); !ok {
					panic(r)
				}
			}
		}()
		fn(f)
	}()
	return f
}
