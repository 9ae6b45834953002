package policy

import (
	"net/netip"
	"testing"
	"time"
)

func mustParse(tb testing.TB, text string) *Document {
	tb.Helper()
	d, err := Parse([]byte(text))
	if err != nil {
		tb.Fatalf("Parse(%s): %v", text, err)
	}
	return d
}

// allowWith is a document with one Allow statement on every action and
// resource, restricted by the given Condition element.
func allowWith(condition string) string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":` + condition + `}]}`
}

const (
	arnI1     = "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1"
	arnI12    = "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp12"
	arnSafe   = "acs:ecs:cn-hangzhou:1234567890123456:instance/i-safe"
	allowAll  = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	allowECS  = `{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"*"}]}`
	denyStop  = `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:StopInstance","Resource":"*"}]}`
	vncAction = "ecs:ModifyInstanceVncPasswd"
)

// noon is 2019-08-12T12:00:00Z, i.e. 20:00 in UTC+8.
var noon = time.Date(2019, 8, 12, 12, 0, 0, 0, time.UTC)

func TestEvaluate(t *testing.T) {
	// req builds a request for vncAction on arnI1 from noon, over TLS, from
	// 10.1.2.3, then lets the case adjust it.
	req := func(adjust func(*Request)) Request {
		r := Request{
			Action:          vncAction,
			Resource:        arnI1,
			SourceIP:        netip.MustParseAddr("10.1.2.3"),
			SecureTransport: true,
			CurrentTime:     noon,
		}
		if adjust != nil {
			adjust(&r)
		}
		return r
	}
	action := func(a string) func(*Request) { return func(r *Request) { r.Action = a } }
	resource := func(a string) func(*Request) { return func(r *Request) { r.Resource = a } }
	extra := func(k string, v ...string) func(*Request) {
		return func(r *Request) {
			if r.Extra == nil {
				r.Extra = map[string][]string{}
			}
			r.Extra[k] = v
		}
	}
	ip := func(a string) func(*Request) { return func(r *Request) { r.SourceIP = netip.MustParseAddr(a) } }
	at := func(s string) func(*Request) {
		return func(r *Request) {
			ts, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				panic(err)
			}
			r.CurrentTime = ts
		}
	}
	both := func(fs ...func(*Request)) func(*Request) {
		return func(r *Request) {
			for _, f := range fs {
				f(r)
			}
		}
	}
	noIP := func(r *Request) { r.SourceIP = netip.Addr{} }
	noTime := func(r *Request) { r.CurrentTime = time.Time{} }
	plain := func(r *Request) { r.SecureTransport = false }

	tests := []struct {
		name string
		docs []string
		req  Request
		want Decision
	}{
		// Default deny and the basic grant.
		{"no policies deny by default", nil, req(nil), ImplicitDeny},
		{"exact action and resource", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:ModifyInstanceVncPasswd","Resource":"` + arnI1 + `"}]}`}, req(nil), Allow},
		{"other action not granted", []string{allowECS}, req(action("ehpc:ListClusters")), ImplicitDeny},
		{"empty action denied", []string{allowAll}, req(action("")), ImplicitDeny},
		{"nil document skipped", []string{"", allowECS}, req(nil), Allow},

		// Actions: case-insensitive, both wildcards.
		{"action case-insensitive", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ECS:modifyinstancevncpasswd","Resource":"*"}]}`}, req(nil), Allow},
		{"action star suffix", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}`}, req(action("ecs:DescribeInstances")), Allow},
		{"action star suffix no match", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:Describe*","Resource":"*"}]}`}, req(nil), ImplicitDeny},
		{"action star case-insensitive", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:describe*","Resource":"*"}]}`}, req(action("ecs:DescribeInstanceVncUrl")), Allow},
		{"action question mark", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:?tartInstance","Resource":"*"}]}`}, req(action("ecs:StartInstance")), Allow},
		{"action question mark is one character", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:?InstanceVncPasswd","Resource":"*"}]}`}, req(nil), ImplicitDeny},
		{"action star in service", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*:List*","Resource":"*"}]}`}, req(action("ehpc:ListClusters")), Allow},
		{"action list any element", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":["ecs:StopInstance","ecs:ModifyInstanceVncPasswd"],"Resource":"*"}]}`}, req(nil), Allow},

		// Resources: case-sensitive, both wildcards.
		{"resource star", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*:*:instance/*"}]}`}, req(nil), Allow},
		{"resource case-sensitive", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*:*:instance/I-BP1"}]}`}, req(nil), ImplicitDeny},
		{"resource question mark", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:cn-hangzhou:*:instance/i-bp?"}]}`}, req(nil), Allow},
		{"resource question mark is one character", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:cn-hangzhou:*:instance/i-bp?"}]}`}, req(resource(arnI12)), ImplicitDeny},
		{"resource other region", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:cn-beijing:*:instance/*"}]}`}, req(nil), ImplicitDeny},
		{"resource other account", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","Resource":"acs:ecs:*:9999999999999999:instance/*"}]}`}, req(nil), ImplicitDeny},

		// Explicit deny wins.
		{"deny beats allow across documents", []string{allowAll, denyStop}, req(action("ecs:StopInstance")), ExplicitDeny},
		{"deny beats allow in either order", []string{denyStop, allowAll}, req(action("ecs:StopInstance")), ExplicitDeny},
		{"deny in the same document", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"ecs:modify*","Resource":"*"}]}`}, req(nil), ExplicitDeny},
		{"non-matching deny leaves allow", []string{allowAll, denyStop}, req(nil), Allow},
		{"deny without allow is explicit", []string{denyStop}, req(action("ecs:StopInstance")), ExplicitDeny},

		// NotAction and NotResource.
		{"NotAction allow grants the rest", []string{`{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"ecs:Delete*","Resource":"*"}]}`}, req(nil), Allow},
		{"NotAction allow excludes its list", []string{`{"Version":"1","Statement":[{"Effect":"Allow","NotAction":["ecs:Delete*","ram:*"],"Resource":"*"}]}`}, req(action("ecs:DeleteInstance")), ImplicitDeny},
		{"NotAction deny", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","NotAction":"ecs:Describe*","Resource":"*"}]}`}, req(nil), ExplicitDeny},
		{"NotAction deny spares its list", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","NotAction":"ecs:Describe*","Resource":"*"}]}`}, req(action("ecs:DescribeInstances")), Allow},
		{"NotResource deny hits others", []string{allowECS, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:*","NotResource":"` + arnSafe + `"}]}`}, req(nil), ExplicitDeny},
		{"NotResource deny spares its list", []string{allowECS, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:*","NotResource":"` + arnSafe + `"}]}`}, req(resource(arnSafe)), Allow},
		{"NotResource allow", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","NotResource":"acs:ecs:*:*:instance/i-bp1*"}]}`}, req(resource(arnSafe)), Allow},
		{"NotResource allow excludes wildcard", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","NotResource":"acs:ecs:*:*:instance/i-bp1*"}]}`}, req(resource(arnI12)), ImplicitDeny},

		// String operators.
		{"StringEquals", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "dev")), Allow},
		{"StringEquals mismatch", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "ops")), ImplicitDeny},
		{"StringEquals case-sensitive", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "Dev")), ImplicitDeny},
		{"StringEquals absent key", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(nil), ImplicitDeny},
		{"StringEquals empty values absent", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team")), ImplicitDeny},
		{"StringNotEquals different", []string{allowWith(`{"StringNotEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "ops")), Allow},
		{"StringNotEquals equal", []string{allowWith(`{"StringNotEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "dev")), ImplicitDeny},
		{"StringNotEquals absent key holds", []string{allowWith(`{"StringNotEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(nil), Allow},
		{"StringEqualsIgnoreCase", []string{allowWith(`{"StringEqualsIgnoreCase":{"acs:ResourceTag/team":"DEV"}}`)}, req(extra("acs:ResourceTag/team", "dev")), Allow},
		{"StringNotEqualsIgnoreCase equal", []string{allowWith(`{"StringNotEqualsIgnoreCase":{"acs:ResourceTag/team":"DEV"}}`)}, req(extra("acs:ResourceTag/team", "dev")), ImplicitDeny},
		{"StringNotEqualsIgnoreCase different", []string{allowWith(`{"StringNotEqualsIgnoreCase":{"acs:ResourceTag/team":"DEV"}}`)}, req(extra("acs:ResourceTag/team", "ops")), Allow},
		{"StringNotEqualsIgnoreCase absent", []string{allowWith(`{"StringNotEqualsIgnoreCase":{"acs:ResourceTag/team":"DEV"}}`)}, req(nil), Allow},
		{"StringLike", []string{allowWith(`{"StringLike":{"acs:ResourceTag/team":"team-*"}}`)}, req(extra("acs:ResourceTag/team", "team-a")), Allow},
		{"StringLike question mark", []string{allowWith(`{"StringLike":{"acs:ResourceTag/team":"team-?"}}`)}, req(extra("acs:ResourceTag/team", "team-ab")), ImplicitDeny},
		{"StringLike case-sensitive", []string{allowWith(`{"StringLike":{"acs:ResourceTag/team":"Team-*"}}`)}, req(extra("acs:ResourceTag/team", "team-a")), ImplicitDeny},
		{"StringLike absent", []string{allowWith(`{"StringLike":{"acs:ResourceTag/team":"*"}}`)}, req(nil), ImplicitDeny},
		{"StringNotLike matching", []string{allowWith(`{"StringNotLike":{"acs:ResourceTag/team":"team-*"}}`)}, req(extra("acs:ResourceTag/team", "team-a")), ImplicitDeny},
		{"StringNotLike not matching", []string{allowWith(`{"StringNotLike":{"acs:ResourceTag/team":"team-*"}}`)}, req(extra("acs:ResourceTag/team", "ops")), Allow},
		{"StringNotLike absent", []string{allowWith(`{"StringNotLike":{"acs:ResourceTag/team":"team-*"}}`)}, req(nil), Allow},
		{"StringEquals on SourceIp text", []string{allowWith(`{"StringEquals":{"acs:SourceIp":"10.1.2.3"}}`)}, req(nil), Allow},
		{"StringLike on CurrentTime text", []string{allowWith(`{"StringLike":{"acs:CurrentTime":"2019-08-12T*Z"}}`)}, req(nil), Allow},

		// Numeric operators.
		{"NumericEquals", []string{allowWith(`{"NumericEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "10.0")), Allow},
		{"NumericEquals mismatch", []string{allowWith(`{"NumericEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "11")), ImplicitDeny},
		{"NumericEquals not a number", []string{allowWith(`{"NumericEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "ten")), ImplicitDeny},
		{"NumericEquals large integers exact", []string{allowWith(`{"NumericEquals":{"ecs:Amount":"9007199254740993"}}`)}, req(extra("ecs:Amount", "9007199254740992")), ImplicitDeny},
		{"NumericNotEquals different", []string{allowWith(`{"NumericNotEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "11")), Allow},
		{"NumericNotEquals equal", []string{allowWith(`{"NumericNotEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "1e1")), ImplicitDeny},
		{"NumericNotEquals absent", []string{allowWith(`{"NumericNotEquals":{"ecs:Amount":"10"}}`)}, req(nil), Allow},
		{"NumericLessThan below", []string{allowWith(`{"NumericLessThan":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "9.5")), Allow},
		{"NumericLessThan equal", []string{allowWith(`{"NumericLessThan":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "10")), ImplicitDeny},
		{"NumericLessThanEquals equal", []string{allowWith(`{"NumericLessThanEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "10")), Allow},
		{"NumericLessThanEquals above", []string{allowWith(`{"NumericLessThanEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "11")), ImplicitDeny},
		{"NumericGreaterThan above", []string{allowWith(`{"NumericGreaterThan":{"ecs:Amount":"-1"}}`)}, req(extra("ecs:Amount", "0")), Allow},
		{"NumericGreaterThan equal", []string{allowWith(`{"NumericGreaterThan":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "10")), ImplicitDeny},
		{"NumericGreaterThanEquals equal", []string{allowWith(`{"NumericGreaterThanEquals":{"ecs:Amount":"10"}}`)}, req(extra("ecs:Amount", "10")), Allow},
		{"NumericGreaterThanEquals absent", []string{allowWith(`{"NumericGreaterThanEquals":{"ecs:Amount":"10"}}`)}, req(nil), ImplicitDeny},

		// Date operators; noon UTC is 20:00 at +08:00.
		{"DateLessThan before", []string{allowWith(`{"DateLessThan":{"acs:CurrentTime":"2019-08-12T20:00:01+08:00"}}`)}, req(nil), Allow},
		{"DateLessThan at the instant", []string{allowWith(`{"DateLessThan":{"acs:CurrentTime":"2019-08-12T20:00:00+08:00"}}`)}, req(nil), ImplicitDeny},
		{"DateLessThan offset matters", []string{allowWith(`{"DateLessThan":{"acs:CurrentTime":"2019-08-12T17:00:00+08:00"}}`)}, req(nil), ImplicitDeny},
		{"DateLessThanEquals at the instant", []string{allowWith(`{"DateLessThanEquals":{"acs:CurrentTime":"2019-08-12T20:00:00+08:00"}}`)}, req(nil), Allow},
		{"DateGreaterThan after", []string{allowWith(`{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T06:59:59-05:00"}}`)}, req(nil), Allow},
		{"DateGreaterThan at the instant", []string{allowWith(`{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T12:00:00Z"}}`)}, req(nil), ImplicitDeny},
		{"DateGreaterThanEquals at the instant", []string{allowWith(`{"DateGreaterThanEquals":{"acs:CurrentTime":"2019-08-12T12:00:00Z"}}`)}, req(nil), Allow},
		{"DateEquals across offsets to the second", []string{allowWith(`{"DateEquals":{"acs:CurrentTime":"2019-08-12T20:00:00+08:00"}}`)}, req(at("2019-08-12T12:00:00.75Z")), Allow},
		{"DateEquals without seconds", []string{allowWith(`{"DateEquals":{"acs:CurrentTime":"2019-08-12T20:00+08:00"}}`)}, req(nil), Allow},
		{"DateEquals epoch seconds", []string{allowWith(`{"DateEquals":{"acs:CurrentTime":"1565611200"}}`)}, req(nil), Allow},
		{"DateNotEquals different", []string{allowWith(`{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T12:00:01Z"}}`)}, req(nil), Allow},
		{"DateNotEquals equal", []string{allowWith(`{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T12:00:00Z"}}`)}, req(nil), ImplicitDeny},
		{"DateLessThan absent time", []string{allowWith(`{"DateLessThan":{"acs:CurrentTime":"2099-01-01T00:00:00Z"}}`)}, req(noTime), ImplicitDeny},
		{"DateNotEquals absent time", []string{allowWith(`{"DateNotEquals":{"acs:CurrentTime":"2019-08-12T12:00:00Z"}}`)}, req(noTime), Allow},
		{"Date on an extra key", []string{allowWith(`{"DateGreaterThan":{"acs:TokenIssueTime":"2019-01-01T00:00:00Z"}}`)}, req(extra("acs:TokenIssueTime", "2019-06-01T08:00:00+08:00")), Allow},
		{"Date on an unparsable extra value", []string{allowWith(`{"DateGreaterThan":{"acs:TokenIssueTime":"2019-01-01T00:00:00Z"}}`)}, req(extra("acs:TokenIssueTime", "yesterday")), ImplicitDeny},

		// Bool.
		{"Bool SecureTransport true", []string{allowWith(`{"Bool":{"acs:SecureTransport":"true"}}`)}, req(nil), Allow},
		{"Bool SecureTransport plain HTTP", []string{allowWith(`{"Bool":{"acs:SecureTransport":"true"}}`)}, req(plain), ImplicitDeny},
		{"Bool SecureTransport false", []string{allowWith(`{"Bool":{"acs:SecureTransport":"false"}}`)}, req(plain), Allow},
		{"Deny plain HTTP", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"false"}}}]}`}, req(plain), ExplicitDeny},
		{"Bool extra value folded", []string{allowWith(`{"Bool":{"acs:MFAPresent":"true"}}`)}, req(extra("acs:MFAPresent", "TRUE")), Allow},
		{"Bool absent", []string{allowWith(`{"Bool":{"acs:MFAPresent":"true"}}`)}, req(nil), ImplicitDeny},

		// IP addresses.
		{"IpAddress IPv4 CIDR", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`)}, req(nil), Allow},
		{"IpAddress IPv4 CIDR outside", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.0.0.0/16"}}`)}, req(nil), ImplicitDeny},
		{"IpAddress unmasked CIDR", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.1.9.9/16"}}`)}, req(nil), Allow},
		{"IpAddress single address", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.1.2.3"}}`)}, req(nil), Allow},
		{"IpAddress single address other", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.1.2.4"}}`)}, req(nil), ImplicitDeny},
		{"IpAddress IPv6 CIDR", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}`)}, req(ip("2001:db8:1::7")), Allow},
		{"IpAddress IPv6 CIDR outside", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"2001:db8::/32"}}`)}, req(ip("2001:db9::7")), ImplicitDeny},
		{"IpAddress IPv6 single", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"::1"}}`)}, req(ip("::1")), Allow},
		{"IpAddress IPv4-mapped request", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"192.168.0.0/16"}}`)}, req(ip("::ffff:192.168.3.4")), Allow},
		{"IpAddress IPv4 request against IPv6 block", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"::/0"}}`)}, req(nil), ImplicitDeny},
		{"IpAddress absent", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"0.0.0.0/0"}}`)}, req(noIP), ImplicitDeny},
		{"NotIpAddress inside", []string{allowWith(`{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`)}, req(nil), ImplicitDeny},
		{"NotIpAddress outside", []string{allowWith(`{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`)}, req(ip("203.0.113.9")), Allow},
		{"NotIpAddress absent", []string{allowWith(`{"NotIpAddress":{"acs:SourceIp":"10.0.0.0/8"}}`)}, req(noIP), Allow},
		{"Deny outside the office", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}]}`}, req(ip("203.0.113.9")), ExplicitDeny},
		{"Deny outside the office spares IPv6 office", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["10.0.0.0/8","2001:db8::/32"]}}}]}`}, req(ip("2001:db8::5")), Allow},

		// Combination rules.
		{"values of one key ORed", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":["dev","ops"]}}`)}, req(extra("acs:ResourceTag/team", "ops")), Allow},
		{"IP values ORed", []string{allowWith(`{"IpAddress":{"acs:SourceIp":["192.168.0.0/16","10.1.2.0/24"]}}`)}, req(nil), Allow},
		{"keys ANDed all hold", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev","acs:ResourceTag/env":"test"}}`)}, req(both(extra("acs:ResourceTag/team", "dev"), extra("acs:ResourceTag/env", "test"))), Allow},
		{"keys ANDed one fails", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev","acs:ResourceTag/env":"test"}}`)}, req(both(extra("acs:ResourceTag/team", "dev"), extra("acs:ResourceTag/env", "prod"))), ImplicitDeny},
		{"operators ANDed window open", []string{allowWith(`{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2019-08-13T00:00:00Z"}}`)}, req(nil), Allow},
		{"operators ANDed window closed", []string{allowWith(`{"DateGreaterThan":{"acs:CurrentTime":"2019-08-12T00:00:00Z"},"DateLessThan":{"acs:CurrentTime":"2019-08-12T11:00:00Z"}}`)}, req(nil), ImplicitDeny},
		{"operators ANDed across kinds", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"10.0.0.0/8"},"Bool":{"acs:SecureTransport":"true"}}`)}, req(plain), ImplicitDeny},
		{"several request values any matches", []string{allowWith(`{"StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "ops", "dev")), Allow},
		{"negated with several request values", []string{allowWith(`{"StringNotEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "ops", "dev")), ImplicitDeny},
		{"ForAnyValue matches one", []string{allowWith(`{"ForAnyValue:StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "ops", "dev")), Allow},
		{"ForAnyValue absent", []string{allowWith(`{"ForAnyValue:StringNotEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(nil), ImplicitDeny},
		{"ForAllValues subset", []string{allowWith(`{"ForAllValues:StringEquals":{"acs:ResourceTag/team":["dev","ops"]}}`)}, req(extra("acs:ResourceTag/team", "ops", "dev")), Allow},
		{"ForAllValues not subset", []string{allowWith(`{"ForAllValues:StringEquals":{"acs:ResourceTag/team":["dev","ops"]}}`)}, req(extra("acs:ResourceTag/team", "ops", "qa")), ImplicitDeny},
		{"ForAllValues absent", []string{allowWith(`{"ForAllValues:StringEquals":{"acs:ResourceTag/team":"dev"}}`)}, req(nil), Allow},
		{"condition key case-insensitive", []string{allowWith(`{"IpAddress":{"ACS:SOURCEIP":"10.0.0.0/8"}}`)}, req(nil), Allow},
		{"extra key case-insensitive", []string{allowWith(`{"StringEquals":{"acs:resourcetag/team":"dev"}}`)}, req(extra("acs:ResourceTag/team", "dev")), Allow},
		{"typed keys ignore Extra", []string{allowWith(`{"IpAddress":{"acs:SourceIp":"192.168.0.0/16"}}`)}, req(extra("acs:SourceIp", "192.168.1.1")), ImplicitDeny},
		{"deny whose condition fails", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"false"}}}]}`}, req(nil), Allow},
		{"deny whose condition is on an absent key", []string{allowAll, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/locked":"yes"}}}]}`}, req(nil), Allow},
	}
	if len(tests) < 40 {
		t.Fatalf("only %d cases", len(tests))
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			docs := make([]*Document, len(tc.docs))
			for i, text := range tc.docs {
				if text != "" {
					docs[i] = mustParse(t, text)
				}
			}
			if got := Evaluate(docs, tc.req); got != tc.want {
				t.Errorf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDecisionString(t *testing.T) {
	for d, want := range map[Decision]string{Allow: "Allow", ImplicitDeny: "ImplicitDeny", ExplicitDeny: "ExplicitDeny"} {
		if got := d.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", d, got, want)
		}
	}
	var zero Decision
	if zero != ImplicitDeny {
		t.Errorf("zero Decision = %v, want ImplicitDeny", zero)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	docs := []*Document{
		mustParse(b, `{"Version":"1","Statement":[
			{"Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"},
			{"Effect":"Allow","Action":"ecs:ModifyInstanceVncPasswd","Resource":"acs:ecs:*:*:instance/i-bp*",
			 "Condition":{"IpAddress":{"acs:SourceIp":["192.168.0.0/16","10.0.0.0/8"]},"Bool":{"acs:SecureTransport":"true"},
			              "DateLessThan":{"acs:CurrentTime":"2030-01-01T00:00:00+08:00"}}}]}`),
		mustParse(b, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:Delete*","Resource":"*"}]}`),
	}
	if sys, ok := System("AliyunEHPCReadOnlyAccess"); ok {
		docs = append(docs, sys)
	}
	req := Request{
		Action:          "ecs:ModifyInstanceVncPasswd",
		Resource:        arnI1,
		SourceIP:        netip.MustParseAddr("10.1.2.3"),
		SecureTransport: true,
		CurrentTime:     noon,
	}
	if Evaluate(docs, req) != Allow {
		b.Fatal("benchmark request is not allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		Evaluate(docs, req)
	}
}
