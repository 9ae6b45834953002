package guestimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

//go:embed build.sh
var script []byte

// Image is a built guest: a kernel to boot directly, with its initramfs,
// and the command line it needs.
type Image struct {
	Kernel    string
	Initramfs string
}

// Cmdline is the kernel command line the guest boots with: the console on
// the first serial port at 115200 baud.
const Cmdline = "console=ttyS0,115200 quiet"

// inputs are the files the image is built from besides the kernel.
var inputs = []string{"/bin/busybox", "/usr/sbin/qemu-ga"}

// ErrMissing is wrapped by Build's error when a package the guest is built
// from is not installed.
var ErrMissing = errors.New("guest packages missing: apt-get install linux-image-cloud-amd64 busybox-static qemu-guest-agent cpio")

// Kernel returns the newest cloud kernel under /boot.
func Kernel() (string, error) {
	ks, _ := filepath.Glob("/boot/vmlinuz-*-cloud-amd64")
	if len(ks) == 0 {
		return "", ErrMissing
	}
	slices.SortFunc(ks, compareVersions)
	return ks[len(ks)-1], nil
}

// compareVersions orders kernel file names by their numeric parts.
func compareVersions(a, b string) int {
	split := func(s string) []string {
		return strings.FieldsFunc(s, func(r rune) bool { return r == '.' || r == '-' })
	}
	pa, pb := split(a), split(b)
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		if len(pa[i]) != len(pb[i]) {
			return len(pa[i]) - len(pb[i])
		}
		return strings.Compare(pa[i], pb[i])
	}
	return len(pa) - len(pb)
}

// Build returns the guest image cached under cacheDir, building it when
// the cache has none for the current script and input files. Concurrent
// builds (several test binaries) are safe: each builds into a directory of
// its own and the first to finish publishes it.
func Build(ctx context.Context, cacheDir string) (Image, error) {
	kernel, err := Kernel()
	if err != nil {
		return Image{}, err
	}
	if _, err := exec.LookPath("cpio"); err != nil {
		return Image{}, ErrMissing
	}
	key, err := cacheKey(kernel)
	if err != nil {
		return Image{}, err
	}
	dir := filepath.Join(cacheDir, key)
	img := Image{Kernel: filepath.Join(dir, "vmlinuz"), Initramfs: filepath.Join(dir, "initramfs.gz")}
	if _, err := os.Stat(img.Initramfs); err == nil {
		return img, nil
	}
	if err := os.MkdirAll(cacheDir, 0o700); err != nil {
		return Image{}, err
	}
	tmp, err := os.MkdirTemp(cacheDir, "build-")
	if err != nil {
		return Image{}, err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "/bin/sh", "-s", filepath.Join(tmp, "out"))
	cmd.Stdin = bytes.NewReader(script)
	cmd.Env = append(os.Environ(), "KERNEL="+kernel)
	if out, err := cmd.CombinedOutput(); err != nil {
		return Image{}, fmt.Errorf("guestimage: build.sh: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Rename(filepath.Join(tmp, "out"), dir); err != nil {
		if _, serr := os.Stat(img.Initramfs); serr != nil {
			return Image{}, fmt.Errorf("guestimage: %w", err)
		}
	}
	return img, nil
}

// cacheKey hashes the script and every file the image is made of.
func cacheKey(kernel string) (string, error) {
	h := sha256.New()
	h.Write(script)
	for _, p := range append([]string{kernel}, inputs...) {
		f, err := os.Open(p)
		if err != nil {
			return "", fmt.Errorf("%w (%s: %v)", ErrMissing, p, err)
		}
		fmt.Fprintf(h, "\x00%s\x00", p)
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:24], nil
}
