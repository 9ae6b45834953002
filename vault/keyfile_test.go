package vault

import (
	"bytes"
	"github.com/latchkey/latchkey/core"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadOrCreateKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	key, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(key) != KeySize {
		t.Fatalf("len(key) = %d", len(key))
	}
	if bytes.Equal(key, make([]byte, KeySize)) {
		t.Fatal("key is all zeros")
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", st.Mode().Perm())
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(onDisk, key) {
		t.Error("file content differs from the returned key")
	}
	again, err := LoadOrCreateKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again, key) {
		t.Error("second call returned another key")
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only the key file", len(entries))
	}
}

func TestLoadOrCreateKeyDistinct(t *testing.T) {
	a, err := LoadOrCreateKey(filepath.Join(t.TempDir(), KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	b, err := LoadOrCreateKey(filepath.Join(t.TempDir(), KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two new key files hold the same key")
	}
}

func TestLoadOrCreateKeyRefusesOpenMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []os.FileMode{0o640, 0o604, 0o660, 0o644, 0o602} {
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		_, err := LoadOrCreateKey(path)
		if err == nil || !strings.Contains(err.Error(), "chmod 600") {
			t.Errorf("mode %04o: err = %v, want a refusal that says how to fix it", mode, err)
		}
	}
	if err := os.Chmod(path, 0o400); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err != nil {
		t.Errorf("mode 0400: %v", err)
	}
}

func TestLoadOrCreateKeyRefusesWrongLength(t *testing.T) {
	for _, n := range []int{0, 16, KeySize - 1, KeySize + 1, 64} {
		path := filepath.Join(t.TempDir(), KeyFileName)
		if err := os.WriteFile(path, bytes.Repeat([]byte{7}, n), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := LoadOrCreateKey(path); err == nil {
			t.Errorf("%d-byte key file accepted", n)
		}
		got, _ := os.ReadFile(path)
		if len(got) != n {
			t.Errorf("%d-byte key file was rewritten", n)
		}
	}
}

func TestLoadOrCreateKeyRefusesDirectory(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("a directory was accepted as the key file")
	}
}

func TestLoadOrCreateKeyMissingDir(t *testing.T) {
	if _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "absent", KeyFileName)); err == nil {
		t.Fatal("key created in a missing directory")
	}
}

func TestSealerWithLoadedKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), KeyFileName)
	key, _ := LoadOrCreateKey(path)
	s := newTestSealer(t, key)
	sealed, err := s.Seal(core.NewSecret("Abc123"), "ctx")
	if err != nil {
		t.Fatal(err)
	}
	key2, _ := LoadOrCreateKey(path)
	got, err := newTestSealer(t, key2).Open(sealed, "ctx")
	if err != nil || got.Reveal() != "Abc123" {
		t.Fatal("a value sealed before a restart does not open after it")
	}
}
