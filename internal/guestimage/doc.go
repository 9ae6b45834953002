// Package guestimage builds latchkey's small real guest and talks to its
// serial console. The guest (build.sh, from this machine's Debian
// packages) is a Linux kernel and a busybox initramfs with a serial login
// on ttyS0 and qemu-guest-agent on the virtio-serial port
// org.qemu.guest_agent.0; root can log in only once a password has been
// set through the agent. Build caches the image under a directory keyed by
// the hash of the script and of the files it is built from, so a second
// build costs a few hashes.
package guestimage
