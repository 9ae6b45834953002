package fleet

import (
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/core"
)

// secretValue finds the values of password and secret keys in a fleet
// file, which an error must never quote.
var secretValue = regexp.MustCompile(`(?m)^[\s-]*[a-z_]*(?:password|secret)\s*:\s*"?([^"\s#]{6,})`)

// unknownField matches the key an error names; keys are not secret, and
// one may contain a password's text.
var unknownField = regexp.MustCompile(`unknown field \S+`)

// FuzzParse checks that Parse never panics, that every refusal is an
// *Error, and that no refusal quotes a password or secret of the file.
// The seeds are the demo fleet and the README's example file.
func FuzzParse(f *testing.F) {
	f.Add(Demo(KnownDemoPasswords(core.EHPCPasswordPolicy2025)))
	f.Add(Demo(KnownDemoPasswords(core.EHPCPasswordPolicy2024)))
	readme, err := os.ReadFile("testdata/readme-fleet.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(readme)
	// A type error on a password value: yaml.v3 would quote it.
	f.Add([]byte("accounts:\n  - id: root\n    ecs:\n      - name: web-1\n        vnc_password: [Secret99]\n"))
	f.Add([]byte("accounts: &a [*a, *a]\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, err := Parse(b)
		if err == nil {
			return
		}
		var fe *Error
		if !errors.As(err, &fe) {
			t.Fatalf("error %T is not a *fleet.Error", err)
		}
		msg := unknownField.ReplaceAllString(err.Error(), "")
		for _, m := range secretValue.FindAllSubmatch(b, -1) {
			if v := string(m[1]); strings.Contains(msg, v) {
				t.Fatalf("the error quotes a secret value of the file (%d bytes)", len(v))
			}
		}
	})
}
