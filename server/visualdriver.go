package server

import (
	"fmt"
	"net/netip"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/faults"
	visualsim "github.com/latchkey/latchkey/visual/sim"
	"github.com/latchkey/latchkey/visual/tigervnc"
)

// The visual drivers `latchkey serve --visual-driver` chooses between for
// new E-HPC clusters (PRODUCT.md §5). Both are always registered, so a
// fleet file may put single clusters on either (driver: tigervnc).
const (
	// VisualDriverSim serves every login node's visual service inside
	// latchkey, on a loopback address of its own.
	VisualDriverSim = "sim"
	// VisualDriverTigerVNC calls `latchkey agent` on each login node,
	// which runs a real Xvnc; --visual-agents says which agent serves
	// which login node address.
	VisualDriverTigerVNC = "tigervnc"
)

// validateVisualDriver checks --visual-driver and --visual-agents: the
// tigervnc driver needs an agents file, and the file must load (its token
// and CA files included).
func (c *Config) validateVisualDriver() error {
	switch c.VisualDriver {
	case "", VisualDriverSim:
	case VisualDriverTigerVNC:
		if c.VisualAgents == "" {
			return fmt.Errorf("--visual-driver tigervnc needs --visual-agents FILE: which latchkey agent serves each login node address")
		}
	default:
		return fmt.Errorf("--visual-driver %q: want %s or %s", c.VisualDriver, VisualDriverSim, VisualDriverTigerVNC)
	}
	if c.VisualAgents != "" {
		if _, err := tigervnc.LoadAgents(c.VisualAgents); err != nil {
			return fmt.Errorf("--visual-agents: %w", err)
		}
	}
	return nil
}

// visualDefaultDriver is the visual driver of new E-HPC clusters.
func (c *Config) visualDefaultDriver() string {
	if c.VisualDriver == "" {
		return VisualDriverSim
	}
	return c.VisualDriver
}

// loginAddressesMayLeaveLoopback reports whether --ehpc-login-addresses
// may be a range of real addresses: with the tigervnc driver, login nodes
// are real hosts and their agents bind Xvnc to those addresses; the sim
// driver listens on them itself, so it needs loopback.
func (c *Config) loginAddressesMayLeaveLoopback() bool {
	return c.VisualDriver == VisualDriverTigerVNC
}

// addVisualDrivers makes the visual drivers by name, sim and tigervnc
// (over --visual-agents' agents; without the file every login node on it
// is unreachable, AgentError), and has closers stop them. It returns the
// drivers themselves, which the internal API uses, and the same drivers
// behind the fault rules, which the E-HPC service uses. The sim driver's
// listeners refuse what guard refuses.
func (a *App) addVisualDrivers(cfg Config, injector *faults.Injector, guard *blacklist.Guard) (plain, withFaults map[string]core.VisualDriver, err error) {
	var agents map[netip.Addr]tigervnc.Agent
	if cfg.VisualAgents != "" {
		if agents, err = tigervnc.LoadAgents(cfg.VisualAgents); err != nil {
			return nil, nil, err
		}
	}
	sim := visualsim.New()
	sim.Guard = guard
	a.closers = append(a.closers, sim.Close)
	tv := tigervnc.New(tigervnc.Config{Agents: agents})
	a.closers = append(a.closers, tv.Close)
	plain = map[string]core.VisualDriver{VisualDriverSim: sim, VisualDriverTigerVNC: tv}
	withFaults = make(map[string]core.VisualDriver, len(plain))
	for name, d := range plain {
		withFaults[name] = injector.VisualDriver(d)
	}
	return plain, withFaults, nil
}
