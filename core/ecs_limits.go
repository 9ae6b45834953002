package core

import (
	"strings"
	"unicode/utf8"
)

// The length rules of the ECS creation parameters, from the ECS API
// reference for RunInstances and CreateInstance (aliyun-openapi-meta
// en-US/ecs/RunInstances.json and CreateInstance.json; the tag rules
// from the ECS SDK's RunInstancesRequestTag). Lengths count characters,
// not bytes. The character-set rules of those texts are not applied:
// latchkey has always accepted any characters (its SDK tests send names
// with spaces, '*' and '~'), and the length bounds are what keep a stored
// name bounded.
const (
	ecsNameMin, ecsNameMax               = 2, 128 // InstanceName
	ecsDescriptionMin, ecsDescriptionMax = 2, 256 // Description
	// ecsHostNameMin and ecsHostNameMax are the bounds for Linux images.
	// Windows images allow 15 characters, but latchkey does not model an
	// image's operating system, so the Linux bound applies to every image.
	ecsHostNameMin, ecsHostNameMax = 2, 64
	ecsMaxTags                     = 20  // Tag.N: N is 1 to 20
	ecsTagMax                      = 128 // Tag.N.Key and Tag.N.Value
)

// ValidateText checks InstanceName, Description, HostName and the
// Tag.N.Key/Tag.N.Value pairs kept in Params against the ECS rules. An
// empty name, description or host name is the default, not a violation.
// The error is ReasonInvalidParameter naming the field ("InstanceName",
// "Description", "HostName", "Tag.N.Key", "Tag.N.Value", or "Tag" for
// more than ecsMaxTags tags); ECS renders each in its own code.
func (in CreateInstanceInput) ValidateText() error {
	if in.Name != "" && (!runesBetween(in.Name, ecsNameMin, ecsNameMax) || hasURLPrefix(in.Name)) {
		return Invalid(ReasonInvalidParameter, "InstanceName")
	}
	if in.Description != "" && (!runesBetween(in.Description, ecsDescriptionMin, ecsDescriptionMax) || hasURLPrefix(in.Description)) {
		return Invalid(ReasonInvalidParameter, "Description")
	}
	if in.HostName != "" && !runesBetween(in.HostName, ecsHostNameMin, ecsHostNameMax) {
		return Invalid(ReasonInvalidParameter, "HostName")
	}
	tags := 0
	for k, v := range in.Params {
		rest, ok := strings.CutPrefix(k, "Tag.")
		if !ok {
			continue
		}
		switch {
		case strings.HasSuffix(rest, ".Key"):
			tags++
			lower := strings.ToLower(v)
			if utf8.RuneCountInString(v) > ecsTagMax || strings.HasPrefix(lower, "aliyun") || strings.HasPrefix(lower, "acs:") ||
				strings.Contains(lower, "http://") || strings.Contains(lower, "https://") {
				return Invalid(ReasonInvalidParameter, "Tag.N.Key")
			}
		case strings.HasSuffix(rest, ".Value"):
			lower := strings.ToLower(v)
			if utf8.RuneCountInString(v) > ecsTagMax || strings.Contains(lower, "http://") || strings.Contains(lower, "https://") {
				return Invalid(ReasonInvalidParameter, "Tag.N.Value")
			}
		}
	}
	if tags > ecsMaxTags {
		return Invalid(ReasonInvalidParameter, "Tag")
	}
	return nil
}

// runesBetween reports whether s has lo to hi characters.
func runesBetween(s string, lo, hi int) bool {
	n := utf8.RuneCountInString(s)
	return n >= lo && n <= hi
}

// hasURLPrefix reports whether s starts with http:// or https://, which
// ECS refuses at the start of a name or description.
func hasURLPrefix(s string) bool {
	l := strings.ToLower(s)
	return strings.HasPrefix(l, "http://") || strings.HasPrefix(l, "https://")
}
