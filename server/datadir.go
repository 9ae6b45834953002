package server

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// Files of the data directory (PRODUCT.md §1). The master key's name
// belongs to the vault package.
const (
	TLSDir          = "tls"
	AdminTokenFile  = "admin.token"
	CredentialsFile = "credentials.json"
	EndpointsFile   = "endpoints.json"
)

// Credentials is the content of credentials.json: the root account and its
// first access key. The same key signs Alibaba RPC and BCE requests.
type Credentials struct {
	AccountID       string `json:"account_id"`
	AccessKeyID     string `json:"access_key_id"`
	AccessKeySecret string `json:"access_key_secret"`
}

// Endpoints is the content of endpoints.json: the addresses actually
// bound, as host:port a client on this machine can dial. HTTP is empty
// when the plain-HTTP listener is disabled.
type Endpoints struct {
	HTTPS string `json:"https"`
	HTTP  string `json:"http"`
}

// ReadCredentials reads DATA_DIR/credentials.json.
func ReadCredentials(dataDir string) (Credentials, error) {
	var c Credentials
	b, err := os.ReadFile(filepath.Join(dataDir, CredentialsFile))
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", CredentialsFile, err)
	}
	return c, nil
}

// ReadEndpoints reads DATA_DIR/endpoints.json.
func ReadEndpoints(dataDir string) (Endpoints, error) {
	var e Endpoints
	b, err := os.ReadFile(filepath.Join(dataDir, EndpointsFile))
	if err != nil {
		return e, err
	}
	if err := json.Unmarshal(b, &e); err != nil {
		return e, fmt.Errorf("%s: %w", EndpointsFile, err)
	}
	return e, nil
}

// writeJSON writes v as indented JSON through writeFileAtomic.
func writeJSON(path string, v any, mode os.FileMode) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'), mode)
}

// writeFileAtomic writes data to a temporary file with the given mode,
// syncs it and renames it over path: readers see the old content or the
// whole new content, never a part, and a secret file is never readable by
// others even for an instant.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// loadOrCreateToken returns the admin token stored at path, creating it
// (mode 0600, 32 random bytes in hex) if absent. A token file that group
// or others can read is refused: the token is a credential.
func loadOrCreateToken(path string, rnd io.Reader) (tok core.Secret, created bool, err error) {
	b, err := os.ReadFile(path)
	switch {
	case err == nil:
		fi, err := os.Stat(path)
		if err != nil {
			return core.Secret{}, false, err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return core.Secret{}, false, fmt.Errorf("%s has mode %v: it must be readable by its owner only (chmod 600)", path, fi.Mode().Perm())
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return core.Secret{}, false, fmt.Errorf("%s is empty", path)
		}
		return core.NewSecret(t), false, nil
	case !errors.Is(err, fs.ErrNotExist):
		return core.Secret{}, false, err
	}
	raw := make([]byte, 32)
	if _, err := io.ReadFull(rnd, raw); err != nil {
		return core.Secret{}, false, err
	}
	t := hex.EncodeToString(raw)
	if err := writeFileAtomic(path, []byte(t+"\n"), 0o600); err != nil {
		return core.Secret{}, false, err
	}
	return core.NewSecret(t), true, nil
}
