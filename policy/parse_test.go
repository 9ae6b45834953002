package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestParseKeepsText(t *testing.T) {
	text := "{\n  \"Statement\": [ {\"Resource\": \"*\", \"Action\": \"ecs:*\", \"Effect\": \"Allow\"} ],\n  \"Version\": \"1\"\n}\n"
	d := mustParse(t, text)
	if d.Text() != text {
		t.Errorf("Text() = %q, want the input %q", d.Text(), text)
	}
}

func TestParseAccepts(t *testing.T) {
	for name, text := range map[string]string{
		"members in any order":      `{"Statement":[{"Resource":"*","Effect":"Deny","Action":"ecs:*"}],"Version":"1"}`,
		"single-string lists":       `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
		"arrays":                    `{"Version":"1","Statement":[{"Effect":"Allow","Action":["ecs:Describe*","ehpc:List*"],"Resource":["acs:ecs:*:*:instance/*","*"]}]}`,
		"NotAction and NotResource": `{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"ram:*","NotResource":"acs:ram:*:*:*"}]}`,
		"empty Condition":           `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{}}]}`,
		"every operator": `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{
			"StringEquals":{"k":"v"},"StringNotEquals":{"k":"v"},"StringEqualsIgnoreCase":{"k":"v"},
			"StringNotEqualsIgnoreCase":{"k":"v"},"StringLike":{"k":"v*"},"StringNotLike":{"k":"?"},
			"NumericEquals":{"n":"1"},"NumericNotEquals":{"n":"-1.5"},"NumericLessThan":{"n":"2e3"},
			"NumericLessThanEquals":{"n":"0"},"NumericGreaterThan":{"n":"1"},"NumericGreaterThanEquals":{"n":"1"},
			"DateEquals":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"},"DateNotEquals":{"acs:CurrentTime":"2019-08-12T09:00:00Z"},
			"DateLessThan":{"acs:CurrentTime":"2019-08-12T09:00:00.123Z"},"DateLessThanEquals":{"acs:CurrentTime":"2019-08-12T17:00+08:00"},
			"DateGreaterThan":{"acs:CurrentTime":"1565600400"},"DateGreaterThanEquals":{"acs:CurrentTime":"2019-08-12T09:00:00-05:30"},
			"Bool":{"acs:SecureTransport":"true"},"IpAddress":{"acs:SourceIp":["10.0.0.0/8","192.168.1.1","2001:db8::/32","::1"]},
			"NotIpAddress":{"acs:SourceIp":"172.16.0.0/12"},
			"ForAnyValue:StringEquals":{"k":"v"},"ForAllValues:StringLike":{"k":["a*","b*"]}}}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(text)); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	const stmt = `"Effect":"Allow","Action":"ecs:*","Resource":"*"`
	wrap := func(statement string) string { return `{"Version":"1","Statement":[{` + statement + `}]}` }
	cond := func(condition string) string { return wrap(stmt + `,"Condition":` + condition) }

	tests := []struct {
		name    string
		doc     string
		element string // the ValidationError's Element
		reason  string // a fragment of its Reason
	}{
		{"not JSON", `{"Version":"1",`, "", "not valid JSON"},
		{"empty input", ``, "", "not valid JSON"},
		{"trailing data", `{"Version":"1","Statement":[{` + stmt + `}]} {}`, "", "not valid JSON"},
		{"array document", `[]`, "", "must be a JSON object"},
		{"missing Version", `{"Statement":[{` + stmt + `}]}`, "Version", "Add a Version element"},
		{"Version 2012", `{"Version":"2012-10-17","Statement":[{` + stmt + `}]}`, "Version", `the string "1"`},
		{"Version number", `{"Version":1,"Statement":[{` + stmt + `}]}`, "Version", `the string "1"`},
		{"lower-case version element", `{"version":"1","Statement":[{` + stmt + `}]}`, "version", "not supported"},
		{"unknown top-level element", `{"Version":"1","Id":"x","Statement":[{` + stmt + `}]}`, "Id", "not supported"},
		{"duplicate Version", `{"Version":"1","Version":"1","Statement":[{` + stmt + `}]}`, "Version", "more than once"},
		{"missing Statement", `{"Version":"1"}`, "Statement", "Add a Statement element"},
		{"Statement object", `{"Version":"1","Statement":{` + stmt + `}}`, "Statement", "must be an array"},
		{"Statement empty", `{"Version":"1","Statement":[]}`, "Statement", "at least one statement"},
		{"statement not object", `{"Version":"1","Statement":["ecs:*"]}`, "Statement[0]", "must be a JSON object"},
		{"second statement wrong", `{"Version":"1","Statement":[{` + stmt + `},{"Effect":"allow","Action":"*","Resource":"*"}]}`, "Statement[1].Effect", `"Allow" or "Deny"`},
		{"missing Effect", wrap(`"Action":"ecs:*","Resource":"*"`), "Statement[0]", "Add an Effect element"},
		{"Effect lower case", wrap(`"Effect":"allow","Action":"ecs:*","Resource":"*"`), "Statement[0].Effect", `"Allow" or "Deny"`},
		{"Effect array", wrap(`"Effect":["Allow"],"Action":"ecs:*","Resource":"*"`), "Statement[0].Effect", `"Allow" or "Deny"`},
		{"missing Action", wrap(`"Effect":"Allow","Resource":"*"`), "Statement[0]", "Add an Action or NotAction element to the policy statement."},
		{"Action and NotAction", wrap(stmt + `,"NotAction":"ram:*"`), "Statement[0]", "either an Action or a NotAction"},
		{"lower-case action element", wrap(`"Effect":"Allow","action":"ecs:*","Resource":"*"`), "Statement[0].action", "not supported"},
		{"Action empty array", wrap(`"Effect":"Allow","Action":[],"Resource":"*"`), "Statement[0].Action", "empty array"},
		{"Action empty string", wrap(`"Effect":"Allow","Action":"","Resource":"*"`), "Statement[0].Action", "must not be empty"},
		{"Action number", wrap(`"Effect":"Allow","Action":7,"Resource":"*"`), "Statement[0].Action", "string or an array of strings"},
		{"Action nested array", wrap(`"Effect":"Allow","Action":[["ecs:*"]],"Resource":"*"`), "Statement[0].Action[0]", "must be a string"},
		{"Action without service", wrap(`"Effect":"Allow","Action":["ecs:*","DescribeInstances"],"Resource":"*"`), "Statement[0].Action[1]", "<service>:<action>"},
		{"NotAction without service", wrap(`"Effect":"Allow","NotAction":"Delete*","Resource":"*"`), "Statement[0].NotAction", "<service>:<action>"},
		{"missing Resource", wrap(`"Effect":"Allow","Action":"ecs:*"`), "Statement[0]", "Add a Resource or NotResource element"},
		{"Resource and NotResource", wrap(stmt + `,"NotResource":"*"`), "Statement[0]", "either a Resource or a NotResource"},
		{"Resource null", wrap(`"Effect":"Allow","Action":"ecs:*","Resource":null`), "Statement[0].Resource", "string or an array of strings"},
		{"Principal", wrap(stmt + `,"Principal":{"RAM":["acs:ram::123:root"]}`), "Statement[0].Principal", "not supported"},
		{"duplicate Action", wrap(stmt + `,"Action":"ram:*"`), "Statement[0].Action", "more than once"},
		{"Condition array", cond(`[]`), "Statement[0].Condition", "must be a JSON object"},
		{"unknown operator", cond(`{"StringMatches":{"k":"v"}}`), "Statement[0].Condition.StringMatches", "not supported"},
		{"operator wrong case", cond(`{"stringequals":{"k":"v"}}`), "Statement[0].Condition.stringequals", "not supported"},
		{"IfExists operator", cond(`{"StringEqualsIfExists":{"k":"v"}}`), "Statement[0].Condition.StringEqualsIfExists", "not supported"},
		{"unknown qualifier", cond(`{"ForEveryValue:StringEquals":{"k":"v"}}`), "Statement[0].Condition.ForEveryValue:StringEquals", "not supported"},
		{"operator not object", cond(`{"StringEquals":"v"}`), "Statement[0].Condition.StringEquals", "map condition keys"},
		{"operator without keys", cond(`{"StringEquals":{}}`), "Statement[0].Condition.StringEquals", "at least one condition key"},
		{"empty key", cond(`{"StringEquals":{"":"v"}}`), "Statement[0].Condition.StringEquals.", "must not be empty"},
		{"duplicate key", cond(`{"StringEquals":{"k":"v","k":"w"}}`), "Statement[0].Condition.StringEquals.k", "more than once"},
		{"duplicate operator", cond(`{"Bool":{"k":"true"},"Bool":{"j":"true"}}`), "Statement[0].Condition.Bool", "more than once"},
		{"empty value list", cond(`{"StringEquals":{"k":[]}}`), "Statement[0].Condition.StringEquals.k", "at least one value"},
		{"object value", cond(`{"StringEquals":{"k":{"v":1}}}`), "Statement[0].Condition.StringEquals.k", "string or an array of strings"},
		{"bare Boolean", cond(`{"Bool":{"acs:SecureTransport":true}}`), "Statement[0].Condition.Bool.acs:SecureTransport", "double quotation marks"},
		{"bare number", cond(`{"NumericEquals":{"n":5}}`), "Statement[0].Condition.NumericEquals.n", "double quotation marks"},
		{"bare number in array", cond(`{"NumericEquals":{"n":["5",6]}}`), "Statement[0].Condition.NumericEquals.n[1]", "double quotation marks"},
		{"numeric not a number", cond(`{"NumericLessThan":{"n":"ten"}}`), "Statement[0].Condition.NumericLessThan.n", "decimal number"},
		{"numeric infinity", cond(`{"NumericLessThan":{"n":"Inf"}}`), "Statement[0].Condition.NumericLessThan.n", "decimal number"},
		{"date without offset", cond(`{"DateLessThan":{"acs:CurrentTime":"2019-08-12T17:00:00"}}`), "Statement[0].Condition.DateLessThan.acs:CurrentTime", "ISO 8601"},
		{"date only", cond(`{"DateLessThan":{"acs:CurrentTime":"2019-08-12"}}`), "Statement[0].Condition.DateLessThan.acs:CurrentTime", "ISO 8601"},
		{"date nonsense in list", cond(`{"DateEquals":{"acs:CurrentTime":["2019-08-12T17:00:00Z","soon"]}}`), "Statement[0].Condition.DateEquals.acs:CurrentTime[1]", "ISO 8601"},
		{"Bool capitalised", cond(`{"Bool":{"acs:SecureTransport":"True"}}`), "Statement[0].Condition.Bool.acs:SecureTransport", `"true" or "false"`},
		{"Bool yes", cond(`{"Bool":{"acs:SecureTransport":"yes"}}`), "Statement[0].Condition.Bool.acs:SecureTransport", `"true" or "false"`},
		{"IP nonsense", cond(`{"IpAddress":{"acs:SourceIp":"10.0.0.0/33"}}`), "Statement[0].Condition.IpAddress.acs:SourceIp", "CIDR"},
		{"IP hostname", cond(`{"NotIpAddress":{"acs:SourceIp":"localhost"}}`), "Statement[0].Condition.NotIpAddress.acs:SourceIp", "CIDR"},
		{"IP with zone", cond(`{"IpAddress":{"acs:SourceIp":"fe80::1%eth0"}}`), "Statement[0].Condition.IpAddress.acs:SourceIp", "CIDR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := Parse([]byte(tc.doc))
			if err == nil {
				t.Fatalf("Parse accepted %s", tc.doc)
			}
			if d != nil {
				t.Errorf("Parse returned a document with its error")
			}
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("error %T %v is not a *ValidationError", err, err)
			}
			if ve.Element != tc.element {
				t.Errorf("Element = %q, want %q (reason %q)", ve.Element, tc.element, ve.Reason)
			}
			if !strings.Contains(ve.Reason, tc.reason) {
				t.Errorf("Reason = %q, want it to contain %q", ve.Reason, tc.reason)
			}
			if !strings.HasSuffix(ve.Reason, ".") {
				t.Errorf("Reason %q is not a sentence", ve.Reason)
			}
			if !strings.Contains(err.Error(), ve.Reason) {
				t.Errorf("Error() = %q does not carry the reason", err.Error())
			}
		})
	}
}

