package service_test

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/latchkey/latchkey/catalog"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/service"
)

// ramFixture is the RAM service and the policy authorizer over the E-HPC
// fixture's store, with an E-HPC service and an ECS service that use the
// authorizer.
type ramFixture struct {
	*ehpcFixture
	ram      *service.RAM
	identity *service.Identity
	authz    *service.PolicyAuthorizer
	ecs      *service.ECS
}

func newRAMFixture(t *testing.T) *ramFixture {
	t.Helper()
	f := &ramFixture{ehpcFixture: newEHPCFixture(t, core.EHPCPasswordPolicy2025)}
	f.identity = service.NewIdentity(f.cfg)
	f.ram = service.NewRAM(f.cfg, f.identity)
	f.authz = service.NewPolicyAuthorizer(f.cfg)
	cfg := f.cfg
	cfg.Authorizer = f.authz
	f.ehpc = service.NewEHPC(cfg, f.ecfg, catalog.NewAlibaba())
	f.ecs = service.NewECS(cfg, catalog.NewAlibaba())
	return f
}

// user creates a RAM user with the given custom policy documents attached
// (and system policies named "System:<name>") and returns its caller.
func (f *ramFixture) user(t *testing.T, name string, policies ...string) core.Caller {
	t.Helper()
	ctx := context.Background()
	if _, err := f.ram.CreateUser(ctx, f.caller, core.CreateRAMUserInput{Name: core.UserName(name)}); err != nil {
		t.Fatal(err)
	}
	for i, doc := range policies {
		if sys, ok := strings.CutPrefix(doc, "System:"); ok {
			if err := f.ram.AttachPolicyToUser(ctx, f.caller, core.PolicySystem, sys, core.UserName(name)); err != nil {
				t.Fatal(err)
			}
			continue
		}
		pname := name + "-p" + string(rune('0'+i))
		if _, err := f.ram.CreatePolicy(ctx, f.caller, pname, doc, ""); err != nil {
			t.Fatalf("CreatePolicy: %v", err)
		}
		if err := f.ram.AttachPolicyToUser(ctx, f.caller, core.PolicyCustom, pname, core.UserName(name)); err != nil {
			t.Fatal(err)
		}
	}
	key, err := f.ram.CreateAccessKey(ctx, f.caller, core.UserName(name))
	if err != nil {
		t.Fatal(err)
	}
	return core.Caller{Principal: core.Principal{AccountID: f.caller.AccountID, User: core.UserName(name), AccessKeyID: key.Key.ID}}
}

func allow(action, resource string) string {
	return `{"Version":"1","Statement":[{"Effect":"Allow","Action":"` + action + `","Resource":"` + resource + `"}]}`
}

