package fleet

import "testing"

// Demo's passwords read back exactly, whatever character they begin
// with: RandomDemoPasswords draws BCC's from "!@#" and others from "-".
func TestDemoPasswordsReadBack(t *testing.T) {
	for _, pw := range []string{"!Ab3defghijk", "@Ab3defghijk", "#Ab3defghijk", "-Ab3defghijk", "it's-Ab3"} {
		p := DemoPasswords{Web: "Web123", DB: "Db1234", Legacy: "Old123", HPCRoot: pw, Alice: pw, Visual: "Demo42", BCC: pw}
		f, err := Parse(Demo(p))
		if err != nil {
			t.Fatalf("Demo with a password beginning %q does not parse: %v", pw[:1], err)
		}
		a := f.Accounts[0]
		if a.BCC[0].AdminPassword != pw || a.EHPC[0].RootPassword != pw || a.EHPC[0].Users[0].Password != pw {
			t.Errorf("a password beginning %q does not read back", pw[:1])
		}
	}
}
