package fleet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/latchkey/latchkey/core"
)

// Fleet is a fleet file: the accounts and what each owns, as YAML. It
// names resources by their names, not their ids, so one file describes
// the same fleet on every server, and applying it twice changes nothing
// the second time. Applying creates what is missing and changes what
// differs (status, passwords, account state, policy attachments); it
// never deletes. Reset first for a fleet of exactly the file.
//
// A fleet file holds passwords and secrets in clear: keep it as you keep
// credentials. latchkey never echoes them.
type Fleet struct {
	Accounts []Account `yaml:"accounts"`
}

// Account is one account and its resources. ID "root" (or empty) is
// the data directory's root account; other accounts are named by their
// 16-digit ids and created when missing.
type Account struct {
	ID string `yaml:"id"`
	// Services enables or disables products for the account (ecs, ehpc,
	// bcc, ram); unnamed services keep their state.
	Services map[string]bool `yaml:"services"`
	InDebt   *bool           `yaml:"in_debt"`
	// AccessKeys are root access keys with a secret you chose, so that
	// scripts can sign as this account.
	AccessKeys []Key      `yaml:"access_keys"`
	RAM        RAM        `yaml:"ram"`
	ECS        []Instance `yaml:"ecs"`
	EHPC       []Cluster  `yaml:"ehpc"`
	BCC        []BCC      `yaml:"bcc"`
}

// Key is an access key with a known secret.
type Key struct {
	ID     string `yaml:"id"`
	Secret string `yaml:"secret"`
}

// RAM is an account's custom policies and RAM users.
type RAM struct {
	Policies []Policy  `yaml:"policies"`
	Users    []RAMUser `yaml:"users"`
}

// Policy is a custom policy.
type Policy struct {
	Name        string `yaml:"name"`
	Description string `yaml:"description"`
	Document    string `yaml:"document"`
}

// RAMUser is a RAM user, the policies attached to it (system or the
// account's custom ones, by name; exactly these after applying) and its
// access keys.
type RAMUser struct {
	Name        string   `yaml:"name"`
	DisplayName string   `yaml:"display_name"`
	Email       string   `yaml:"email"`
	Comments    string   `yaml:"comments"`
	Policies    []string `yaml:"policies"`
	AccessKeys  []Key    `yaml:"access_keys"`
}

// Instance is an ECS instance.
type Instance struct {
	Name         string `yaml:"name"`
	Region       string `yaml:"region"`
	Zone         string `yaml:"zone"`
	InstanceType string `yaml:"instance_type"`
	Image        string `yaml:"image"`
	Description  string `yaml:"description"`
	// IoOptimized defaults to true: a password change is then live at
	// once; false keeps it pending until a restart.
	IoOptimized *bool `yaml:"io_optimized"`
	// Status is Running (the default) or Stopped.
	Status string `yaml:"status"`
	// VNCPassword is the console's live password (6 letters and digits).
	VNCPassword   string `yaml:"vnc_password"`
	AdminPassword string `yaml:"admin_password"`
	// Driver names the console driver ("sim" by default).
	Driver string `yaml:"driver"`
	// Machine adopts an existing machine instead of creating one:
	// "HOST/DOMAIN", a host of the libvirt hosts file and a domain name or
	// UUID on it (driver libvirt). Set at creation, it cannot change.
	Machine string `yaml:"machine"`
}

// Cluster is an E-HPC cluster.
type Cluster struct {
	Name         string `yaml:"name"`
	Region       string `yaml:"region"`
	Zone         string `yaml:"zone"`
	OsTag        string `yaml:"os_tag"`
	InstanceType string `yaml:"instance_type"`
	// LoginNodes (1–10, default 1) and ComputeNodes (default 0). Two
	// login nodes or more can show a partial failure.
	LoginNodes   int `yaml:"login_nodes"`
	ComputeNodes int `yaml:"compute_nodes"`
	// RootPassword is root's password: required, it is CreateCluster's
	// Password and the RunasUserPassword that sets the visual password.
	RootPassword string `yaml:"root_password"`
	// Status is running (the default) or stopped.
	Status string        `yaml:"status"`
	Users  []ClusterUser `yaml:"users"`
	Visual *Visual       `yaml:"visual"`
	// Driver names the visual-service driver ("sim" by default).
	Driver string `yaml:"driver"`
}

