//go:build unix

package qemu

import (
	"context"
	"net"
	"strconv"
	"testing"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// benchConsole returns a driver over a fresh directory, closed when b
// ends, whose console tg runs with password pw.
func benchConsole(b *testing.B, tg core.ConsoleTarget, pw core.Secret) *Driver {
	b.Helper()
	needQEMU(b)
	d, err := New(Config{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { d.Close() })
	if err := d.SetConsolePassword(context.Background(), tg, pw); err != nil {
		b.Fatal(err)
	}
	return d
}

// BenchmarkSetConsolePassword measures a password change on a running
// console: set_password and expire_password over the open monitor.
func BenchmarkSetConsolePassword(b *testing.B) {
	ctx := context.Background()
	tg := target("i-bench")
	pws := []core.Secret{core.NewSecret("Bench1"), core.NewSecret("Bench2")}
	d := benchConsole(b, tg, pws[0])
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if err := d.SetConsolePassword(ctx, tg, pws[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkColdSetConsolePassword measures the first password of a
// console: QEMU's start, the QMP handshake and the change.
func BenchmarkColdSetConsolePassword(b *testing.B) {
	for _, m := range []Machine{MachineNone, MachinePC} {
		b.Run(string(m), func(b *testing.B) {
			needQEMU(b)
			d, err := New(Config{Dir: b.TempDir(), Machine: m})
			if err != nil {
				b.Fatal(err)
			}
			defer d.Close()
			ctx := context.Background()
			pw := core.NewSecret("Bench1")
			for i := 0; b.Loop(); i++ {
				tg := target("i-cold-" + strconv.Itoa(i))
				if err := d.SetConsolePassword(ctx, tg, pw); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				c, _ := d.console(tg)
				c.mu.Lock()
				c.stop(c.proc)
				c.mu.Unlock()
				b.StartTimer()
			}
		})
	}
}

// BenchmarkLogin measures OpenConsole plus a VNC Authentication login
// against QEMU.
func BenchmarkLogin(b *testing.B) {
	ctx := context.Background()
	tg := target("i-bench")
	d := benchConsole(b, tg, core.NewSecret("Bench1"))
	for b.Loop() {
		conn, err := d.OpenConsole(ctx, tg)
		if err != nil {
			b.Fatal(err)
		}
		c, err := rfb.Login(ctx, conn.(net.Conn), "Bench1")
		if err != nil {
			b.Fatal(err)
		}
		c.Close()
	}
}