func TestWildcardMatch(t *testing.T) {
	tests := []struct {
		pattern, s string
		fold, want bool
	}{
		{"*", "", false, true},
		{"", "", false, true},
		{"", "a", false, false},
		{"a*", "a", false, true},
		{"*a", "ba", false, true},
		{"*a", "ab", false, false},
		{"a*b*c", "aXbYbZc", false, true},
		{"a*b*c", "aXbYbZ", false, false},
		{"a**b", "ab", false, true},
		{"?", "", false, false},
		{"?", "é", false, true},
		{"??", "é", false, false},
		{"a?c", "abc", false, true},
		{"*?", "x", false, true},
		{"*bc", "abcbc", false, true},
		{"ECS:Describe*", "ecs:describeinstances", true, true},
		{"ECS:Describe*", "ecs:describeinstances", false, false},
		{"straße*", "STRASSE", true, false},
		{"éa*", "ÉA", true, true},
		{"acs:ecs:*:*:instance/*", "acs:ecs:cn-hangzhou:1:instance/i-1", false, true},
		{"acs:ecs:*:*:instance/*", "acs:ecs:cn-hangzhou:1:disk/d-1", false, false},
	}
	for _, tc := range tests {
		if got := newPattern(tc.pattern).match(tc.s, tc.fold); got != tc.want {
			t.Errorf("match(%q, %q, fold=%v) = %v, want %v", tc.pattern, tc.s, tc.fold, got, tc.want)
		}
	}
}
