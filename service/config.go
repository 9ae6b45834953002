package service

import (
	"crypto/rand"
	"io"
	"log/slog"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Config holds what every service needs. Zero values get defaults from
// fill: the system clock, crypto/rand, a discarding logger, and an
// authorizer that allows only account roots.
type Config struct {
	Store      core.Store
	Sealer     core.Sealer
	Hasher     core.Hasher
	Clock      core.Clock
	Rand       io.Reader
	Authorizer core.Authorizer
	Log        *slog.Logger

	// Drivers maps a driver name to its console driver; DefaultDriver
	// names the one new resources get ("sim" unless set).
	Drivers       map[string]core.ConsoleDriver
	DefaultDriver string

	// Transition is how long each intermediate instance status lasts
	// (Pending, Starting, Stopping); 0 makes transitions immediate.
	Transition time.Duration
}

func (c *Config) fill() {
	if c.Clock == nil {
		c.Clock = core.SystemClock{}
	}
	if c.Rand == nil {
		c.Rand = rand.Reader
	}
	if c.Authorizer == nil {
		c.Authorizer = RootOnly{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.DefaultDriver == "" {
		c.DefaultDriver = "sim"
	}
}

func (c *Config) driver(name string) (core.ConsoleDriver, error) {
	if d, ok := c.Drivers[name]; ok {
		return d, nil
	}
	return nil, &core.Error{Kind: core.KindInternal, Message: "no console driver " + name}
}
