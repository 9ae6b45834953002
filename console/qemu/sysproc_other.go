//go:build unix && !linux

package qemu

import "syscall"

// sysProcAttr puts QEMU in its own process group, so that signals meant
// for latchkey's terminal do not reach it. Outside Linux the kernel does
// not stop it when latchkey dies; Close does.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