// ClusterUser is a cluster user (not root: RootPassword sets it).
type ClusterUser struct {
	Name     string `yaml:"name"`
	Password string `yaml:"password"`
	Group    string `yaml:"group"`
}

// Visual is a cluster's visual service. Omitted, the service is
// started with a random password, as RemoteVisEnable does.
type Visual struct {
	Started  *bool  `yaml:"started"`
	Port     int    `yaml:"port"`
	CIDR     string `yaml:"cidr"`
	Password string `yaml:"password"`
}

// BCC is a BCC instance.
type BCC struct {
	Name         string `yaml:"name"`
	Region       string `yaml:"region"`
	Zone         string `yaml:"zone"`
	Image        string `yaml:"image"`
	InstanceType string `yaml:"instance_type"`
	CPU          int    `yaml:"cpu"`
	MemoryGB     int    `yaml:"memory_gb"`
	// Status is Running (the default) or Stopped.
	Status        string `yaml:"status"`
	AdminPassword string `yaml:"admin_password"`
	Driver        string `yaml:"driver"`
	// Machine adopts an existing machine, as Instance.Machine does.
	Machine string `yaml:"machine"`
}

// validMachine checks a machine to adopt: empty, or HOST/DOMAIN with
// both parts present.
func validMachine(m, at string) error {
	if m == "" {
		return nil
	}
	host, domain, ok := strings.Cut(m, "/")
	if !ok || host == "" || domain == "" || strings.ContainsAny(m, " \t\n") || len(m) > 200 {
		return Invalid(at, "a machine is HOST/DOMAIN: a host of the libvirt hosts file and a domain name or UUID")
	}
	return nil
}

// ParseFleet reads a fleet file, refusing unknown fields, and checks it.
// Errors name the place in the file and never quote a value.
func Parse(b []byte) (*Fleet, error) {
	var f Fleet
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil && !errors.Is(err, io.EOF) {
		return nil, Invalid("", yamlProblem(err))
	}
	if err := f.validate(); err != nil {
		return nil, err
	}
	return &f, nil
}

// yamlProblem keeps the parts of a YAML error that locate the problem;
// yaml.v3 quotes offending values in type errors, which may be secrets.
func yamlProblem(err error) string {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		var out []string
		for _, e := range te.Errors {
			// "line 3: field x not found in type …" or
			// "line 3: cannot unmarshal !!str `...` into int".
			line, rest, _ := strings.Cut(e, ": ")
			switch {
			case strings.HasPrefix(rest, "field "):
				f, _, _ := strings.Cut(strings.TrimPrefix(rest, "field "), " ")
				out = append(out, line+": unknown field "+f)
			default:
				_, into, _ := strings.Cut(rest, " into ")
				out = append(out, line+": a value of the wrong type (want "+into+")")
			}
		}
		return strings.Join(out, "; ")
	}
	msg := err.Error()
	if line, _, ok := strings.Cut(strings.TrimPrefix(msg, "yaml: "), ":"); ok && strings.HasPrefix(line, "line ") {
		return "malformed YAML at " + line
	}
	return "malformed YAML"
}

// Error is a fleet file that cannot be applied: Field locates the
// problem in the file (accounts[0].ecs[1].vnc_password) and Message says
// what is wrong. Neither ever quotes a value.
type Error struct {
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return "fleet: " + e.Message
	}
	return "fleet: " + e.Field + ": " + e.Message
}

// Invalid returns an *Error.
func Invalid(field, msg string) error { return &Error{Field: field, Message: msg} }

