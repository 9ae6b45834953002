package core

import "testing"

func TestValidateVNCPassword(t *testing.T) {
	cases := []struct {
		name   string
		pw     string
		reason Reason
	}{
		{"six alnum", "Ecs123", ReasonNone},
		{"digits only", "123456", ReasonNone},
		{"letters only", "abcDEF", ReasonNone},
		{"empty", "", ReasonPasswordLength},
		{"five", "Ecs12", ReasonPasswordLength},
		{"seven", "Ecs1234", ReasonPasswordLength},
		{"symbol", "Ecs12!", ReasonPasswordCharset},
		{"space", "Ecs 12", ReasonPasswordCharset},
		{"underscore", "Ecs_12", ReasonPasswordCharset},
		{"non-ASCII six characters", "Ecs12é", ReasonPasswordCharset},
		{"non-ASCII five characters", "Ecé12", ReasonPasswordLength},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ValidateVNCPassword(NewSecret(c.pw))
			if c.reason == ReasonNone {
				if err != nil {
					t.Fatalf("rejected a valid password: %v", err)
				}
				return
			}
			e := AsError(err)
			if err == nil || e.Kind != KindInvalid || e.Reason != c.reason || e.Field != "VncPassword" {
				t.Fatalf("got %v, want invalid %s on VncPassword", err, c.reason)
			}
		})
	}
}
