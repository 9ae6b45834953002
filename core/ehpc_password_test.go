package core

import "testing"

func TestEHPCVisualPasswordPolicies(t *testing.T) {
	cases := []struct {
		policy EHPCPasswordPolicy
		pw     string
		ok     bool
	}{
		// 2025, seed 002: 6 characters, letters and digits, one of each.
		{EHPCPasswordPolicy2025, "Abc123", true},
		{EHPCPasswordPolicy2025, "a1b2c3", true},
		{EHPCPasswordPolicy2025, "Abc12", false},
		{EHPCPasswordPolicy2025, "Abc1234", false},
		{EHPCPasswordPolicy2025, "abcdef", false},
		{EHPCPasswordPolicy2025, "123456", false},
		{EHPCPasswordPolicy2025, "Abc12!", false},
		{EHPCPasswordPolicy2025, "Abc12é", false},
		// 2024, seed 004: 8–30 characters, three of four classes.
		{EHPCPasswordPolicy2024, "Abcdefg1", true},
		{EHPCPasswordPolicy2024, "abcdef1!", true},
		{EHPCPasswordPolicy2024, "ABCDEF1/", true},
		{EHPCPasswordPolicy2024, "Abcdef1", false},
		{EHPCPasswordPolicy2024, "abcdefg1", false},
		{EHPCPasswordPolicy2024, "Abcdefg1 ", false},                       // space is no special
		{EHPCPasswordPolicy2024, "Abcdefg1`", false},                       // backquote is not in seed 004's list
		{EHPCPasswordPolicy2024, "Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1", false}, // 31
		{EHPCPasswordPolicy2024, "Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa1!Aa", true},   // 30
	}
	for i, c := range cases {
		err := c.policy.ValidateVisualPasswd(NewSecret(c.pw))
		if (err == nil) != c.ok {
			t.Errorf("case %d (policy %s, %d characters): err = %v, want ok=%v", i, c.policy, len(c.pw), err, c.ok)
		}
		if err != nil && AsError(err).Field != "Passwd" {
			t.Errorf("error names %q, want Passwd", AsError(err).Field)
		}
	}
	if EHPCPasswordPolicy2025.ValidateRunasUser("alice01") == nil || EHPCPasswordPolicy2025.ValidateRunasUser("root") != nil {
		t.Error("2025: RunasUser must be root")
	}
	if EHPCPasswordPolicy2024.ValidateRunasUser("alice01") != nil || EHPCPasswordPolicy2024.ValidateRunasUser("") == nil {
		t.Error("2024: any non-empty RunasUser")
	}
	if EHPCPasswordPolicy2024.VisualAuth() != VisualAuthPlain || EHPCPasswordPolicy2025.VisualAuth() != VisualAuthVNC {
		t.Error("VisualAuth")
	}
	for in, want := range map[string]EHPCPasswordPolicy{"": EHPCPasswordPolicy2025, "2025": EHPCPasswordPolicy2025, "2024": EHPCPasswordPolicy2024} {
		if got, err := ParseEHPCPasswordPolicy(in); err != nil || got != want {
			t.Errorf("ParseEHPCPasswordPolicy(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseEHPCPasswordPolicy("2023"); err == nil {
		t.Error("2023 accepted")
	}
}

func TestClusterUserPassword(t *testing.T) {
	for pw, ok := range map[string]bool{"Root#Pass1": true, "rootpass1": false, "Rootpass1": true, "Ro#1": false, "Root Pass1": false} {
		if err := ValidateClusterUserPassword(NewSecret(pw), "Password"); (err == nil) != ok {
			t.Errorf("%d characters: %v, want ok=%v", len(pw), err, ok)
		}
	}
}
