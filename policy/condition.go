package policy

import (
	"encoding/json"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// category is the kind of value an operator compares
// (help/en/ram/conditional-operator: string, number, date and time, Boolean,
// IP address).
type category uint8

const (
	catString category = iota + 1
	catNumeric
	catDate
	catBool
	catIP
)

// comparison is what an operator checks between a request value and a
// policy value, before negation.
type comparison uint8

const (
	cmpEquals comparison = iota + 1
	cmpEqualsIgnoreCase
	cmpLike
	cmpLess
	cmpLessEquals
	cmpGreater
	cmpGreaterEquals
	cmpInRange // IpAddress: the address lies in the CIDR block
)

// qualifier is a set operator prefixed to an operator name
// ("ForAnyValue:StringEquals"), for keys that carry several values.
type qualifier uint8

const (
	qualNone qualifier = iota
	qualAnyValue
	qualAllValues
)

// operator describes one condition operator name.
type operator struct {
	cat category
	cmp comparison
	// negated marks the Not operators. A negated operator holds exactly
	// when its positive form does not.
	negated bool
}

// lookupOperator maps the case-sensitive operator names RAM documents onto
// their meaning.
func lookupOperator(name string) (operator, bool) {
	switch name {
	case "StringEquals":
		return operator{catString, cmpEquals, false}, true
	case "StringNotEquals":
		return operator{catString, cmpEquals, true}, true
	case "StringEqualsIgnoreCase":
		return operator{catString, cmpEqualsIgnoreCase, false}, true
	case "StringNotEqualsIgnoreCase":
		return operator{catString, cmpEqualsIgnoreCase, true}, true
	case "StringLike":
		return operator{catString, cmpLike, false}, true
	case "StringNotLike":
		return operator{catString, cmpLike, true}, true
	case "NumericEquals":
		return operator{catNumeric, cmpEquals, false}, true
	case "NumericNotEquals":
		return operator{catNumeric, cmpEquals, true}, true
	case "NumericLessThan":
		return operator{catNumeric, cmpLess, false}, true
	case "NumericLessThanEquals":
		return operator{catNumeric, cmpLessEquals, false}, true
	case "NumericGreaterThan":
		return operator{catNumeric, cmpGreater, false}, true
	case "NumericGreaterThanEquals":
		return operator{catNumeric, cmpGreaterEquals, false}, true
	case "DateEquals":
		return operator{catDate, cmpEquals, false}, true
	case "DateNotEquals":
		return operator{catDate, cmpEquals, true}, true
	case "DateLessThan":
		return operator{catDate, cmpLess, false}, true
	case "DateLessThanEquals":
		return operator{catDate, cmpLessEquals, false}, true
	case "DateGreaterThan":
		return operator{catDate, cmpGreater, false}, true
	case "DateGreaterThanEquals":
		return operator{catDate, cmpGreaterEquals, false}, true
	case "Bool":
		return operator{catBool, cmpEquals, false}, true
	case "IpAddress":
		return operator{catIP, cmpInRange, false}, true
	case "NotIpAddress":
		return operator{catIP, cmpInRange, true}, true
	}
	return operator{}, false
}

// condition is one key under one operator: "DateLessThan": {"acs:CurrentTime": [...]}.
type condition struct {
	op   operator
	qual qualifier
	// key is the condition key as written; keys are matched against the
	// request context case-insensitively, as IAM does, since RAM does not
	// say otherwise.
	key    string
	values []value
}

// value is a policy value or a request value, decoded for the operator's
// category. Only the fields of that category are set.
type value struct {
	text   string
	pat    pattern      // catString with cmpLike
	num    number       // catNumeric
	when   time.Time    // catDate, truncated to the second
	truth  bool         // catBool
	prefix netip.Prefix // catIP policy values
	addr   netip.Addr   // catIP request values
}

// number is a Numeric operand. Integers are compared exactly; anything with a
// fraction or an exponent is compared as float64.
type number struct {
	i     int64
	f     float64
	isInt bool
}

func parseNumber(s string) (number, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return number{i: i, f: float64(i), isInt: true}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return number{}, false
	}
	return number{f: f}, true
}

