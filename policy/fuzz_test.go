package policy

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse checks that Parse never panics, that every refusal is a
// *ValidationError, and that an accepted document keeps its text and can be
// evaluated.
func FuzzParse(f *testing.F) {
	f.Add([]byte(allowAll))
	f.Add([]byte(allowWith(`{"IpAddress":{"acs:SourceIp":["10.0.0.0/8","::1"]},"DateLessThan":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}`)))
	f.Add([]byte(`{"Version":"1","Statement":[{"Effect":"Deny","NotAction":["ecs:*"],"NotResource":"acs:*"}]}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := Parse(doc)
		if err != nil {
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T is not a *ValidationError", err)
			}
			return
		}
		if d.Text() != string(doc) {
			t.Fatal("Text() differs from the input")
		}
		Evaluate([]*Document{d}, Request{Action: "ecs:DescribeInstances", Resource: "*", CurrentTime: noon,
			Extra: map[string][]string{"k": {"v", "1", "2019-08-12T17:00:00Z", "10.0.0.1", "true"}}})
	})
}

// FuzzWildcardMatch compares the wildcard engine with a regular expression
// that means the same thing.
func FuzzWildcardMatch(f *testing.F) {
	f.Add("a*b?c", "aXXbYc", false)
	f.Add("ECS:*", "ecs:Describe", true)
	f.Add("*?*", "é", false)
	f.Fuzz(func(t *testing.T, p, s string, fold bool) {
		if !utf8.ValidString(p) || !utf8.ValidString(s) {
			t.Skip()
		}
		var re strings.Builder
		re.WriteString("^")
		if fold {
			re.WriteString("(?i)")
		}
		re.WriteString("(?s)")
		for _, r := range p {
			switch r {
			case '*':
				re.WriteString(".*")
			case '?':
				re.WriteString(".")
			default:
				re.WriteString(regexp.QuoteMeta(string(r)))
			}
		}
		re.WriteString("$")
		want := regexp.MustCompile(re.String()).MatchString(s)
		if got := newPattern(p).match(s, fold); got != want {
			t.Fatalf("match(%q, %q, fold=%v) = %v, regexp says %v", p, s, fold, got, want)
		}
	})
}
