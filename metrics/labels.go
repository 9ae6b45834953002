package metrics

import "sync"

// maxLabelValues bounds the distinct values one label may take (per
// product for actions and codes); later new values are counted as
// "other".
const maxLabelValues = 256

// maxLabelLen bounds one label value.
const maxLabelLen = 64

// labelGuard admits label values: well-formed ones, and for each label at
// most limit distinct values.
type labelGuard struct {
	limit int

	mu   sync.Mutex
	seen map[string]map[string]struct{}
}

func newLabelGuard(limit int) *labelGuard {
	return &labelGuard{limit: limit, seen: make(map[string]map[string]struct{})}
}

// value returns v as the label may hold it: "unknown" for an empty or
// malformed value (anything but letters, digits and . _ - : /, or too
// long), "other" for a new value beyond the limit, v otherwise.
func (g *labelGuard) value(label, v string) string {
	if v == "" || len(v) > maxLabelLen || !wellFormed(v) {
		return "unknown"
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	set := g.seen[label]
	if set == nil {
		set = make(map[string]struct{})
		g.seen[label] = set
	}
	if _, ok := set[v]; ok {
		return v
	}
	if len(set) >= g.limit {
		return "other"
	}
	set[v] = struct{}{}
	return v
}

func wellFormed(v string) bool {
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '.' || c == '_' || c == '-' || c == ':' || c == '/':
		default:
			return false
		}
	}
	return true
}
