//go:build unix

package qemu

import (
	"context"
	"sync"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// source is a password source holding one password, as the store does.
type source struct {
	mu sync.Mutex
	pw string
}

func (s *source) set(pw string) { s.mu.Lock(); s.pw = pw; s.mu.Unlock() }

func (s *source) LivePassword(context.Context, core.ConsoleTarget) (core.Secret, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return core.NewSecret(s.pw), nil
}

// A driver with a password source needs nothing pushed: a console that
// opens takes the source's password, also in a fresh driver (latchkey
// restarted, or another replica), and follows a change of the source at
// its next opening.
func TestConsoleTakesItsSourcesPassword(t *testing.T) {
	src := &source{pw: "Src123"}
	first, _ := newDriver(t, Config{})
	first.ServeFrom("ecs", src)
	tg := target("i-from-source")
	if !login(t, first, tg, "Src123") {
		t.Fatal("the source's password was rejected")
	}
	src.set("Src456")
	if login(t, first, tg, "Src123") || !login(t, first, tg, "Src456") {
		t.Fatal("the console did not follow the source's change")
	}
	first.Close()

	again, _ := newDriver(t, Config{})
	again.ServeFrom("ecs", src)
	if login(t, again, tg, "Src123") || !login(t, again, tg, "Src456") {
		t.Fatal("a fresh driver's console does not ask the source")
	}
	// Products without a source keep the pushed password.
	other := core.ConsoleTarget{Product: "bcc", ID: "i-pushed", Name: "i-pushed", Status: "Running"}
	mustSet(t, again, other, "Bcc123")
	if !login(t, again, other, "Bcc123") {
		t.Fatal("a pushed password was rejected")
	}
}