// compare returns -1, 0 or +1.
func (a number) compare(b number) int {
	if a.isInt && b.isInt {
		switch {
		case a.i < b.i:
			return -1
		case a.i > b.i:
			return 1
		}
		return 0
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

// layoutNoSeconds is ISO 8601 with an offset but without seconds.
const layoutNoSeconds = "2006-01-02T15:04Z07:00"

// parseDate reads an ISO 8601 date and time with an offset, with or without
// seconds and fractions of a second, or a count of seconds since the Unix
// epoch (which IAM also accepts). RAM's own example is
// "2019-08-12T17:00:00+08:00" (help/en/ram/access-alibaba-cloud-in-a-
// specified-period-of-time); a time without an offset is ambiguous and
// refused. The result is truncated to the second, the precision at which
// IAM compares times.
func parseDate(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.Truncate(time.Second), true
	}
	if t, err := time.Parse(layoutNoSeconds, s); err == nil {
		return t, true
	}
	if s != "" && strings.Trim(s, "0123456789") == "" {
		if secs, err := strconv.ParseInt(s, 10, 64); err == nil {
			return time.Unix(secs, 0), true
		}
	}
	return time.Time{}, false
}

// parseBool reads "true" or "false". Policy values must be lower case (RAM:
// predefined values are case-sensitive); request values supplied by callers
// are folded.
func parseBool(s string, fold bool) (bool, bool) {
	switch {
	case s == "true" || fold && strings.EqualFold(s, "true"):
		return true, true
	case s == "false" || fold && strings.EqualFold(s, "false"):
		return false, true
	}
	return false, false
}

// parsePrefix reads a CIDR block or a single address, IPv4 or IPv6. An
// IPv4-mapped IPv6 address is treated as the IPv4 address it maps.
func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), true
}

