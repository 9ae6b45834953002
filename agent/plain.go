package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// VeNCrypt Plain checks the user name and the whole password through PAM
// (Xvnc -SecurityTypes Plain -PAMService …, vnc-backends.md §1). The
// password of the visual service must not become anybody's login password
// on the node, and the agent must never write the host's /etc/shadow. So
// each node in Plain mode gets a private account database, and its Xvnc
// runs in a mount namespace of its own where /etc is a private directory:
//
//	STATE_DIR/nodes/<node>/plain/
//	  host/              empty; inside the namespace, the host's /etc is bound here
//	  etc/               bound over /etc inside the namespace:
//	    passwd           the host's /etc/passwd, plus the Plain user if the host lacks it
//	    shadow           every account locked ("!") but the Plain user's SHA-512 crypt hash
//	    pam.d/latchkey-visual   pam_unix only
//	    <every other name in the host's /etc>  → symlink to ../host/<name>
//
// Nothing of the host's /etc is copied but the public passwd file; the
// symlinks reach the real files (ld.so.cache, nsswitch.conf, …) through
// the second binding. The password files are replaced by rename inside
// etc/, which the namespace sees because it binds the directory, not the
// files: a new password is live for the next connection without a
// restart, as with the rfbauth file. The namespace disappears with Xvnc.
// It needs root (CAP_SYS_ADMIN), mount(8) and sh.

// pamService is the PAM service Plain logins use, written into the private
// /etc. nodelay: Xvnc authenticates on its only thread, so PAM's delay
// after a failure would stall every client of the node; Xvnc's blacklist
// (on unless an operator turns it off) limits guessing instead.
const (
	pamService = "latchkey-visual"
	pamConfig  = "# latchkey agent: VeNCrypt Plain logins of one visual service\n" +
		"auth required pam_unix.so nodelay\n" +
		"account required pam_unix.so\n"
)

// hostEtc is the directory the private /etc stands in for.
const hostEtc = "/etc"

// isPrivate reports whether name is an entry of the private /etc that is
// the agent's own rather than a symlink to the host's.
func isPrivate(name string) bool {
	switch name {
	case "passwd", "shadow", "pam.d":
		return true
	}
	return false
}

// namespaceScript runs as sh -c in the new mount namespace, with $0 the
// node's plain directory and "$@" Xvnc's command line. The bindings
// vanish with the namespace.
const namespaceScript = `mount --bind /etc "$0/host" && mount --bind "$0/etc" /etc && exec "$@"`

// plainDB is one node's private account database.
type plainDB struct{ root string }

func (p plainDB) etc() string  { return filepath.Join(p.root, "etc") }
func (p plainDB) host() string { return filepath.Join(p.root, "host") }

// prepare (re)builds the private /etc around passwd and shadow: the
// directories, the PAM service, and a symlink for every other entry of
// the host's /etc. It runs before each start of Xvnc, never while one
// uses the directory.
func (p plainDB) prepare() error {
	for _, d := range []string{p.root, p.host(), p.etc(), filepath.Join(p.etc(), "pam.d")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := writeFileAtomic(filepath.Join(p.etc(), "pam.d", pamService), []byte(pamConfig)); err != nil {
		return err
	}
	// pam.d and its file must be readable by PAM running as root only, but
	// ld.so and NSS need to traverse etc/.
	if err := os.Chmod(p.etc(), 0o755); err != nil {
		return err
	}
	mine, err := os.ReadDir(p.etc())
	if err != nil {
		return err
	}
	for _, e := range mine {
		if !isPrivate(e.Name()) && e.Type()&os.ModeSymlink != 0 {
			if err := os.Remove(filepath.Join(p.etc(), e.Name())); err != nil {
				return err
			}
		}
	}
	hosts, err := os.ReadDir(hostEtc)
	if err != nil {
		return err
	}
	for _, e := range hosts {
		if isPrivate(e.Name()) {
			continue
		}
		if err := os.Symlink(filepath.Join(p.host(), e.Name()), filepath.Join(p.etc(), e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// ready reports whether the database has been written once.
func (p plainDB) ready() bool {
	_, err := os.Stat(filepath.Join(p.etc(), "shadow"))
	return err == nil
}

// setPassword makes pw the Plain password of user and locks every other
// account of the private database. passwd is written first, so that the
// user exists before its hash does.
func (p plainDB) setPassword(user string, pw core.Secret, rnd io.Reader) error {
	if err := os.MkdirAll(p.etc(), 0o700); err != nil {
		return err
	}
	host, err := os.ReadFile(filepath.Join(hostEtc, "passwd"))
	if err != nil {
		return err
	}
	passwd, names, err := privatePasswd(host, user)
	if err != nil {
		return err
	}
	salt, err := cryptSalt(rnd)
	if err != nil {
		return err
	}
	var shadow bytes.Buffer
	for _, n := range names {
		hash := "!"
		if n == user {
			hash = sha512Crypt(pw.Reveal(), salt)
		}
		// name:password:lastchg:min:max:warn:inactive:expire:reserved;
		// empty aging fields mean no aging.
		fmt.Fprintf(&shadow, "%s:%s:::::::\n", n, hash)
	}
	if err := writeFileAtomic(filepath.Join(p.etc(), "passwd"), passwd); err != nil {
		return err
	}
	if err := os.Chmod(filepath.Join(p.etc(), "passwd"), 0o644); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(p.etc(), "shadow"), shadow.Bytes())
}

// privatePasswd returns the host's passwd file with user appended when
// the host has no such account (a user of nobody's group, no home, no
// shell), and the account names in order.
func privatePasswd(host []byte, user string) ([]byte, []string, error) {
	var names []string
	used := map[int]bool{}
	sc := bufio.NewScanner(bytes.NewReader(host))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 7 || f[0] == "" || strings.HasPrefix(f[0], "#") || strings.HasPrefix(f[0], "+") || strings.HasPrefix(f[0], "-") {
			continue
		}
		names = append(names, f[0])
		if uid, err := strconv.Atoi(f[2]); err == nil {
			used[uid] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	out := bytes.TrimRight(host, "\n")
	out = append(append([]byte{}, out...), '\n')
	for _, n := range names {
		if n == user {
			return out, names, nil
		}
	}
	uid := 60000
	for used[uid] {
		uid++
	}
	if uid >= 65534 {
		return nil, nil, errors.New("no free uid for the Plain user")
	}
	out = fmt.Appendf(out, "%s:x:%d:65534:latchkey visual service:/nonexistent:/usr/sbin/nologin\n", user, uid)
	return out, append(names, user), nil
}
