// Package libvirt is the console and machine driver that puts latchkey in
// front of existing KVM hosts (PRODUCT.md §5, driver "libvirt"): it speaks
// libvirt's RPC protocol (github.com/digitalocean/go-libvirt) to each host
// of a hosts file, over a unix socket, TCP or TLS.
//
// # Domains
//
// An instance's machine is either a domain latchkey creates, named
// latchkey-<product>-<instance id>, from the hosts file's template (direct
// kernel boot or a disk, vCPUs and memory from the template or from BCC's
// cpuCount and memoryCapacityInGB, a VNC server on the host's loopback
// with a graphics password, a serial console on a unix socket with a log,
// and the qemu-guest-agent channel), or an existing domain the instance
// adopted (a fleet file's machine: HOST/DOMAIN, by name or UUID).
//
// A new domain goes on the reachable host with the fewest domains named
// latchkey-…, the first in the hosts file on a tie. It is defined when the
// instance is created (ECS: with the instance's console password) and
// started when the instance starts. latchkey finds a domain it created by
// name, on the host it was last seen on first, then on every host, so no
// placement is stored and every replica finds the same domain.
//
// # Calls
//
//   - SetConsolePassword: the domain's VNC graphics password, changed by
//     one DomainUpdateDeviceFlags call with Live|Config (Config alone when
//     the domain is shut off), so the change holds for new VNC
//     connections at once and across the domain's restarts.
//   - OpenConsole: a TCP connection to the domain's VNC port on the host
//     (Host.VNCAddress, or the URI's host, or 127.0.0.1 for a local
//     socket); the VNC server does VNC Authentication itself.
//   - SetGuestPassword: virDomainSetUserPassword through the guest's
//     qemu-guest-agent.
//   - StartMachine, StopMachine (a shutdown through the guest agent or
//     ACPI, destroy after Config.StopGrace or at once with force),
//     RebootMachine (through the guest agent or ACPI, or reset with
//     force), DeleteMachine (destroy and undefine; an adopted domain is
//     only forgotten and left as it is).
//
// # Status
//
// Run follows every host: its lifecycle events, and a poll every
// Config.Poll in case an event was missed, reach the followers that
// Follow registers (ECS and BCC), which bring an instance's status in
// line with its domain when it was started or shut off behind latchkey's
// back. Adopted domains are not followed.
//
// # Failures
//
// A host that cannot be reached, a domain that cannot be found or that
// refuses a change, and a guest agent that does not answer give a
// *core.Error of KindUnavailable: ECS answers InstanceNotReady, BCC its
// conflict, and nothing changed. A host's connection is made on first
// use and again after it broke. go-libvirt calls take no context: a host
// that accepts the connection and then never answers holds the call.
//
// Passwords travel only inside libvirt RPC messages, which are never
// logged; log lines and errors name hosts and domains only.
package libvirt
