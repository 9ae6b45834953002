package core

import (
	"strings"
	"testing"
)

func TestBCCPasswordPolicies(t *testing.T) {
	for _, tc := range []struct {
		pw       string
		rule2020 BCCPasswordRule
		rule2025 BCCPasswordRule
	}{
		{"Passw0rd!", BCCRuleNone, BCCRuleNone},
		{"abcdef1(", BCCRuleNone, BCCRuleNone},                // 2025: lower, digit, symbol
		{"Pa0!", BCCRuleLength, BCCRuleLength},                // too short
		{"Pa0!Pa0", BCCRuleLength, BCCRuleLength},             // 7
		{"Pa0!Pa0!", BCCRuleNone, BCCRuleNone},                // 8
		{strings.Repeat("Pa0!", 8), BCCRuleNone, BCCRuleNone}, // 32
		{strings.Repeat("Pa0!", 8) + "x", BCCRuleLength, BCCRuleLength},
		{"", BCCRuleLength, BCCRuleLength},
		{"Passw0rd&", BCCRuleCharacters, BCCRuleNone}, // & is a 2025 symbol only
		{"Passw0rd-", BCCRuleCharacters, BCCRuleNone},
		{"Passw0rd`", BCCRuleCharacters, BCCRuleNone},
		{"Passw0rd ", BCCRuleCharacters, BCCRuleCharacters}, // space in neither
		{"Passw0rd\"", BCCRuleCharacters, BCCRuleCharacters},
		{"Passw0rd\\", BCCRuleCharacters, BCCRuleCharacters},
		{"Pässw0rd!", BCCRuleCharacters, BCCRuleCharacters},
		{"密码密码密码密码1!", BCCRuleCharacters, BCCRuleCharacters},
		{"12345678!", BCCRuleLetter, BCCRuleClasses}, // digit, symbol only
		{"Password!", BCCRuleDigit, BCCRuleNone},     // upper, lower, symbol
		{"Passw0rd", BCCRuleSymbol, BCCRuleNone},     // upper, lower, digit
		{"password1", BCCRuleSymbol, BCCRuleClasses}, // lower, digit
		{"PASSWORD!", BCCRuleDigit, BCCRuleClasses},  // upper, symbol
		{"!@#$%^*()", BCCRuleLetter, BCCRuleClasses},
		{"PASSW0RD(", BCCRuleNone, BCCRuleNone},
	} {
		if got := BCCPasswordPolicy2020.Broken(NewSecret(tc.pw)); got != tc.rule2020 {
			t.Errorf("2020: password of %d chars broke %q, want %q", len(tc.pw), got, tc.rule2020)
		}
		if got := BCCPasswordPolicy2025.Broken(NewSecret(tc.pw)); got != tc.rule2025 {
			t.Errorf("2025: password of %d chars broke %q, want %q", len(tc.pw), got, tc.rule2025)
		}
	}
}

func TestBCCPasswordCheckError(t *testing.T) {
	pw := "Secret-value 9"
	for _, p := range []BCCPasswordPolicy{BCCPasswordPolicy2020, BCCPasswordPolicy2025} {
		err := p.Check(NewSecret(pw))
		e := AsError(err)
		if err == nil || e.Kind != KindInvalid || e.Reason != ReasonPasswordPolicy || e.Field != "adminPass" || e.Message == "" {
			t.Fatalf("%s: Check = %#v", p, err)
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("%s: the error text contains the password", p)
		}
		if err := p.Check(NewSecret("Passw0rd!")); err != nil {
			t.Errorf("%s: a conforming password was refused: %v", p, err)
		}
	}
	for _, r := range []BCCPasswordRule{BCCRuleLength, BCCRuleCharacters, BCCRuleLetter, BCCRuleDigit, BCCRuleSymbol, BCCRuleClasses} {
		if BCCPasswordPolicy2020.Describe(r) == "" {
			t.Errorf("rule %q has no description", r)
		}
	}
}

func TestParseBCCPasswordPolicy(t *testing.T) {
	for in, want := range map[string]BCCPasswordPolicy{"": BCCPasswordPolicy2020, "2020": BCCPasswordPolicy2020, "2025": BCCPasswordPolicy2025} {
		if got, err := ParseBCCPasswordPolicy(in); err != nil || got != want {
			t.Errorf("ParseBCCPasswordPolicy(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseBCCPasswordPolicy("2024"); err == nil {
		t.Error("2024 accepted")
	}
}
