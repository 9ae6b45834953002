// Package qemu is the console driver that puts latchkey in front of QEMU
// (PRODUCT.md §5, driver "qemu"): every console target is a
// qemu-system-x86_64 process whose VNC server asks for the password
// latchkey last set, and latchkey sets it over QMP.
//
// # Processes
//
// A target's QEMU is started on first use (SetConsolePassword or
// OpenConsole) and runs until Driver.Close:
//
//	qemu-system-x86_64 -nodefaults -no-user-config -display none
//	    -name <product>-<id> -pidfile <product>-<id>.pid
//	    -vnc unix:<product>-<id>.vnc,password=on
//	    -chardev socket,id=qmp,fd=3 -mon chardev=qmp,mode=control
//	    -machine none
//
// in the state directory <dir> (file names are relative to it, so its
// path may hold characters QEMU's option syntax reserves).
//
// -machine none has no guest at all: the process is only a VNC server and
// a monitor, ready in about 135 ms with about 19 MB PSS, using no CPU
// while idle, and its console reads "This VM has no graphic display
// device.". That is all a console password needs, so it is the default.
// MachinePC (-machine pc -m 64 -vga std) runs a PC without a disk instead,
// so that the console shows SeaBIOS; it is slower to start, larger and
// uses a little CPU. Either way the VNC server listens on a unix socket,
// so consoles never compete for TCP ports, and only the owner of the state
// directory (mode 0700) can reach it. The VNC desktop is named
// "QEMU (<product>-<id>)".
//
// The monitor (QMP) is not a socket file: it is one end of a socket pair
// whose other end latchkey keeps, passed to QEMU as file descriptor 3. So
// nobody but latchkey can set a password, no stale file can get in the
// way, and no polling is needed: QEMU greets on it once it has started
// (its VNC server then listens), and its exit during the start ends the
// wait at once.
//
// The process runs in its own process group (a Ctrl-C on latchkey's
// terminal does not reach it) and, on Linux, gets SIGTERM when latchkey
// dies, so a killed latchkey leaves no QEMU behind. QEMU's own messages go
// to <dir>/<product>-<id>.log, replaced at each start. QEMU locks its
// pidfile, so a QEMU left over from elsewhere for the same console makes
// the start fail ("Cannot lock pid file", in the error) rather than run
// twice.
//
// # Passwords
//
// SetConsolePassword sends QMP set_password {"protocol":"vnc"} and then
// expire_password {"time":"never"} (set_password alone keeps an earlier
// expiry; vnc-backends.md §7). A password is never put in argv, in a log
// line or in an error: it only travels over the QMP socket, and QMP
// messages are never logged. Empty passwords are refused: VNC treats the
// empty string as a password anyone can type. VNC Authentication uses
// only the first 8 bytes of a password.
//
// QEMU keeps a password across system_reset, so "takes effect at the next
// restart" (instances that are not I/O optimized) is done by the control
// plane, which calls SetConsolePassword when it restarts the instance.
//
// # Failures and restarts
//
// The driver remembers, in memory, the last password each console
// confirmed. The contract it keeps is: a console serves that password or
// nothing, never one whose change was not confirmed.
//
//   - A QEMU that exited (crashed, or killed by someone) is started again
//     on next use, and the remembered password is applied to it before
//     anything else. So SetConsolePassword on a console whose QEMU was
//     killed succeeds with a fresh QEMU, and the new password is live.
//   - If QEMU cannot be started or does not answer, SetConsolePassword
//     returns a *core.Error of KindUnavailable, ReasonConsoleUnreachable
//     (ECS answers InstanceNotReady) and the remembered password stays.
//   - If a QMP exchange fails midway (a timeout, a broken protocol) the
//     password QEMU holds is unknown, so that QEMU is stopped; open
//     sessions end, and the next use starts it again with the remembered
//     password.
//   - A QMP error answer to set_password changes nothing and leaves QEMU
//     running.
//
// After a restart of latchkey the memory is empty. A product that gives
// the driver a password source (ServeFrom; ECS does) has each console
// take the source's password when it opens, whenever QEMU holds another:
// nothing is pushed at start, and a console that opens later, or on
// another replica, asks for the password the store holds.
package qemu
