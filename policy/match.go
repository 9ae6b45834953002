package policy

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// pattern is an Action, NotAction, Resource or NotResource value, or a
// StringLike value: text in which "*" matches any run of characters
// (including none) and "?" exactly one character. RAM has no escape for
// either, so a literal "*" or "?" cannot be matched on its own.
type pattern struct {
	text string
	// wild records whether text holds a "*" or "?", so that plain values
	// are compared without the wildcard engine.
	wild bool
}

func newPattern(text string) pattern {
	return pattern{text: text, wild: strings.ContainsAny(text, "*?")}
}

// match reports whether s matches the pattern; fold makes the comparison
// case-insensitive (Unicode simple folding), as RAM does for action names.
func (p pattern) match(s string, fold bool) bool {
	switch {
	case p.text == "*":
		return true
	case !p.wild && fold:
		return strings.EqualFold(p.text, s)
	case !p.wild:
		return p.text == s
	}
	return wildcardMatch(p.text, s, fold)
}

// wildcardMatch matches s against a pattern of "*" and "?" wildcards, both
// counted in characters (runes), not bytes. It runs in O(len(p)·len(s)) time
// without allocating: on a mismatch it lets the most recent "*" absorb one
// more character and retries from there, which is enough because an earlier
// "*" can never need to absorb more than the later one allows.
func wildcardMatch(p, s string, fold bool) bool {
	pi, si := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			pc, pw := utf8.DecodeRuneInString(p[pi:])
			switch pc {
			case '*':
				starP, starS = pi, si
				pi += pw
				continue
			case '?':
				_, sw := utf8.DecodeRuneInString(s[si:])
				pi += pw
				si += sw
				continue
			default:
				sc, sw := utf8.DecodeRuneInString(s[si:])
				if sameRune(pc, sc, fold) {
					pi += pw
					si += sw
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, sw := utf8.DecodeRuneInString(s[starS:])
		starS += sw
		si = starS
		pi = starP + 1
	}
	for pi < len(p) && p[pi] == '*' {
		pi++
	}
	return pi == len(p)
}

// sameRune compares two runes exactly or, with fold, under Unicode simple
// case folding (the relation strings.EqualFold uses).
func sameRune(a, b rune, fold bool) bool {
	if a == b {
		return true
	}
	if !fold {
		return false
	}
	if a < utf8.RuneSelf && b < utf8.RuneSelf {
		return 'A' <= a && a <= 'Z' && a+'a'-'A' == b || 'A' <= b && b <= 'Z' && b+'a'-'A' == a
	}
	for f := unicode.SimpleFold(a); f != a; f = unicode.SimpleFold(f) {
		if f == b {
			return true
		}
	}
	return false
}
