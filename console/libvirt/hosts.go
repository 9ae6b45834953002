package libvirt

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"gopkg.in/yaml.v3"
)

// HostsFile is the file --libvirt-hosts names: the hosts latchkey may put
// machines on, and the template of the domains it creates.
//
//	hosts:
//	  - name: kvm1
//	    uri: qemu+unix:///system?socket=/run/libvirt/libvirt-sock
//	  - name: kvm2
//	    uri: qemu+tls://kvm2.example.net/system
//	    pki_path: /etc/latchkey/pki/kvm2   # cacert.pem, clientcert.pem, clientkey.pem
//	    vnc_address: 10.0.0.12             # where consoles are dialled
//	template:
//	  type: qemu            # qemu (TCG) or kvm
//	  kernel: /var/lib/latchkey/guest/vmlinuz
//	  initrd: /var/lib/latchkey/guest/initramfs.gz
//	  cmdline: console=ttyS0,115200
//	  disk: ""              # optional disk image (qcow2) on the host
//	  memory_mib: 256
//	  vcpus: 1
//	  serial_dir: /var/lib/latchkey/serial
type HostsFile struct {
	Hosts    []Host   `yaml:"hosts"`
	Template Template `yaml:"template"`
}

// Host is one libvirt host.
type Host struct {
	// Name names the host in fleet files (machine: NAME/DOMAIN); letters,
	// digits, '-' and '_'.
	Name string `yaml:"name"`
	// URI is the libvirt URI: qemu+unix:///system (with ?socket=PATH for
	// a socket elsewhere than /var/run/libvirt/libvirt-sock),
	// qemu+tcp://HOST[:PORT]/system or qemu+tls://HOST[:PORT]/system.
	URI string `yaml:"uri"`
	// PKIPath is, for qemu+tls, the directory holding the client's
	// credentials: cacert.pem, clientcert.pem and clientkey.pem.
	PKIPath string `yaml:"pki_path"`
	// VNCAddress is the address latchkey dials a domain's VNC server on;
	// empty: the URI's host, or 127.0.0.1 for a unix socket.
	VNCAddress string `yaml:"vnc_address"`
}

// Template is what a domain latchkey creates is made of.
type Template struct {
	// Type is the domain type: qemu (TCG, the default) or kvm.
	Type string `yaml:"type"`
	// Kernel, Initrd and Cmdline boot the domain directly; Disk, if set,
	// is attached as its virtio disk. Paths are on the host.
	Kernel  string `yaml:"kernel"`
	Initrd  string `yaml:"initrd"`
	Cmdline string `yaml:"cmdline"`
	Disk    string `yaml:"disk"`
	// MemoryMiB and VCPUs size an ECS domain and a BCC one whose
	// instance names none; defaults 256 and 1.
	MemoryMiB int `yaml:"memory_mib"`
	VCPUs     int `yaml:"vcpus"`
	// SerialDir is the directory on the host where each domain's serial
	// console socket (DOMAIN.serial) and log (DOMAIN.log) go; empty: no
	// serial console.
	SerialDir string `yaml:"serial_dir"`
}

// ReadHostsFile reads and checks a hosts file.
func ReadHostsFile(path string) (*HostsFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseHostsFile(b)
}

// ParseHostsFile parses and checks a hosts file, refusing unknown fields.
func ParseHostsFile(b []byte) (*HostsFile, error) {
	var f HostsFile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("libvirt hosts file: %w", err)
	}
	if err := f.check(); err != nil {
		return nil, fmt.Errorf("libvirt hosts file: %w", err)
	}
	return &f, nil
}

func (f *HostsFile) check() error {
	if len(f.Hosts) == 0 {
		return errors.New("no hosts")
	}
	seen := map[string]bool{}
	for i, h := range f.Hosts {
		if !validName(h.Name) {
			return fmt.Errorf("hosts[%d].name: 1–64 letters, digits, '-' or '_'", i)
		}
		if seen[h.Name] {
			return fmt.Errorf("hosts[%d].name: %s is listed twice", i, h.Name)
		}
		seen[h.Name] = true
		u, err := url.Parse(h.URI)
		if err != nil {
			return fmt.Errorf("hosts[%d].uri: %w", i, err)
		}
		switch u.Scheme {
		case "qemu", "qemu+unix", "qemu+tcp", "qemu+tls":
		default:
			return fmt.Errorf("hosts[%d].uri: scheme %q: want qemu+unix, qemu+tcp or qemu+tls", i, u.Scheme)
		}
		if h.PKIPath != "" && u.Scheme != "qemu+tls" {
			return fmt.Errorf("hosts[%d].pki_path: only for qemu+tls URIs", i)
		}
	}
	t := &f.Template
	switch t.Type {
	case "":
		t.Type = "qemu"
	case "qemu", "kvm":
	default:
		return fmt.Errorf("template.type %q: want qemu or kvm", t.Type)
	}
	if t.Kernel == "" && t.Disk == "" {
		return errors.New("template: a kernel or a disk is needed")
	}
	if t.Initrd != "" && t.Kernel == "" {
		return errors.New("template.initrd: needs a kernel")
	}
	if t.MemoryMiB == 0 {
		t.MemoryMiB = 256
	}
	if t.VCPUs == 0 {
		t.VCPUs = 1
	}
	if t.MemoryMiB < 16 || t.VCPUs < 1 || t.VCPUs > 64 {
		return errors.New("template: memory_mib is at least 16 and vcpus 1–64")
	}
	if strings.ContainsAny(t.SerialDir, "'\"<>&") {
		return errors.New("template.serial_dir: quotes, '<', '>' and '&' are not allowed")
	}
	return nil
}

// uri returns the host's URI with its PKI path.
func (h Host) uri() (*url.URL, error) {
	u, err := url.Parse(h.URI)
	if err != nil {
		return nil, err
	}
	if h.PKIPath != "" {
		q := u.Query()
		q.Set("pkipath", h.PKIPath)
		u.RawQuery = q.Encode()
	}
	return u, nil
}

// vncAddress is the address the host's VNC servers are dialled on.
func (h Host) vncAddress() string {
	if h.VNCAddress != "" {
		return h.VNCAddress
	}
	if u, err := url.Parse(h.URI); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "127.0.0.1"
}

// validName reports whether s is 1–64 letters, digits, '-' or '_'.
func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}