func TestPolicyAuthorizerTable(t *testing.T) {
	f := newRAMFixture(t)
	ctx := context.Background()
	ecsARN := "acs:ecs:cn-hangzhou:" + string(f.caller.AccountID) + ":instance/i-bp1"
	ehpcARN := "acs:ehpc:cn-hangzhou:" + string(f.caller.AccountID) + ":*"
	office := netip.MustParseAddr("203.0.113.9")
	home := netip.MustParseAddr("198.51.100.1")

	cases := []struct {
		name     string
		policies []string
		action   string
		resource string
		source   netip.Addr
		secure   bool
		allowed  bool
		explicit bool
	}{
		{"no policy", nil, "ecs:DescribeInstances", ecsARN, office, true, false, false},
		{"exact allow", []string{allow("ecs:ModifyInstanceVncPasswd", ecsARN)}, "ecs:ModifyInstanceVncPasswd", ecsARN, office, true, true, false},
		{"action case-insensitive", []string{allow("ECS:modifyinstancevncpasswd", ecsARN)}, "ecs:ModifyInstanceVncPasswd", ecsARN, office, true, true, false},
		{"wildcard action", []string{allow("ecs:Describe*", "*")}, "ecs:DescribeInstances", ecsARN, office, true, true, false},
		{"wildcard misses", []string{allow("ecs:Describe*", "*")}, "ecs:StartInstance", ecsARN, office, true, false, false},
		{"? wildcard", []string{allow("ecs:?topInstance", "*")}, "ecs:StopInstance", ecsARN, office, true, true, false},
		{"resource wildcard", []string{allow("ecs:*", "acs:ecs:*:*:instance/i-bp*")}, "ecs:StartInstance", ecsARN, office, true, true, false},
		{"resource mismatch", []string{allow("ecs:*", "acs:ecs:*:*:instance/i-wz*")}, "ecs:StartInstance", ecsARN, office, true, false, false},
		{"E-HPC pattern", []string{allow("ehpc:*", "acs:ehpc:*:*:*")}, "ehpc:ModifyVisualServicePasswd", ehpcARN, office, true, true, false},
		{"explicit deny wins", []string{allow("*", "*"), `{"Version":"1","Statement":[{"Effect":"Deny","Action":["ecs:ModifyInstanceVncPasswd","ehpc:ModifyVisualServicePasswd"],"Resource":"*"}]}`},
			"ehpc:ModifyVisualServicePasswd", ehpcARN, office, true, false, true},
		{"deny elsewhere", []string{allow("*", "*"), `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:ModifyInstanceVncPasswd","Resource":"*"}]}`},
			"ehpc:ListClusters", ehpcARN, office, true, true, false},
		{"NotAction", []string{`{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"ehpc:Modify*","Resource":"*"}]}`}, "ehpc:ModifyVisualServicePasswd", ehpcARN, office, true, false, false},
		{"NotAction allows others", []string{`{"Version":"1","Statement":[{"Effect":"Allow","NotAction":"ehpc:Modify*","Resource":"*"}]}`}, "ehpc:ListClusters", ehpcARN, office, true, true, false},
		{"NotResource", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"ecs:*","NotResource":"acs:ecs:*:*:instance/i-bp1"}]}`}, "ecs:StartInstance", ecsARN, office, true, false, false},
		{"IpAddress in", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"203.0.113.0/24"}}}]}`}, "ecs:StartInstance", ecsARN, office, false, true, false},
		{"IpAddress out", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"acs:SourceIp":"203.0.113.0/24"}}}]}`}, "ecs:StartInstance", ecsARN, home, false, false, false},
		{"NotIpAddress deny", []string{allow("*", "*"), `{"Version":"1","Statement":[{"Effect":"Deny","Action":"*","Resource":"*","Condition":{"NotIpAddress":{"acs:SourceIp":["203.0.113.0/24"]}}}]}`}, "ecs:StartInstance", ecsARN, home, true, false, true},
		{"SecureTransport true", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}`}, "ehpc:ModifyVisualServicePasswd", ehpcARN, office, true, true, false},
		{"SecureTransport over HTTP", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"Bool":{"acs:SecureTransport":"true"}}}]}`}, "ehpc:ModifyVisualServicePasswd", ehpcARN, office, false, false, false},
		{"CurrentTime before", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateLessThan":{"acs:CurrentTime":"2026-11-23T21:00:00+08:00"}}}]}`}, "ecs:StartInstance", ecsARN, office, true, true, false},
		{"CurrentTime after", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"DateGreaterThan":{"acs:CurrentTime":"2026-11-23T21:00:00+08:00"}}}]}`}, "ecs:StartInstance", ecsARN, office, true, false, false},
		{"StringLike on action's key absent", []string{`{"Version":"1","Statement":[{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"StringEquals":{"acs:ResourceTag/team":"dev"}}}]}`}, "ecs:StartInstance", ecsARN, office, true, false, false},
		{"system AliyunEHPCReadOnlyAccess lists", []string{"System:AliyunEHPCReadOnlyAccess"}, "ehpc:ListClusters", ehpcARN, office, true, true, false},
		{"system AliyunEHPCReadOnlyAccess cannot modify", []string{"System:AliyunEHPCReadOnlyAccess"}, "ehpc:ModifyVisualServicePasswd", ehpcARN, office, true, false, false},
		{"system AliyunECSFullAccess", []string{"System:AliyunECSFullAccess"}, "ecs:ModifyInstanceVncPasswd", ecsARN, office, true, true, false},
		{"system AdministratorAccess", []string{"System:AdministratorAccess"}, "ram:CreateUser", "acs:ram:*:1:user/x", office, true, true, false},
	}
	for i, c := range cases {
		caller := f.user(t, "case"+string(rune('a'+i/26))+string(rune('a'+i%26)), c.policies...)
		caller.SourceIP, caller.Secure = c.source, c.secure
		err := f.authz.Authorize(ctx, caller, c.action, c.resource)
		if c.allowed {
			if err != nil {
				t.Errorf("%s: denied: %v", c.name, err)
			}
			continue
		}
		e := core.AsError(err)
		if err == nil || e.Reason != core.ReasonRAMDenied || e.Denial == nil {
			t.Errorf("%s: got %v, want a RAM denial", c.name, err)
			continue
		}
		if e.Denial.Explicit != c.explicit || e.Denial.Action != c.action || e.Denial.Resource != c.resource || e.Denial.PrincipalID != string(caller.User) {
			t.Errorf("%s: denial %+v", c.name, e.Denial)
		}
	}
	if err := f.authz.Authorize(ctx, f.caller, "ehpc:ModifyVisualServicePasswd", ehpcARN); err != nil {
		t.Errorf("root denied: %v", err)
	}
}

func TestRAMEnforcedOnECSAndEHPC(t *testing.T) {
	f := newRAMFixture(t)
	ctx := context.Background()
	cl := f.create(t, 1)
	ids, err := f.ecs.RunInstances(ctx, f.caller, core.CreateInstanceInput{RegionID: "cn-hangzhou", ImageID: "img", InstanceType: "ecs.g7.large", IoOptimized: true})
	if err != nil {
		t.Fatal(err)
	}
	restricted := f.user(t, "restricted", allow("*", "*"),
		`{"Version":"1","Statement":[{"Effect":"Deny","Action":["ecs:ModifyInstanceVncPasswd","ehpc:ModifyVisualServicePasswd"],"Resource":"*"}]}`)
	err = f.ecs.ModifyInstanceVncPasswd(ctx, restricted, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[0]}, core.NewSecret("Abc123"))
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
	_, err = f.ehpc.ModifyVisualServicePasswd(ctx, restricted, cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")})
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
	// Allowed what the policy allows.
	if _, err := f.ehpc.ListClusters(ctx, restricted, "cn-hangzhou", core.Page{}); err != nil {
		t.Fatal(err)
	}
	if err := f.ecs.RebootInstance(ctx, restricted, core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: ids[0]}); err != nil {
		t.Fatal(err)
	}
	// Nothing attached: denied.
	none := f.user(t, "nopolicy")
	_, err = f.ehpc.ListClusters(ctx, none, "cn-hangzhou", core.Page{})
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
	// Attaching takes effect on the next call; detaching likewise.
	if err := f.ram.AttachPolicyToUser(ctx, f.caller, core.PolicySystem, "AliyunEHPCFullAccess", "nopolicy"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.ehpc.ModifyVisualServicePasswd(ctx, none, cref(cl.ID), core.VisualPasswdInput{RunasUser: "root", RunasUserPassword: core.NewSecret(rootPassword), Passwd: core.NewSecret("Abc123")}); err != nil {
		t.Fatal(err)
	}
	if err := f.ram.DetachPolicyFromUser(ctx, f.caller, core.PolicySystem, "AliyunEHPCFullAccess", "nopolicy"); err != nil {
		t.Fatal(err)
	}
	_, err = f.ehpc.ListClusters(ctx, none, "cn-hangzhou", core.Page{})
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
}

func TestRAMService(t *testing.T) {
	f := newRAMFixture(t)
	ctx := context.Background()
	root := f.caller
	u, err := f.ram.CreateUser(ctx, root, core.CreateRAMUserInput{Name: "alice", DisplayName: "Alice", MobilePhone: "86-18600008888", Email: "alice@example.com"})
	if err != nil || len(u.ID) != 16 || u.DisplayName != "Alice" {
		t.Fatalf("CreateUser = %+v, %v", u, err)
	}
	_, err = f.ram.CreateUser(ctx, root, core.CreateRAMUserInput{Name: "alice"})
	wantReason(t, err, core.KindConflict, core.ReasonUserExists)
	for field, in := range map[string]core.CreateRAMUserInput{
		"UserName":    {Name: "bad name"},
		"MobilePhone": {Name: "bob", MobilePhone: "18600008888"},
		"Email":       {Name: "bob", Email: "bob"},
		"Comments":    {Name: "bob", Comments: strings.Repeat("x", 129)},
	} {
		if _, err := f.ram.CreateUser(ctx, root, in); core.AsError(err).Field != field {
			t.Errorf("%s: %v", field, err)
		}
	}
	if _, err := f.ram.CreateUser(ctx, root, core.CreateRAMUserInput{Name: core.UserName(strings.Repeat("a", 65))}); core.ReasonOf(err) != core.ReasonTooLong {
		t.Errorf("long name: %v", err)
	}
	if _, err := f.ram.CreateUser(ctx, root, core.CreateRAMUserInput{}); core.ReasonOf(err) != core.ReasonMissingParameter {
		t.Errorf("no name: %v", err)
	}

	for _, n := range []string{"bob", "carol", "dave"} {
		if _, err := f.ram.CreateUser(ctx, root, core.CreateRAMUserInput{Name: core.UserName(n)}); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.ram.ListUsers(ctx, root, "", 3)
	if err != nil || len(page.Users) != 3 || !page.IsTruncated || page.Marker == "" || page.Users[2].Name != "carol" {
		t.Fatalf("ListUsers = %+v, %v", page, err)
	}
	page, err = f.ram.ListUsers(ctx, root, page.Marker, 3)
	if err != nil || len(page.Users) != 1 || page.IsTruncated || page.Users[0].Name != "dave" {
		t.Fatalf("ListUsers page 2 = %+v, %v", page, err)
	}
	if _, err := f.ram.ListUsers(ctx, root, "dave", 3); core.ReasonOf(err) != core.ReasonInvalidParameter {
		t.Errorf("ListUsers with a user name as Marker: err = %v, want InvalidParameter", err)
	}

	// Access keys: two at most; the secret is returned once and sealed.
	k1, err := f.ram.CreateAccessKey(ctx, root, "alice")
	if err != nil || k1.Secret.IsZero() || k1.Key.Status != core.AccessKeyActive {
		t.Fatalf("CreateAccessKey = %v", err)
	}
	if _, err := f.ram.CreateAccessKey(ctx, root, "alice"); err != nil {
		t.Fatal(err)
	}
	_, err = f.ram.CreateAccessKey(ctx, root, "alice")
	wantReason(t, err, core.KindConflict, core.ReasonAccessKeyLimit)
	keys, err := f.ram.ListAccessKeys(ctx, root, "alice")
	if err != nil || len(keys) != 2 || keys[0].Secret != nil {
		t.Fatalf("ListAccessKeys = %d keys, %v", len(keys), err)
	}
	p, secret, err := f.identity.Lookup(ctx, k1.Key.ID)
	if err != nil || p.User != "alice" || secret.Reveal() != k1.Secret.Reveal() {
		t.Fatalf("the new key does not resolve to alice: %v", err)
	}
	_, err = f.ram.CreateAccessKey(ctx, root, "nobody")
	wantReason(t, err, core.KindNotFound, core.ReasonUserNotFound)

	// Policies.
	doc := allow("ecs:Describe*", "*")
	pol, err := f.ram.CreatePolicy(ctx, root, "ReadEcs", doc, "read ECS")
	if err != nil || pol.Type != core.PolicyCustom || pol.DefaultVersion != "v1" {
		t.Fatalf("CreatePolicy = %+v, %v", pol, err)
	}
	_, err = f.ram.CreatePolicy(ctx, root, "ReadEcs", doc, "")
	wantReason(t, err, core.KindConflict, core.ReasonPolicyExists)
	_, err = f.ram.CreatePolicy(ctx, root, "AdministratorAccess", doc, "")
	wantReason(t, err, core.KindConflict, core.ReasonPolicyExists)
	_, err = f.ram.CreatePolicy(ctx, root, "Broken", `{"Version":"1","Statement":[{"Effect":"Allow","Resource":"*"}]}`, "")
	if e := core.AsError(err); e.Reason != core.ReasonMalformedPolicy || e.Message == "" {
		t.Fatalf("malformed document: %v", err)
	}
	_, err = f.ram.CreatePolicy(ctx, root, "Huge", `{"Version":"1","Statement":[]}`+strings.Repeat(" ", 2048), "")
	wantReason(t, err, core.KindInvalid, core.ReasonTooLong)

	if err := f.ram.AttachPolicyToUser(ctx, root, core.PolicyCustom, "ReadEcs", "alice"); err != nil {
		t.Fatal(err)
	}
	err = f.ram.AttachPolicyToUser(ctx, root, core.PolicyCustom, "ReadEcs", "alice")
	wantReason(t, err, core.KindConflict, core.ReasonPolicyAttached)
	err = f.ram.AttachPolicyToUser(ctx, root, core.PolicyCustom, "NoSuch", "alice")
	wantReason(t, err, core.KindNotFound, core.ReasonPolicyNotFound)
	err = f.ram.AttachPolicyToUser(ctx, root, "Other", "ReadEcs", "alice")
	if core.AsError(err).Field != "PolicyType" {
		t.Fatalf("bad PolicyType: %v", err)
	}
	if err := f.ram.AttachPolicyToUser(ctx, root, core.PolicySystem, "AliyunEHPCReadOnlyAccess", "alice"); err != nil {
		t.Fatal(err)
	}
	got, err := f.ram.GetPolicy(ctx, root, core.PolicyCustom, "ReadEcs")
	if err != nil || got.Document != doc || got.AttachmentCount != 1 {
		t.Fatalf("GetPolicy = %+v, %v", got, err)
	}
	sys, err := f.ram.GetPolicy(ctx, root, core.PolicySystem, "AliyunEHPCReadOnlyAccess")
	if err != nil || sys.Type != core.PolicySystem || !strings.Contains(sys.Document, "ehpc:List*") {
		t.Fatalf("GetPolicy(system) = %+v, %v", sys, err)
	}
	list, err := f.ram.ListPoliciesForUser(ctx, root, "alice")
	if err != nil || len(list) != 2 || list[0].Policy.Name != "ReadEcs" {
		t.Fatalf("ListPoliciesForUser = %+v, %v", list, err)
	}
	all, err := f.ram.ListPolicies(ctx, root, "", "", 0)
	if err != nil || len(all.Policies) != 8 || all.Policies[0].Name != "AdministratorAccess" || all.Policies[7].Name != "ReadEcs" {
		t.Fatalf("ListPolicies = %d, %v", len(all.Policies), err)
	}
	sysOnly, err := f.ram.ListPolicies(ctx, root, core.PolicySystem, "", 5)
	if err != nil || len(sysOnly.Policies) != 5 || !sysOnly.IsTruncated {
		t.Fatalf("ListPolicies(System, 5) = %+v, %v", sysOnly, err)
	}
	rest, err := f.ram.ListPolicies(ctx, root, core.PolicySystem, sysOnly.Marker, 5)
	if err != nil || len(rest.Policies) != 2 || rest.IsTruncated {
		t.Fatalf("ListPolicies page 2 = %+v, %v", rest, err)
	}

	// Deletes refuse while something still hangs on.
	err = f.ram.DeletePolicy(ctx, root, "ReadEcs")
	wantReason(t, err, core.KindConflict, core.ReasonPolicyInUse)
	err = f.ram.DeleteUser(ctx, root, "alice")
	wantReason(t, err, core.KindConflict, core.ReasonUserHasKeys)
	for _, k := range keys {
		if err := f.ram.DeleteAccessKey(ctx, root, "alice", k.ID); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := f.identity.Lookup(ctx, k1.Key.ID); core.KindOf(err) != core.KindNotFound {
		t.Fatalf("deleted key still resolves: %v", err)
	}
	err = f.ram.DeleteAccessKey(ctx, root, "alice", keys[0].ID)
	wantReason(t, err, core.KindNotFound, core.ReasonUserAccessKeyNotFound)
	err = f.ram.DeleteUser(ctx, root, "alice")
	wantReason(t, err, core.KindConflict, core.ReasonUserHasPolicies)
	for _, a := range list {
		if err := f.ram.DetachPolicyFromUser(ctx, root, a.Policy.Type, a.Policy.Name, "alice"); err != nil {
			t.Fatal(err)
		}
	}
	err = f.ram.DetachPolicyFromUser(ctx, root, core.PolicyCustom, "ReadEcs", "alice")
	wantReason(t, err, core.KindNotFound, core.ReasonPolicyNotAttached)
	if err := f.ram.DeleteUser(ctx, root, "alice"); err != nil {
		t.Fatal(err)
	}
	if err := f.ram.DeletePolicy(ctx, root, "ReadEcs"); err != nil {
		t.Fatal(err)
	}
	err = f.ram.DeleteUser(ctx, root, "alice")
	wantReason(t, err, core.KindNotFound, core.ReasonUserNotFound)
	err = f.ram.DeletePolicy(ctx, root, "AdministratorAccess")
	wantReason(t, err, core.KindNotFound, core.ReasonPolicyNotFound)

	// A RAM user without RAM permissions may not manage RAM.
	bob := f.user(t, "bobby")
	_, err = f.ram.CreateUser(ctx, bob, core.CreateRAMUserInput{Name: "mallory"})
	wantReason(t, err, core.KindForbidden, core.ReasonRAMDenied)
	// The account's root keys: empty UserName means the caller.
	rootKeys, err := f.ram.ListAccessKeys(ctx, root, "")
	if err != nil || len(rootKeys) != 1 || rootKeys[0].ID != root.AccessKeyID {
		t.Fatalf("root's keys = %d, %v", len(rootKeys), err)
	}
}
