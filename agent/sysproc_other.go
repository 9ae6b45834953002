//go:build !linux

package agent

import (
	"errors"
	"syscall"
)

// sysProcAttr puts Xvnc in its own process group. VeNCrypt Plain needs a
// private mount namespace, which only Linux has.
func sysProcAttr(private bool) (*syscall.SysProcAttr, error) {
	if private {
		return nil, errors.New("VeNCrypt Plain needs Linux mount namespaces")
	}
	return &syscall.SysProcAttr{Setpgid: true}, nil
}
