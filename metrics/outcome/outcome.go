// Package outcome carries what a request was and how it ended from the
// handler that knows (a protocol front end) to the metrics middleware
// around it, through the request's context. It has no dependencies, so
// front ends can report without importing the metrics package.
package outcome

import (
	"context"
	"sync"
)

// Slot holds one request's outcome.
type Slot struct {
	mu                    sync.Mutex
	product, action, code string
}

type key struct{}

// With returns ctx carrying a new, empty slot, and the slot.
func With(ctx context.Context) (context.Context, *Slot) {
	s := &Slot{}
	return context.WithValue(ctx, key{}, s), s
}

// Set records the outcome of ctx's request: the product ("ecs", "ehpc",
// "ram", "bcc"; empty keeps the middleware's default), the action as the
// API names it (empty for one that does not exist: the name came from the
// client) and the result code ("Success" or the provider's error code).
// Outside a slot it does nothing. Values must hold no secret.
func Set(ctx context.Context, product, action, code string) {
	s, _ := ctx.Value(key{}).(*Slot)
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if product != "" {
		s.product = product
	}
	s.action, s.code = action, code
}

// Get returns what Set recorded.
func (s *Slot) Get() (product, action, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.product, s.action, s.code
}
