package core

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// BCCPasswordPolicy is the edition of BCC's administrator-password rules
// that changePass (and create's adminPass) enforce, chosen with
// --bcc-password-policy (PRODUCT.md §3 BCC).
type BCCPasswordPolicy string

const (
	// BCCPasswordPolicy2020 is seed 003's rule and the default: 8–32
	// characters with at least one letter, one digit and one symbol,
	// symbols only from !@#$%^*().
	BCCPasswordPolicy2020 BCCPasswordPolicy = "2020"
	// BCCPasswordPolicy2025 is the 2025 Chinese documentation's rule: 8–32
	// characters with at least three of upper case, lower case, digits
	// and symbols, symbols from ()`~!@#$%^&*-_+=|{}[]:;'<>,.?/.
	BCCPasswordPolicy2025 BCCPasswordPolicy = "2025"
)

// The symbol sets of the two editions.
const (
	bccSymbols2020 = "!@#$%^*()"
	bccSymbols2025 = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/"
)

// ParseBCCPasswordPolicy parses a --bcc-password-policy value; the empty
// string selects the default, 2020.
func ParseBCCPasswordPolicy(s string) (BCCPasswordPolicy, error) {
	switch BCCPasswordPolicy(s) {
	case "", BCCPasswordPolicy2020:
		return BCCPasswordPolicy2020, nil
	case BCCPasswordPolicy2025:
		return BCCPasswordPolicy2025, nil
	}
	return "", fmt.Errorf("unknown BCC password policy %q (want 2020 or 2025)", s)
}

// BCCPasswordRule names the rule of a policy that a password breaks.
type BCCPasswordRule string

const (
	BCCRuleNone       BCCPasswordRule = ""
	BCCRuleLength     BCCPasswordRule = "length"     // 8–32 characters
	BCCRuleCharacters BCCPasswordRule = "characters" // a character outside the allowed set
	BCCRuleLetter     BCCPasswordRule = "letter"     // 2020: no letter
	BCCRuleDigit      BCCPasswordRule = "digit"      // 2020: no digit
	BCCRuleSymbol     BCCPasswordRule = "symbol"     // 2020: no symbol
	BCCRuleClasses    BCCPasswordRule = "classes"    // 2025: fewer than three classes
)

// Broken returns the first rule of the policy that pw breaks, checking
// length, then the character set, then the required classes; BCCRuleNone
// when pw conforms. It looks at pw and reports only the rule.
func (p BCCPasswordPolicy) Broken(pw Secret) BCCPasswordRule {
	s := pw.Reveal()
	if n := utf8.RuneCountInString(s); n < 8 || n > 32 {
		return BCCRuleLength
	}
	symbols := bccSymbols2020
	if p == BCCPasswordPolicy2025 {
		symbols = bccSymbols2025
	}
	var upper, lower, digit, symbol bool
	for _, r := range s {
		switch {
		case 'A' <= r && r <= 'Z':
			upper = true
		case 'a' <= r && r <= 'z':
			lower = true
		case '0' <= r && r <= '9':
			digit = true
		case r < 0x80 && strings.ContainsRune(symbols, r):
			symbol = true
		default:
			return BCCRuleCharacters
		}
	}
	if p == BCCPasswordPolicy2025 {
		classes := 0
		for _, has := range []bool{upper, lower, digit, symbol} {
			if has {
				classes++
			}
		}
		if classes < 3 {
			return BCCRuleClasses
		}
		return BCCRuleNone
	}
	switch {
	case !upper && !lower:
		return BCCRuleLetter
	case !digit:
		return BCCRuleDigit
	case !symbol:
		return BCCRuleSymbol
	}
	return BCCRuleNone
}

// Describe returns the caller-safe sentence that states rule under the
// policy.
func (p BCCPasswordPolicy) Describe(rule BCCPasswordRule) string {
	symbols := bccSymbols2020
	if p == BCCPasswordPolicy2025 {
		symbols = bccSymbols2025
	}
	switch rule {
	case BCCRuleLength:
		return "The password must be 8 to 32 characters long."
	case BCCRuleCharacters:
		return "The password may contain only letters, digits and the symbols " + symbols + "."
	case BCCRuleLetter:
		return "The password must contain at least one letter."
	case BCCRuleDigit:
		return "The password must contain at least one digit."
	case BCCRuleSymbol:
		return "The password must contain at least one of the symbols " + symbols + "."
	case BCCRuleClasses:
		return "The password must contain at least three of: upper-case letters, lower-case letters, digits, symbols " + symbols + "."
	}
	return ""
}

// Check returns nil when pw conforms to the policy, and otherwise an
// *Error of KindInvalid with ReasonPasswordPolicy, Field "adminPass" and a
// Message that states the broken rule (never the password).
func (p BCCPasswordPolicy) Check(pw Secret) error {
	rule := p.Broken(pw)
	if rule == BCCRuleNone {
		return nil
	}
	return &Error{Kind: KindInvalid, Reason: ReasonPasswordPolicy, Field: "adminPass", Message: p.Describe(rule)}
}
