// Package agent is latchkey's node agent (`latchkey agent`, PRODUCT.md
// §5): it runs on an E-HPC login node, runs the node's visual service as
// a TigerVNC Xvnc, and serves a small authenticated HTTP API through
// which the control plane's tigervnc visual driver starts and stops the
// service and sets its password.
//
// How a password takes effect (vnc-backends.md §1, §2):
//
//   - VNC Authentication: the agent replaces Xvnc's -rfbauth file (written
//     with rfb.PasswdFile, the vncpasswd format) by writing a temporary
//     file and renaming it over the old one. Xvnc reads the file at every
//     new connection, so the password is live for the next connection,
//     with the same Xvnc process; connections already open stay open. Only
//     the first 8 characters count, as with every VNC server.
//   - VeNCrypt Plain (the 2024 password policy, 8–30 characters): Xvnc
//     also offers Plain, checked by PAM against a private account database
//     of the node with the whole password (see plain.go). It needs the
//     agent to run as root on Linux; the host's /etc/shadow is never
//     written, and the visual password never becomes a login password.
//
// Xvnc is started with -displayfd, so the agent learns that it listens
// without polling; it is stopped with SIGTERM and waited for (never
// SIGHUP, which drops every connection, nor SIGKILL first, which leaves
// X11 lock files). Each node's Xvnc gets a free X display (one whose
// lock file and socket do not exist) from Config.DisplayBase up.
//
// Xvnc answers every RFB handshake on the node, so its own blacklist
// guards the visual service against password guessing: after 5 failed
// logins from one address it refuses that address for 10 s, doubling on
// repeated offences (UseBlacklist, BlacklistThreshold, BlacklistTimeout,
// on by default; latchkey's sim listeners do the same, package
// console/blacklist). The agent never turns it off; only tests pass
// -UseBlacklist=0 through Config.ExtraArgs.
//
// Xvnc has no host filter, so the service's CidrIp is recorded but not
// enforced unless it allows every address (Status.CIDREnforced): restrict
// access to the visual port with the node's firewall.
//
// Nothing in this package logs or returns a password or the token:
// passwords travel in Password values, which print as [redacted], and
// never appear on Xvnc's command line.
package agent
