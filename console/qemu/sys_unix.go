//go:build unix

package qemu

import (
	"net"
	"os"
	"syscall"
)

// socketPair returns a connected pair of unix stream sockets: mine for
// latchkey, theirs (an *os.File) to hand to QEMU. Both are close-on-exec,
// set under ForkLock, so a QEMU started concurrently for another console
// does not inherit them; exec.Cmd.ExtraFiles passes theirs on explicitly.
func socketPair() (mine net.Conn, theirs *os.File, err error) {
	syscall.ForkLock.RLock()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err == nil {
		syscall.CloseOnExec(fds[0])
		syscall.CloseOnExec(fds[1])
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fds[0]), "qmp")
	mine, err = net.FileConn(f) // dups the descriptor
	f.Close()
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return mine, os.NewFile(uintptr(fds[1]), "qmp-qemu"), nil
}
