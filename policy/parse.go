package policy

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// Version is the only policy language version RAM accepts
// (help/en/ram/policy-structure-and-syntax: <version_block> = "Version" : ("1")).
const Version = "1"

// Document is a parsed, validated RAM policy document. It is immutable, so
// one Document may be shared by any number of goroutines and evaluations.
type Document struct {
	text       string
	statements []statement
}

// Text returns the document exactly as it was given to [Parse], which is
// what RAM returns as PolicyDocument from GetPolicy and GetPolicyVersion.
func (d *Document) Text() string { return d.text }

// effect is a statement's Effect.
type effect uint8

const (
	allow effect = iota + 1
	deny
)

// statement is one validated entry of the Statement array.
type statement struct {
	effect effect
	// notAction inverts actions: the statement applies to every action the
	// list does not match (NotAction).
	notAction bool
	actions   []pattern
	// notResource inverts resources in the same way (NotResource).
	notResource bool
	resources   []pattern
	conditions  []condition
}

// Parse validates a policy document and returns it parsed. The grammar is
// RAM's (help/en/ram/policy-structure-and-syntax):
//
//	policy      = { "Version": "1", "Statement": [ statement, ... ] }
//	statement   = { "Effect": ("Allow" | "Deny"),
//	                ("Action" | "NotAction"): (string | [ string, ... ]),
//	                ("Resource" | "NotResource"): (string | [ string, ... ]),
//	                "Condition"?: { operator: { key: (string | [ string, ... ]) } } }
//
// Members may come in any order. Names and predefined values are
// case-sensitive. Besides the grammar, Parse refuses what RAM's grammar
// leaves no room for: unknown or repeated elements, empty lists, an action
// without a "service:" prefix (it could never match), condition values that
// are JSON numbers or Booleans (RAM requires them to be quoted strings), and
// values an operator cannot interpret (a Date that is not ISO 8601, an
// IpAddress that is not an address or CIDR block). Every refusal is a
// [*ValidationError].
//
// RAM's grammar writes Statement as an array, so a single statement object
// in its place is refused rather than accepted as AWS IAM would.
func Parse(doc []byte) (*Document, error) {
	if !json.Valid(doc) {
		return nil, invalid("", "The policy document is not valid JSON.")
	}
	members, ok := readObject(doc)
	if !ok {
		return nil, invalid("", "The policy document must be a JSON object.")
	}
	var version, statements json.RawMessage
	for _, m := range members {
		switch m.name {
		case "Version":
			version = m.value
		case "Statement":
			statements = m.value
		default:
			return nil, invalid(m.name, "The element "+strconv.Quote(m.name)+" is not supported in a policy document; only Version and Statement are.")
		}
	}
	if err := duplicate(members, ""); err != nil {
		return nil, err
	}
	if version == nil {
		return nil, invalid("Version", `Add a Version element to the policy document; its value must be "1".`)
	}
	if v, ok := jsonString(version); !ok || v != Version {
		return nil, invalid("Version", `The Version element must be the string "1".`)
	}
	if statements == nil {
		return nil, invalid("Statement", "Add a Statement element to the policy document.")
	}
	items, ok := readArray(statements)
	if !ok {
		return nil, invalid("Statement", "The Statement element must be an array of statements.")
	}
	if len(items) == 0 {
		return nil, invalid("Statement", "The Statement element must contain at least one statement.")
	}
	d := &Document{text: string(doc), statements: make([]statement, 0, len(items))}
	for i, item := range items {
		st, err := parseStatement(item, "Statement["+strconv.Itoa(i)+"]")
		if err != nil {
			return nil, err
		}
		d.statements = append(d.statements, st)
	}
	return d, nil
}

