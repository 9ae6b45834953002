package core

import "unicode/utf8"

// ValidateVNCPassword applies ECS ModifyInstanceVncPasswd's rule (seeds
// 000, 001; PRODUCT.md §3): exactly 6 characters of [A-Za-z0-9]. A wrong
// length gives ReasonPasswordLength, any other character
// ReasonPasswordCharset; both name the VncPassword field.
func ValidateVNCPassword(pw Secret) error {
	v := pw.Reveal()
	if utf8.RuneCountInString(v) != 6 {
		return Invalid(ReasonPasswordLength, "VncPassword")
	}
	for i := 0; i < len(v); i++ {
		if !isAlnum(v[i]) {
			return Invalid(ReasonPasswordCharset, "VncPassword")
		}
	}
	return nil
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