// parseConditionBlock reads a Condition element:
// { operator: { key: value-or-values, ... }, ... }.
func parseConditionBlock(raw json.RawMessage, path string) ([]condition, error) {
	ops, ok := readObject(raw)
	if !ok {
		return nil, invalid(path, "The Condition element must be a JSON object that maps operators to keys and values.")
	}
	if err := duplicate(ops, path); err != nil {
		return nil, err
	}
	var out []condition
	for _, o := range ops {
		opPath := path + "." + o.name
		name, qual := o.name, qualNone
		if rest, ok := strings.CutPrefix(name, "ForAnyValue:"); ok {
			name, qual = rest, qualAnyValue
		} else if rest, ok := strings.CutPrefix(name, "ForAllValues:"); ok {
			name, qual = rest, qualAllValues
		}
		op, ok := lookupOperator(name)
		if !ok {
			return nil, invalid(opPath, "The condition operator "+strconv.Quote(o.name)+" is not supported.")
		}
		keys, ok := readObject(o.value)
		if !ok {
			return nil, invalid(opPath, "A condition operator must map condition keys to values.")
		}
		if len(keys) == 0 {
			return nil, invalid(opPath, "A condition operator must name at least one condition key.")
		}
		if err := duplicate(keys, opPath); err != nil {
			return nil, err
		}
		for _, k := range keys {
			keyPath := opPath + "." + k.name
			if k.name == "" {
				return nil, invalid(keyPath, "A condition key must not be empty.")
			}
			texts, err := conditionValues(k.value, keyPath)
			if err != nil {
				return nil, err
			}
			c := condition{op: op, qual: qual, key: k.name, values: make([]value, 0, len(texts))}
			for i, t := range texts {
				v, ok := policyValue(op.cat, op.cmp, t)
				if !ok {
					return nil, invalid(elementPath(keyPath, i, len(texts)), valueReason(op.cat, name))
				}
				c.values = append(c.values, v)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// conditionValues reads the value of one condition key: a string or a
// non-empty array of strings. RAM requires numbers and Booleans in
// conditions to be written as strings (help/doc-detail/28664: "If an element
// value is a number or Boolean, it must be enclosed by using double
// quotation marks"), so bare JSON numbers and Booleans are refused.
func conditionValues(raw json.RawMessage, path string) ([]string, error) {
	const quoted = "Condition values must be strings; write numbers and Booleans in double quotation marks."
	if s, ok := jsonString(raw); ok {
		return []string{s}, nil
	}
	items, ok := readArray(raw)
	if !ok {
		if c := firstByte(raw); c == 't' || c == 'f' || c == '-' || '0' <= c && c <= '9' {
			return nil, invalid(path, quoted)
		}
		return nil, invalid(path, "A condition key must map to a string or an array of strings.")
	}
	if len(items) == 0 {
		return nil, invalid(path, "A condition key must map to at least one value.")
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := jsonString(item)
		if !ok {
			return nil, invalid(path+"["+strconv.Itoa(i)+"]", quoted)
		}
		out = append(out, s)
	}
	return out, nil
}

// policyValue decodes a value written in a policy for an operator.
func policyValue(cat category, cmp comparison, s string) (value, bool) {
	v := value{text: s}
	switch cat {
	case catString:
		if cmp == cmpLike {
			v.pat = newPattern(s)
		}
		return v, true
	case catNumeric:
		n, ok := parseNumber(s)
		v.num = n
		return v, ok
	case catDate:
		t, ok := parseDate(s)
		v.when = t
		return v, ok
	case catBool:
		b, ok := parseBool(s, false)
		v.truth = b
		return v, ok
	case catIP:
		p, ok := parsePrefix(s)
		v.prefix = p
		return v, ok
	}
	return v, false
}

func valueReason(cat category, op string) string {
	switch cat {
	case catNumeric:
		return op + " needs a decimal number, such as \"10\" or \"2.5\"."
	case catDate:
		return op + " needs an ISO 8601 date and time with an offset, such as \"2019-08-12T17:00:00+08:00\", or seconds since the Unix epoch."
	case catBool:
		return op + " needs \"true\" or \"false\"."
	case catIP:
		return op + " needs an IP address or a CIDR block, such as \"192.168.0.0/16\" or \"2001:db8::/32\"."
	}
	return op + " has an invalid value."
}

// holds evaluates the condition against the request context.
func (c *condition) holds(req *Request) bool {
	ctx := lookup(req, c.key)
	if ctx.len() == 0 {
		switch c.qual {
		case qualAnyValue:
			return false
		case qualAllValues:
			return true
		}
		return c.op.negated
	}
	switch c.qual {
	case qualAnyValue:
		for i := range ctx.len() {
			if c.matchesAny(ctx.at(i)) != c.op.negated {
				return true
			}
		}
		return false
	case qualAllValues:
		for i := range ctx.len() {
			if c.matchesAny(ctx.at(i)) == c.op.negated {
				return false
			}
		}
		return true
	}
	for i := range ctx.len() {
		if c.matchesAny(ctx.at(i)) {
			return !c.op.negated
		}
	}
	return c.op.negated
}

// matchesAny reports whether one request value satisfies the positive form
// of the operator for at least one of the policy's values (values of one key
// are ORed). A request value the operator cannot interpret, such as "abc"
// under NumericEquals, satisfies none.
func (c *condition) matchesAny(r ctxValue) bool {
	switch c.op.cat {
	case catString:
		s := r.string()
		for i := range c.values {
			p := &c.values[i]
			switch c.op.cmp {
			case cmpEquals:
				if s == p.text {
					return true
				}
			case cmpEqualsIgnoreCase:
				if strings.EqualFold(s, p.text) {
					return true
				}
			case cmpLike:
				if p.pat.match(s, false) {
					return true
				}
			}
		}
	case catNumeric:
		n, ok := parseNumber(r.text)
		if !ok {
			return false
		}
		for i := range c.values {
			if ordered(c.op.cmp, n.compare(c.values[i].num)) {
				return true
			}
		}
	case catDate:
		t, ok := r.when, r.hasWhen
		if !ok {
			t, ok = parseDate(r.text)
		}
		if !ok {
			return false
		}
		t = t.Truncate(time.Second)
		for i := range c.values {
			if ordered(c.op.cmp, t.Compare(c.values[i].when)) {
				return true
			}
		}
	case catBool:
		b, ok := parseBool(r.text, true)
		if !ok {
			return false
		}
		for i := range c.values {
			if b == c.values[i].truth {
				return true
			}
		}
	case catIP:
		a := r.addr
		if !a.IsValid() {
			var err error
			if a, err = netip.ParseAddr(r.text); err != nil {
				return false
			}
		}
		a = a.Unmap().WithZone("")
		for i := range c.values {
			if c.values[i].prefix.Contains(a) {
				return true
			}
		}
	}
	return false
}

// ordered interprets the result of a three-way comparison (request value
// against policy value) for an ordering operator.
func ordered(cmp comparison, r int) bool {
	switch cmp {
	case cmpEquals:
		return r == 0
	case cmpLess:
		return r < 0
	case cmpLessEquals:
		return r <= 0
	case cmpGreater:
		return r > 0
	case cmpGreaterEquals:
		return r >= 0
	}
	return false
}
