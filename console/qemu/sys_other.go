//go:build !unix

package qemu

import (
	"errors"
	"net"
	"os"
	"syscall"
)

// socketPair fails: QEMU's monitor is reached through a unix socket pair,
// which this system does not have, so every console is unreachable.
func socketPair() (net.Conn, *os.File, error) {
	return nil, nil, errors.New("the qemu console driver needs a unix system")
}

func sysProcAttr() *syscall.SysProcAttr { return nil }