// validate checks the file before anything is applied, so that a file
// with a typo changes nothing.
func (f *Fleet) validate() error {
	seenAccount := map[string]bool{}
	for ai := range f.Accounts {
		acct := &f.Accounts[ai]
		at := fmt.Sprintf("accounts[%d]", ai)
		if acct.ID == "" {
			acct.ID = "root"
		}
		if acct.ID != "root" && (len(acct.ID) != 16 || strings.Trim(acct.ID, "0123456789") != "" || acct.ID[0] == '0') {
			return Invalid(at+".id", "an account id is \"root\" or 16 digits not starting with 0")
		}
		if seenAccount[acct.ID] {
			return Invalid(at+".id", "the account appears twice")
		}
		seenAccount[acct.ID] = true
		for svc := range acct.Services {
			switch core.Service(svc) {
			case core.ServiceECS, core.ServiceEHPC, core.ServiceBCC, core.ServiceRAM:
			default:
				return Invalid(at+".services", "services are ecs, ehpc, bcc and ram")
			}
		}
		for ki, k := range acct.AccessKeys {
			if err := validKey(k, fmt.Sprintf("%s.access_keys[%d]", at, ki)); err != nil {
				return err
			}
		}
		if err := acct.RAM.validate(at + ".ram"); err != nil {
			return err
		}
		names := map[string]bool{}
		for i := range acct.ECS {
			in := &acct.ECS[i]
			p := fmt.Sprintf("%s.ecs[%d]", at, i)
			if err := validName(in.Name, p); err != nil {
				return err
			}
			if in.Region == "" {
				in.Region = "cn-hangzhou"
			}
			if names["ecs/"+in.Region+"/"+in.Name] {
				return Invalid(p+".name", "two ECS instances of one region have this name")
			}
			names["ecs/"+in.Region+"/"+in.Name] = true
			if err := validMachine(in.Machine, p+".machine"); err != nil {
				return err
			}
			if in.Status == "" {
				in.Status = string(core.StatusRunning)
			}
			if in.Status != string(core.StatusRunning) && in.Status != string(core.StatusStopped) {
				return Invalid(p+".status", "status is Running or Stopped")
			}
			if in.VNCPassword != "" {
				if err := core.ValidateVNCPassword(core.NewSecret(in.VNCPassword)); err != nil {
					return Invalid(p+".vnc_password", "a VNC password is exactly 6 letters and digits")
				}
			}
			if in.IoOptimized == nil {
				t := true
				in.IoOptimized = &t
			}
			if in.InstanceType == "" {
				in.InstanceType = "ecs.g7.large"
			}
			if in.Image == "" {
				in.Image = "aliyun_3_x64_20G_alibase_20240819.vhd"
			}
		}
		for i := range acct.EHPC {
			cl := &acct.EHPC[i]
			p := fmt.Sprintf("%s.ehpc[%d]", at, i)
			if err := validName(cl.Name, p); err != nil {
				return err
			}
			if cl.Region == "" {
				cl.Region = "cn-hangzhou"
			}
			if names["ehpc/"+cl.Name] {
				return Invalid(p+".name", "two clusters of one account have this name")
			}
			names["ehpc/"+cl.Name] = true
			if cl.RootPassword == "" {
				return Invalid(p+".root_password", "a cluster needs root's password")
			}
			if err := core.ValidateClusterUserPassword(core.NewSecret(cl.RootPassword), "root_password"); err != nil {
				return Invalid(p+".root_password", "root's password is 8–30 characters with three of: upper case, lower case, digits, specials")
			}
			if cl.Status == "" {
				cl.Status = string(core.ClusterRunning)
			}
			if cl.Status != string(core.ClusterRunning) && cl.Status != string(core.ClusterStopped) {
				return Invalid(p+".status", "status is running or stopped")
			}
			if cl.LoginNodes == 0 {
				cl.LoginNodes = 1
			}
			if cl.LoginNodes < 1 || cl.LoginNodes > 10 || cl.ComputeNodes < 0 || cl.ComputeNodes > 99 {
				return Invalid(p, "login_nodes is 1–10 and compute_nodes 0–99")
			}
			if cl.OsTag == "" {
				cl.OsTag = "CentOS_7.9_64"
			}
			if cl.InstanceType == "" {
				cl.InstanceType = "ecs.g7.large"
			}
			users := map[string]bool{}
			for ui, u := range cl.Users {
				up := fmt.Sprintf("%s.users[%d]", p, ui)
				if !validClusterUser(u.Name) || users[u.Name] {
					return Invalid(up+".name", "a cluster user needs a unique name of 6–30 letters, digits and periods, starting with a letter (root_password sets root)")
				}
				users[u.Name] = true
				if err := core.ValidateClusterUserPassword(core.NewSecret(u.Password), "password"); err != nil {
					return Invalid(up+".password", "a cluster user's password is 8–30 characters with three of: upper case, lower case, digits, specials")
				}
			}
			if v := cl.Visual; v != nil {
				if v.Port < 0 || v.Port > 65535 {
					return Invalid(p+".visual.port", "port is 1–65535")
				}
				if v.CIDR != "" {
					if _, err := netip.ParsePrefix(v.CIDR); err != nil {
						if _, err := netip.ParseAddr(v.CIDR); err != nil {
							return Invalid(p+".visual.cidr", "cidr is an address or a prefix such as 10.0.0.0/8")
						}
					}
				}
			}
		}
		for i := range acct.BCC {
			in := &acct.BCC[i]
			p := fmt.Sprintf("%s.bcc[%d]", at, i)
			if err := validName(in.Name, p); err != nil {
				return err
			}
			if in.Region == "" {
				in.Region = "bj"
			}
			if names["bcc/"+in.Region+"/"+in.Name] {
				return Invalid(p+".name", "two BCC instances of one region have this name")
			}
			names["bcc/"+in.Region+"/"+in.Name] = true
			if err := validMachine(in.Machine, p+".machine"); err != nil {
				return err
			}
			if in.Status == "" {
				in.Status = string(core.StatusRunning)
			}
			if in.Status != string(core.StatusRunning) && in.Status != string(core.StatusStopped) {
				return Invalid(p+".status", "status is Running or Stopped")
			}
			if in.CPU == 0 {
				in.CPU = 2
			}
			if in.MemoryGB == 0 {
				in.MemoryGB = 8
			}
			if in.Image == "" {
				in.Image = "m-23Fv8Ixk"
			}
			if in.InstanceType == "" {
				in.InstanceType = "N3"
			}
		}
	}
	return nil
}

