package agent

import "syscall"

// sysProcAttr puts Xvnc in its own process group, so that signals meant
// for the agent's terminal do not reach it, and has the kernel send it
// SIGTERM when the agent dies, so that a killed agent leaves no Xvnc and
// (thanks to SIGTERM rather than SIGKILL) no X11 lock or socket behind.
// Pdeathsig follows the thread that started Xvnc; Go ends threads only
// after LockOSThread, which this package never calls. With private, Xvnc
// starts in a mount namespace of its own (see plain.go); Go marks every
// mount in it private, so nothing done there reaches the host.
func sysProcAttr(private bool) (*syscall.SysProcAttr, error) {
	a := &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if private {
		a.Unshareflags = syscall.CLONE_NEWNS
	}
	return a, nil
}
