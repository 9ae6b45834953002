package fleet

import (
	"crypto/rand"
	"io"
	"math/big"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// DemoPasswords are the passwords of the demo fleet's resources.
type DemoPasswords struct {
	// Web, DB and Legacy are the VNC passwords of demo-web-1, demo-db-1
	// and demo-legacy-1: 6 letters and digits.
	Web, DB, Legacy string
	// HPCRoot and Alice are the passwords of demo-hpc's root and
	// alice01; Visual is its visual service's, under the E-HPC password
	// policy in force.
	HPCRoot, Alice, Visual string
	// BCC is the guest administrator password of both BCC instances.
	BCC string
}

// KnownDemoPasswords are the passwords `latchkey fleet reset --demo` (and
// GET /_latchkey/fleet/demo) uses, written in the README, so that whoever
// resets to the demo knows them. The visual password obeys policy: 6
// letters and digits under 2025, 8–30 characters under 2024.
func KnownDemoPasswords(policy core.EHPCPasswordPolicy) DemoPasswords {
	p := DemoPasswords{Web: "Web123", DB: "Db1234", Legacy: "Old123", HPCRoot: "Demo-Root-2024", Alice: "Alice-Pass-1", Visual: "Demo42", BCC: "Demo2020!"}
	if policy == core.EHPCPasswordPolicy2024 {
		p.Visual = "Demo-Visual-42"
	}
	return p
}

// RandomDemoPasswords draws fresh demo passwords from rnd (nil:
// crypto/rand), each valid under its product's rules and policy; the
// first start with --demo uses them and prints them once.
func RandomDemoPasswords(rnd io.Reader, policy core.EHPCPasswordPolicy) (DemoPasswords, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var p DemoPasswords
	var err error
	vnc := func() string {
		if err != nil {
			return ""
		}
		var s string
		s, err = pick(rnd, []string{upper, lower, digit, alnum, alnum, alnum})
		return s
	}
	strong := func(n int, specials string) string {
		if err != nil {
			return ""
		}
		classes := []string{upper, lower, digit, specials}
		for len(classes) < n {
			classes = append(classes, alnum)
		}
		var s string
		s, err = pick(rnd, classes)
		return s
	}
	p.Web, p.DB, p.Legacy = vnc(), vnc(), vnc()
	p.HPCRoot, p.Alice, p.BCC = strong(12, "-"), strong(12, "-"), strong(12, "!@#")
	p.Visual = vnc()
	if policy == core.EHPCPasswordPolicy2024 {
		p.Visual = strong(12, "-")
	}
	return p, err
}

const (
	upper = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	lower = "abcdefghijkmnpqrstuvwxyz"
	digit = "23456789"
	alnum = upper + lower + digit
)

// pick draws one character from each set, then shuffles them so the
// classes do not sit in fixed places.
func pick(rnd io.Reader, sets []string) (string, error) {
	b := make([]byte, len(sets))
	for i, set := range sets {
		n, err := rand.Int(rnd, big.NewInt(int64(len(set))))
		if err != nil {
			return "", err
		}
		b[i] = set[n.Int64()]
	}
	for i := len(b) - 1; i > 0; i-- {
		n, err := rand.Int(rnd, big.NewInt(int64(i+1)))
		if err != nil {
			return "", err
		}
		j := n.Int64()
		b[i], b[j] = b[j], b[i]
	}
	return string(b), nil
}

// Demo returns the demo fleet of PRODUCT.md §7 as a fleet file, with the
// passwords p: in cn-hangzhou three ECS instances (two I/O optimized, one
// not) and one E-HPC cluster with two login nodes and its visual service
// started; in bj two BCC instances; everything running.
//
// Each password is written as a single-quoted YAML scalar: a random one
// may begin with '!' (a tag), '@' (reserved) or '#' (a comment), which
// unquoted would not read back as the password.
func Demo(p DemoPasswords) []byte {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
	return []byte(strings.NewReplacer(
		"{{web}}", q(p.Web), "{{db}}", q(p.DB), "{{legacy}}", q(p.Legacy),
		"{{hpc_root}}", q(p.HPCRoot), "{{alice}}", q(p.Alice), "{{visual}}", q(p.Visual), "{{bcc}}", q(p.BCC),
	).Replace(demoTemplate))
}

// demoTemplate is the one demo fleet; Demo fills in its passwords.
const demoTemplate = `# The latchkey demo fleet (PRODUCT.md §7). Apply it with
#   latchkey fleet apply FILE
# or reset to it with
#   latchkey fleet reset --demo
accounts:
  - id: root
    ecs:
      - name: demo-web-1
        region: cn-hangzhou
        io_optimized: true
        vnc_password: {{web}}
      - name: demo-db-1
        region: cn-hangzhou
        io_optimized: true
        vnc_password: {{db}}
      - name: demo-legacy-1
        region: cn-hangzhou
        io_optimized: false      # a new VNC password waits for a restart
        vnc_password: {{legacy}}
    ehpc:
      - name: demo-hpc
        region: cn-hangzhou
        login_nodes: 2           # two, so that a partial failure can show
        compute_nodes: 2
        root_password: {{hpc_root}}
        users:
          - name: alice01
            password: {{alice}}
        visual:
          started: true
          password: {{visual}}
    bcc:
      - name: demo-bcc-1
        region: bj
        admin_password: {{bcc}}
      - name: demo-bcc-2
        region: bj
        admin_password: {{bcc}}
`
