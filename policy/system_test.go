package policy

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestSystemPoliciesParse(t *testing.T) {
	want := []string{
		"AdministratorAccess",
		"AliyunECSFullAccess",
		"AliyunECSReadOnlyAccess",
		"AliyunEHPCFullAccess",
		"AliyunEHPCReadOnlyAccess",
		"BCCFullAccess",
		"BCCReadOnlyAccess",
	}
	var got []string
	for _, def := range systemDefinitions() {
		got = append(got, def.name)
		if _, err := Parse([]byte(def.text)); err != nil {
			t.Errorf("%s: %v", def.name, err)
		}
		if !json.Valid([]byte(def.text)) {
			t.Errorf("%s: text is not JSON", def.name)
		}
		if def.description == "" {
			t.Errorf("%s: no description", def.name)
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("system policies = %v, want %v", got, want)
	}

	list := SystemPolicies()
	for i, p := range list {
		if p.Name != want[i] || p.Document == nil || p.Description == "" {
			t.Errorf("SystemPolicies()[%d] = %+v", i, p)
		}
		if doc, ok := System(p.Name); !ok || doc != p.Document {
			t.Errorf("System(%q) = %v, %v; want the listed document", p.Name, doc, ok)
		}
	}
	list[0].Name = "Changed"
	if SystemPolicies()[0].Name != "AdministratorAccess" {
		t.Error("SystemPolicies shares its slice with callers")
	}
	for _, name := range []string{"", "administratoraccess", "AliyunRAMFullAccess"} {
		if _, ok := System(name); ok {
			t.Errorf("System(%q) found a policy", name)
		}
	}
}

func TestSystemPoliciesBehave(t *testing.T) {
	const (
		instance = "acs:ecs:cn-hangzhou:1234567890123456:instance/i-bp1"
		ehpcRes  = "acs:ehpc:cn-hangzhou:1234567890123456:*"
	)
	tests := []struct {
		policy, action, resource string
		want                     Decision
	}{
		{"AdministratorAccess", "ecs:ModifyInstanceVncPasswd", instance, Allow},
		{"AdministratorAccess", "ram:CreateUser", "acs:ram:*:1234567890123456:user/*", Allow},
		{"AdministratorAccess", "bcc:ChangePass", "*", Allow},

		{"AliyunECSFullAccess", "ecs:ModifyInstanceVncPasswd", instance, Allow},
		{"AliyunECSFullAccess", "ecs:RunInstances", "*", Allow},
		{"AliyunECSFullAccess", "ehpc:ListClusters", ehpcRes, ImplicitDeny},
		{"AliyunECSFullAccess", "ram:CreateUser", "*", ImplicitDeny},

		{"AliyunECSReadOnlyAccess", "ecs:DescribeInstances", instance, Allow},
		{"AliyunECSReadOnlyAccess", "ecs:DescribeInstanceVncUrl", instance, Allow},
		{"AliyunECSReadOnlyAccess", "ecs:ListTagResources", "*", Allow},
		{"AliyunECSReadOnlyAccess", "ecs:ModifyInstanceVncPasswd", instance, ImplicitDeny},
		{"AliyunECSReadOnlyAccess", "ecs:StopInstance", instance, ImplicitDeny},

		{"AliyunEHPCFullAccess", "ehpc:ModifyVisualServicePasswd", ehpcRes, Allow},
		{"AliyunEHPCFullAccess", "ehpc:CreateCluster", "*", Allow},
		{"AliyunEHPCFullAccess", "ecs:DescribeInstances", instance, ImplicitDeny},

		{"AliyunEHPCReadOnlyAccess", "ehpc:ListClusters", ehpcRes, Allow},
		{"AliyunEHPCReadOnlyAccess", "ehpc:DescribeCluster", "*", Allow},
		{"AliyunEHPCReadOnlyAccess", "ehpc:ListUsers", ehpcRes, Allow},
		{"AliyunEHPCReadOnlyAccess", "ehpc:GetVisualServiceStatus", ehpcRes, ImplicitDeny},
		{"AliyunEHPCReadOnlyAccess", "ehpc:ModifyVisualServicePasswd", ehpcRes, ImplicitDeny},
		{"AliyunEHPCReadOnlyAccess", "ehpc:StartVisualService", ehpcRes, ImplicitDeny},

		{"BCCFullAccess", "bcc:ChangePass", "*", Allow},
		{"BCCFullAccess", "bcc:CreateInstance", "*", Allow},
		{"BCCFullAccess", "ecs:DescribeInstances", "*", ImplicitDeny},

		{"BCCReadOnlyAccess", "bcc:GetInstance", "*", Allow},
		{"BCCReadOnlyAccess", "bcc:ListInstances", "*", Allow},
		{"BCCReadOnlyAccess", "bcc:ChangePass", "*", ImplicitDeny},
		{"BCCReadOnlyAccess", "bcc:StopInstance", "*", ImplicitDeny},
	}
	for _, tc := range tests {
		doc, ok := System(tc.policy)
		if !ok {
			t.Fatalf("System(%q) not found", tc.policy)
		}
		req := Request{Action: tc.action, Resource: tc.resource, SecureTransport: true}
		if got := Evaluate([]*Document{doc}, req); got != tc.want {
			t.Errorf("%s: %s on %s = %v, want %v", tc.policy, tc.action, tc.resource, got, tc.want)
		}
	}

	// A custom Deny still overrides a system policy.
	admin, _ := System("AdministratorAccess")
	deny := mustParse(t, `{"Version":"1","Statement":[{"Effect":"Deny","Action":"ecs:ModifyInstanceVncPasswd","Resource":"*"}]}`)
	if got := Evaluate([]*Document{admin, deny}, Request{Action: "ecs:ModifyInstanceVncPasswd", Resource: instance}); got != ExplicitDeny {
		t.Errorf("AdministratorAccess with a Deny = %v, want ExplicitDeny", got)
	}
}
