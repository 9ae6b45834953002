package libvirt_test

import (
	"fmt"
	"testing"

	"github.com/baidubce/bce-sdk-go/services/bcc/api"
	golibvirt "github.com/digitalocean/go-libvirt"
	"libvirt.org/go/libvirtxml"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// BenchmarkModifyVNCPassword measures a VNC password change of a running
// domain: the raw DomainUpdateDeviceFlags call the driver makes, the
// driver's SetConsolePassword (which finds the domain and reads its
// graphics device first), and ModifyInstanceVncPasswd through the
// Alibaba Go SDK and the whole of latchkey.
func BenchmarkModifyVNCPassword(b *testing.B) {
	f := newFixture(b)
	c := f.env.ECS(b)
	id := runInstance(b, c, true)
	dom := f.domain(b, "ecs", id)
	// Measure once the guest has booted, not while it competes for the CPU.
	if _, err := f.serial(b, "ecs", id).Expect(testutil.Context(b, hangGuard), "login: "); err != nil {
		b.Fatal(err)
	}
	pw := func(i int) string { return fmt.Sprintf("Pw%04d", i%10000) }

	b.Run("raw", func(b *testing.B) {
		x, err := f.lv.DomainGetXMLDesc(dom, golibvirt.DomainXMLSecure)
		if err != nil {
			b.Fatal(err)
		}
		var d libvirtxml.Domain
		if err := d.Unmarshal(x); err != nil {
			b.Fatal(err)
		}
		g := d.Devices.Graphics[0]
		for i := 0; b.Loop(); i++ {
			g.VNC.Passwd = pw(i)
			dev, _ := g.Marshal()
			if err := f.lv.DomainUpdateDeviceFlags(dom, dev, golibvirt.DomainDeviceModifyLive|golibvirt.DomainDeviceModifyConfig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("driver", func(b *testing.B) {
		d := f.env.App().ConsoleDrivers["libvirt"]
		target := core.ConsoleTarget{Product: "ecs", ID: id, Status: string(core.StatusRunning)}
		ctx := testutil.Context(b, hangGuard)
		for i := 0; b.Loop(); i++ {
			if err := d.SetConsolePassword(ctx, target, core.NewSecret(pw(i))); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("sdk", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			if err := modify(c, id, pw(i)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkGuestBoot measures a domain's start until its guest's login
// prompt on the serial console (TCG). Run it with -benchtime=Nx.
func BenchmarkGuestBoot(b *testing.B) {
	f := newFixture(b)
	c := f.env.ECS(b)
	id := runInstance(b, c, true)
	dom := f.domain(b, "ecs", id)
	if err := f.lv.DomainDestroy(dom); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := f.lv.DomainCreate(dom); err != nil {
			b.Fatal(err)
		}
		s := f.serial(b, "ecs", id)
		if _, err := s.Expect(testutil.Context(b, hangGuard), "login: "); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		if err := f.lv.DomainDestroy(dom); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkChangePass measures BCC changePass through bce-sdk-go, the
// whole of latchkey, libvirt and the guest's qemu-guest-agent.
func BenchmarkChangePass(b *testing.B) {
	f := newFixture(b)
	c := f.env.BCC(b)
	res, err := c.CreateInstance(&api.CreateInstanceArgs{ImageId: "m-Z1TCx0Zv", CpuCount: 1, MemoryCapacityInGB: 1})
	if err != nil {
		b.Fatal(err)
	}
	id := res.InstanceIds[0]
	dom := f.domain(b, "bcc", id)
	if err := f.serial(b, "bcc", id).WaitLogin(testutil.Context(b, hangGuard)); err != nil {
		b.Fatal(err)
	}
	f.waitAgent(b, dom)
	for i := 0; b.Loop(); i++ {
		if err := changePass(c, id, fmt.Sprintf("Bench%04d!", i%10000)); err != nil {
			b.Fatal(err)
		}
	}
}
