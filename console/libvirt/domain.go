package libvirt

import (
	"errors"
	"path/filepath"

	"libvirt.org/go/libvirtxml"
)

// agentChannel is the virtio-serial port name qemu-guest-agent uses.
const agentChannel = "org.qemu.guest_agent.0"

// domainXML is the definition of a domain latchkey creates: the
// template's boot, memory and vCPUs (or the instance's), a VNC server on
// the host's loopback asking for vncPassword, a serial console on a unix
// socket with a log, and the guest agent's channel.
func (t Template) domainXML(name string, cpus, memoryMiB int, vncPassword string) (string, error) {
	if cpus == 0 {
		cpus = t.VCPUs
	}
	if memoryMiB == 0 {
		memoryMiB = t.MemoryMiB
	}
	d := &libvirtxml.Domain{
		Type:        t.Type,
		Name:        name,
		Description: "created by latchkey",
		Memory:      &libvirtxml.DomainMemory{Value: uint(memoryMiB), Unit: "MiB"},
		VCPU:        &libvirtxml.DomainVCPU{Value: uint(cpus)},
		OS: &libvirtxml.DomainOS{
			Type:    &libvirtxml.DomainOSType{Arch: "x86_64", Machine: "q35", Type: "hvm"},
			Kernel:  t.Kernel,
			Initrd:  t.Initrd,
			Cmdline: t.Cmdline,
		},
		Features:   &libvirtxml.DomainFeatureList{ACPI: &libvirtxml.DomainFeature{}, APIC: &libvirtxml.DomainFeatureAPIC{}},
		OnPoweroff: "destroy", OnReboot: "restart", OnCrash: "destroy",
		Devices: &libvirtxml.DomainDeviceList{
			Graphics: []libvirtxml.DomainGraphic{{VNC: &libvirtxml.DomainGraphicVNC{
				Port: -1, AutoPort: "yes", Listen: "127.0.0.1", Passwd: vncPassword,
			}}},
			Channels: []libvirtxml.DomainChannel{{
				Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{Mode: "bind"}},
				Target: &libvirtxml.DomainChannelTarget{VirtIO: &libvirtxml.DomainChannelTargetVirtIO{Name: agentChannel}},
			}},
			Videos: []libvirtxml.DomainVideo{{Model: libvirtxml.DomainVideoModel{Type: "vga"}}},
		},
	}
	if t.Type == "qemu" {
		d.CPU = &libvirtxml.DomainCPU{Mode: "maximum"}
	} else {
		d.CPU = &libvirtxml.DomainCPU{Mode: "host-passthrough"}
	}
	if t.SerialDir != "" {
		d.Devices.Serials = []libvirtxml.DomainSerial{{
			Source: &libvirtxml.DomainChardevSource{UNIX: &libvirtxml.DomainChardevSourceUNIX{
				Mode: "bind", Path: filepath.Join(t.SerialDir, name+".serial"),
			}},
			Log: &libvirtxml.DomainChardevLog{File: filepath.Join(t.SerialDir, name+".log"), Append: "off"},
		}}
	}
	if t.Disk != "" {
		d.Devices.Disks = []libvirtxml.DomainDisk{{
			Device: "disk",
			Driver: &libvirtxml.DomainDiskDriver{Name: "qemu", Type: "qcow2"},
			Source: &libvirtxml.DomainDiskSource{File: &libvirtxml.DomainDiskSourceFile{File: t.Disk}},
			Target: &libvirtxml.DomainDiskTarget{Dev: "vda", Bus: "virtio"},
		}}
	}
	return d.Marshal()
}

// vncGraphics returns the domain's first VNC graphics device.
func vncGraphics(xml string) (*libvirtxml.DomainGraphic, error) {
	var d libvirtxml.Domain
	if err := d.Unmarshal(xml); err != nil {
		return nil, err
	}
	if d.Devices != nil {
		for i := range d.Devices.Graphics {
			if g := &d.Devices.Graphics[i]; g.VNC != nil {
				return g, nil
			}
		}
	}
	return nil, errors.New("the domain has no VNC graphics device")
}
