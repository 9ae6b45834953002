package agent

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// The files of one node, in STATE_DIR/nodes/<node>/ (mode 0700).
const (
	// rfbauthFile is Xvnc's -rfbauth file (vncpasswd's format, mode
	// 0600). Xvnc reads it at every new connection, so replacing it
	// changes the password without a restart (vnc-backends.md §2).
	rfbauthFile = "passwd"
	// stateFile is the node's nodeState as JSON: no secret.
	stateFile = "state.json"
	// logFile is Xvnc's standard output and error, truncated at each
	// start. Xvnc never prints a password.
	logFile = "xvnc.log"
	// plainDir holds the private account database of VeNCrypt Plain
	// (see plain.go).
	plainDir = "plain"
)

// nodeState is what the agent remembers about a node across its own
// restarts. The password is not in it: it lives in the rfbauth file (and,
// hashed, in the private shadow file).
type nodeState struct {
	Started   bool   `json:"started"`
	HostName  string `json:"host_name,omitempty"`
	Address   string `json:"address,omitempty"`
	Port      int    `json:"port,omitempty"`
	CIDR      string `json:"cidr,omitempty"`
	Auth      string `json:"auth,omitempty"`
	PlainUser string `json:"plain_user,omitempty"`
}

// writeFileAtomic replaces path with data, mode 0600: a reader sees the
// old file or the new one, never a partial one (write a temporary file
// in the same directory, sync it, rename it over path, sync the
// directory). A missing or short rfbauth file locks every VNC login out,
// so the password files are only ever written this way.
func writeFileAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(f.Name(), path); err != nil {
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeRfbauth makes pw the node's VNC password: its first 8 bytes, as
// vncpasswd writes them.
func writeRfbauth(dir string, pw core.Secret) error {
	return writeFileAtomic(filepath.Join(dir, rfbauthFile), rfb.PasswdFile(pw.Reveal()))
}

// hasRfbauth reports whether the node has a usable password file.
func hasRfbauth(dir string) bool {
	fi, err := os.Stat(filepath.Join(dir, rfbauthFile))
	return err == nil && fi.Mode().IsRegular() && fi.Size() >= 8
}

// loadState reads the node's state; a missing file is the zero state.
func loadState(dir string) (nodeState, error) {
	var st nodeState
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, err
	}
	return st, json.Unmarshal(b, &st)
}

// saveState writes the node's state atomically.
func saveState(dir string, st nodeState) error {
	b, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, stateFile), append(b, '\n'))
}
