package qemu

import "syscall"

// sysProcAttr puts QEMU in its own process group, so that signals meant
// for latchkey's terminal do not reach it, and has the kernel send it
// SIGTERM when latchkey dies, so that a killed latchkey leaves no QEMU
// behind. (Pdeathsig follows the thread that started QEMU; Go ends
// threads only after LockOSThread, which this package never calls.)
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
