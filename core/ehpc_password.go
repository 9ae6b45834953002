package core

import (
	"fmt"
	"strings"
)

// ParseEHPCPasswordPolicy parses an --ehpc-password-policy value; the
// empty string selects the default, 2025.
func ParseEHPCPasswordPolicy(s string) (EHPCPasswordPolicy, error) {
	switch EHPCPasswordPolicy(s) {
	case "", EHPCPasswordPolicy2025:
		return EHPCPasswordPolicy2025, nil
	case EHPCPasswordPolicy2024:
		return EHPCPasswordPolicy2024, nil
	}
	return "", fmt.Errorf("unknown E-HPC password policy %q (want 2025 or 2024)", s)
}

// VisualAuth returns the RFB security the visual service offers under the
// policy: VNC Authentication for 2025's 6-character passwords, VeNCrypt
// Plain (whole password) plus VNC Authentication for 2024's longer ones.
func (p EHPCPasswordPolicy) VisualAuth() VisualAuth {
	if p == EHPCPasswordPolicy2024 {
		return VisualAuthPlain
	}
	return VisualAuthVNC
}

// ehpcSpecials2024 is seed 004's list of special characters. The seed
// prints it with stray spaces ("()~! @#$%^&*-_+=|{}[]:;'/<>,.? /"); the
// spaces are typesetting, not members.
const ehpcSpecials2024 = "()~!@#$%^&*-_+=|{}[]:;'/<>,.?"

// ValidateVisualPasswd applies the policy's rule to ModifyVisualServicePasswd's
// Passwd. A broken rule gives KindInvalid naming the Passwd field; the
// error never contains the password.
func (p EHPCPasswordPolicy) ValidateVisualPasswd(pw Secret) error {
	v := pw.Reveal()
	bad := Invalid(ReasonInvalidParameter, "Passwd")
	if p == EHPCPasswordPolicy2024 {
		if len(v) < 8 || len(v) > 30 {
			return bad
		}
		if classes(v, ehpcSpecials2024) < 3 {
			return bad
		}
		return nil
	}
	// 2025 (seed 002): 6 characters, letters and digits only, at least one
	// of each.
	if len(v) != 6 {
		return bad
	}
	var letter, digit bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= '0' && c <= '9':
			digit = true
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		default:
			return bad
		}
	}
	if !letter || !digit {
		return bad
	}
	return nil
}

// ValidateRunasUser applies the policy's rule to RunasUser: root only
// under 2025 (seed 002: "当前仅支持 root 用户"), any name under 2024.
func (p EHPCPasswordPolicy) ValidateRunasUser(name string) error {
	if name == "" || p != EHPCPasswordPolicy2024 && name != RootUser {
		return Invalid(ReasonInvalidParameter, "RunasUser")
	}
	return nil
}

// clusterUserSpecials are the specials an ECS instance password (and so a
// cluster user's password) may contain.
const clusterUserSpecials = "()`~!@#$%^&*-_+=|{}[]:;'<>,.?/"

// ValidateClusterUserPassword applies the rule of the operating-system
// passwords E-HPC sets on its ECS nodes (CreateCluster's Password,
// AddUsers' and ModifyUserPasswords' User.N.Password), which is ECS's
// instance password rule: 8–30 characters with at least three of upper
// case, lower case, digits and specials. field names the parameter.
func ValidateClusterUserPassword(pw Secret, field string) error {
	v := pw.Reveal()
	if len(v) < 8 || len(v) > 30 || classes(v, clusterUserSpecials) < 3 {
		return Invalid(ReasonInvalidParameter, field)
	}
	return nil
}

// classes counts the character classes of v (upper, lower, digit,
// special); a character in none of them makes the count 0.
func classes(v, specials string) int {
	var upper, lower, digit, special bool
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'A' && c <= 'Z':
			upper = true
		case c >= 'a' && c <= 'z':
			lower = true
		case c >= '0' && c <= '9':
			digit = true
		case strings.IndexByte(specials, c) >= 0:
			special = true
		default:
			return 0
		}
	}
	n := 0
	for _, b := range []bool{upper, lower, digit, special} {
		if b {
			n++
		}
	}
	return n
}