func (r *RAM) validate(at string) error {
	policies := map[string]bool{}
	for i, p := range r.Policies {
		if err := validName(p.Name, fmt.Sprintf("%s.policies[%d]", at, i)); err != nil {
			return err
		}
		if policies[p.Name] {
			return Invalid(fmt.Sprintf("%s.policies[%d].name", at, i), "two policies have this name")
		}
		policies[p.Name] = true
		if strings.TrimSpace(p.Document) == "" {
			return Invalid(fmt.Sprintf("%s.policies[%d].document", at, i), "a policy needs a document")
		}
	}
	users := map[string]bool{}
	for i, u := range r.Users {
		p := fmt.Sprintf("%s.users[%d]", at, i)
		if err := validName(u.Name, p); err != nil {
			return err
		}
		if users[u.Name] {
			return Invalid(p+".name", "two RAM users have this name")
		}
		users[u.Name] = true
		for ki, k := range u.AccessKeys {
			if err := validKey(k, fmt.Sprintf("%s.access_keys[%d]", p, ki)); err != nil {
				return err
			}
		}
	}
	return nil
}

func validName(name, at string) error {
	if name == "" || len(name) > 128 || strings.ContainsAny(name, "*?\x00\n") {
		return Invalid(at+".name", "a name is 1–128 characters without * ? or line breaks")
	}
	return nil
}

// validKey checks an access key id (8–64 letters and digits) and secret
// (16–128 printable characters, no spaces).
func validKey(k Key, at string) error {
	if len(k.ID) < 8 || len(k.ID) > 64 || strings.IndexFunc(k.ID, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9')
	}) >= 0 {
		return Invalid(at+".id", "an access key id is 8–64 letters and digits")
	}
	if len(k.Secret) < 16 || len(k.Secret) > 128 || strings.IndexFunc(k.Secret, func(c rune) bool { return c <= ' ' || c > '~' }) >= 0 {
		return Invalid(at+".secret", "an access key secret is 16–128 printable characters without spaces")
	}
	return nil
}

// validClusterUser applies AddUsers' rule for a user name: 6–30 letters,
// digits and periods, starting with a letter.
func validClusterUser(name string) bool {
	if len(name) < 6 || len(name) > 30 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9') && c != '.') {
			return false
		}
	}
	return true
}

// ParsePrefix reads a visual service's cidr as E-HPC's CidrIp is read: a
// prefix, or a single address. Parse has checked it.
func ParsePrefix(s string) netip.Prefix {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked()
	}
	a, _ := netip.ParseAddr(s)
	return netip.PrefixFrom(a, a.BitLen())
}