func parseStatement(raw json.RawMessage, path string) (statement, error) {
	var st statement
	members, ok := readObject(raw)
	if !ok {
		return st, invalid(path, "A policy statement must be a JSON object.")
	}
	if err := duplicate(members, path); err != nil {
		return st, err
	}
	var effectRaw, actionRaw, resourceRaw, conditionRaw json.RawMessage
	var actionName, resourceName string
	for _, m := range members {
		switch m.name {
		case "Effect":
			effectRaw = m.value
		case "Action", "NotAction":
			if actionRaw != nil {
				return st, invalid(path, "A policy statement can contain either an Action or a NotAction element, not both.")
			}
			actionRaw, actionName = m.value, m.name
		case "Resource", "NotResource":
			if resourceRaw != nil {
				return st, invalid(path, "A policy statement can contain either a Resource or a NotResource element, not both.")
			}
			resourceRaw, resourceName = m.value, m.name
		case "Condition":
			conditionRaw = m.value
		default:
			return st, invalid(path+"."+m.name, "The element "+strconv.Quote(m.name)+" is not supported in a policy statement; use Effect, Action or NotAction, Resource or NotResource, and Condition.")
		}
	}

	if effectRaw == nil {
		return st, invalid(path, "Add an Effect element to the policy statement.")
	}
	switch e, _ := jsonString(effectRaw); e {
	case "Allow":
		st.effect = allow
	case "Deny":
		st.effect = deny
	default:
		return st, invalid(path+".Effect", `The Effect element must be "Allow" or "Deny".`)
	}

	if actionRaw == nil {
		return st, invalid(path, "Add an Action or NotAction element to the policy statement.")
	}
	st.notAction = actionName == "NotAction"
	actions, err := stringList(actionRaw, path+"."+actionName)
	if err != nil {
		return st, err
	}
	for i, a := range actions {
		if a != "*" && !strings.Contains(a, ":") {
			return st, invalid(elementPath(path+"."+actionName, i, len(actions)),
				`An action must be "*" or have the form <service>:<action>, such as "ecs:DescribeInstances".`)
		}
		st.actions = append(st.actions, newPattern(a))
	}

	if resourceRaw == nil {
		return st, invalid(path, "Add a Resource or NotResource element to the policy statement.")
	}
	st.notResource = resourceName == "NotResource"
	resources, err := stringList(resourceRaw, path+"."+resourceName)
	if err != nil {
		return st, err
	}
	for _, r := range resources {
		st.resources = append(st.resources, newPattern(r))
	}

	if conditionRaw != nil {
		st.conditions, err = parseConditionBlock(conditionRaw, path+".Condition")
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// stringList reads an element that RAM accepts as one string or as an array
// of strings ("Action": "ecs:*" and "Action": ["ecs:*"] are equivalent).
// Empty strings and empty arrays are refused: they can never match.
func stringList(raw json.RawMessage, path string) ([]string, error) {
	if s, ok := jsonString(raw); ok {
		if s == "" {
			return nil, invalid(path, "The value must not be empty.")
		}
		return []string{s}, nil
	}
	items, ok := readArray(raw)
	if !ok {
		return nil, invalid(path, "The value must be a string or an array of strings.")
	}
	if len(items) == 0 {
		return nil, invalid(path, "The value must not be an empty array.")
	}
	out := make([]string, 0, len(items))
	for i, item := range items {
		s, ok := jsonString(item)
		if !ok {
			return nil, invalid(path+"["+strconv.Itoa(i)+"]", "The value must be a string.")
		}
		if s == "" {
			return nil, invalid(path+"["+strconv.Itoa(i)+"]", "The value must not be empty.")
		}
		out = append(out, s)
	}
	return out, nil
}

// elementPath names item i of a list element; a list given as a single
// string is named without an index.
func elementPath(path string, i, n int) string {
	if n == 1 {
		return path
	}
	return path + "[" + strconv.Itoa(i) + "]"
}

// member is one name/value pair of a JSON object, in document order.
type member struct {
	name  string
	value json.RawMessage
}

// readObject splits a JSON object into its members, keeping their order and
// any repeated names (encoding/json would silently keep the last one). It
// reports false when raw is not an object. raw must be valid JSON.
func readObject(raw json.RawMessage) ([]member, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, false
	}
	var members []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false
		}
		name, ok := tok.(string)
		if !ok {
			return nil, false
		}
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, false
		}
		members = append(members, member{name: name, value: value})
	}
	return members, true
}

// duplicate refuses an object in which a name occurs twice; which of the
// two values RAM would use is not documented, so neither is guessed.
func duplicate(members []member, path string) error {
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if seen[m.name] {
			where := m.name
			if path != "" {
				where = path + "." + m.name
			}
			return invalid(where, "The element "+strconv.Quote(m.name)+" occurs more than once.")
		}
		seen[m.name] = true
	}
	return nil
}

// readArray splits a JSON array into its items; it reports false when raw is
// not an array.
func readArray(raw json.RawMessage) ([]json.RawMessage, bool) {
	if firstByte(raw) != '[' {
		return nil, false
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, false
	}
	return items, true
}

// jsonString decodes raw when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	if firstByte(raw) != '"' {
		return "", false
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// firstByte returns the first non-space byte of raw, which tells a JSON
// value's kind.
func firstByte(raw json.RawMessage) byte {
	for _, c := range raw {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c
	}
	return 0
}
