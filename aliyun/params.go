package aliyun

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// Parameter readers. They check syntax only, the way the gateway does
// before a product sees a request: an integer that is not one, a boolean
// that is neither true nor false, a list that is not a JSON array. Presence
// and value rules belong to the services, which check them after RAM.
// Errors are core errors (ReasonInvalidParameter naming the field), so
// each product renders them in its own codes.

// Get returns the parameter, or "" when absent.
func (r *Request) Get(name string) string { return r.Params[name] }

// Int parses an optional decimal integer; 0 when absent.
func (r *Request) Int(name string) (int, error) {
	v, ok := r.Params[name]
	if !ok || v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, core.Invalid(core.ReasonInvalidParameter, name)
	}
	return n, nil
}

// Bool parses an optional boolean ("true" or "false", any case, as
// SDKv1's requests.Boolean sends); false when absent.
func (r *Request) Bool(name string) (bool, error) {
	b, err := r.OptBool(name)
	if b == nil || err != nil {
		return false, err
	}
	return *b, nil
}

// OptBool parses an optional boolean; nil when absent.
func (r *Request) OptBool(name string) (*bool, error) {
	v, ok := r.Params[name]
	if !ok || v == "" {
		return nil, nil
	}
	var b bool
	switch {
	case strings.EqualFold(v, "true"):
		b = true
	case strings.EqualFold(v, "false"):
	default:
		return nil, core.Invalid(core.ReasonInvalidParameter, name)
	}
	return &b, nil
}

// JSONList parses a list sent as a JSON array string, such as
// DescribeInstances' InstanceIds=["i-1","i-2"]; nil when absent.
func (r *Request) JSONList(name string) ([]string, error) {
	v, ok := r.Params[name]
	if !ok || v == "" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		return nil, core.Invalid(core.ReasonInvalidParameter, name)
	}
	return list, nil
}

// Repeated returns the values of name.1, name.2, … (SDKv1 flattens
// repeated fields 1-based) in index order; gaps are skipped.
func (r *Request) Repeated(name string) []string {
	type item struct {
		n int
		v string
	}
	var items []item
	prefix := name + "."
	for k, v := range r.Params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(rest); err == nil && n > 0 {
			items = append(items, item{n, v})
		}
	}
	sort.Slice(items, func(i, j int) bool { return items[i].n < items[j].n })
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.v
	}
	return out
}

// Pairs returns name.N.Key / name.N.Value pairs (Tag.1.Key, Tag.1.Value,
// …) in index order; a pair with an empty key is skipped.
func (r *Request) Pairs(name string) [][2]string {
	type pair struct {
		n    int
		k, v string
	}
	byN := make(map[int]*pair)
	prefix := name + "."
	for k, v := range r.Params {
		rest, ok := strings.CutPrefix(k, prefix)
		if !ok {
			continue
		}
		idx, field, ok := strings.Cut(rest, ".")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n <= 0 {
			continue
		}
		p := byN[n]
		if p == nil {
			p = &pair{n: n}
			byN[n] = p
		}
		switch field {
		case "Key":
			p.k = v
		case "Value":
			p.v = v
		}
	}
	ps := make([]*pair, 0, len(byN))
	for _, p := range byN {
		if p.k != "" {
			ps = append(ps, p)
		}
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i].n < ps[j].n })
	out := make([][2]string, len(ps))
	for i, p := range ps {
		out[i] = [2]string{p.k, p.v}
	}
	return out
}
