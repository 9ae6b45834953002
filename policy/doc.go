// Package policy parses and evaluates Alibaba Cloud RAM policy documents, the
// permission language latchkey applies to every ECS, E-HPC, BCC and RAM call
// made with a RAM user's access key.
//
// The package is pure: it performs no I/O and never reads the clock. The time
// of a request, its source address and whether it arrived over TLS come in a
// [Request], so a decision depends only on the documents and the request.
//
// # Documents
//
// [Parse] accepts the identity-based policy grammar of RAM
// (help/en/ram/policy-structure-and-syntax): a JSON object with "Version":"1"
// and a "Statement" array; each statement has Effect, Action or NotAction,
// Resource or NotResource, and an optional Condition. Element names, operator
// names and predefined values ("Allow", "Deny", "true", "false") are
// case-sensitive. A document that breaks a rule is refused with a
// [*ValidationError], which the RAM adapter renders as MalformedPolicyDocument.
// A parsed [Document] keeps the exact text it was parsed from, for GetPolicy.
//
// # Evaluation
//
// [Evaluate] applies RAM's rules (policy elements, doc-detail/93738): access is
// denied by default, an Allow statement that matches grants it, and a Deny
// statement that matches overrides every Allow, in any document. Callers
// decide before calling whether the principal is an account root, which RAM
// always allows.
//
// A statement matches a request when its action list, its resource list and
// all its conditions match:
//
//   - Actions ("ecs:Describe*") are compared case-insensitively, as RAM
//     documents action names to be; resources (ARNs such as
//     "acs:ecs:*:*:instance/*") case-sensitively. In both, "*" matches any run
//     of characters, including none, and "?" exactly one character.
//   - NotAction and NotResource match everything their list does not.
//   - Within a Condition, every operator must hold, and within an operator
//     every key must hold (AND); the values listed for one key are
//     alternatives (OR).
//
// # Absent condition keys
//
// A condition whose key is not in the request context is false, so an Allow
// that depends on it grants nothing and a Deny that depends on it denies
// nothing. The negated operators (StringNotEquals, StringNotEqualsIgnoreCase,
// StringNotLike, NumericNotEquals, DateNotEquals and NotIpAddress) are true
// for an absent key, because an absent value equals none of the listed ones.
// RAM does not document this case; the rule is AWS IAM's, which the RAM
// policy language mirrors. The ForAnyValue: and ForAllValues: qualifiers
// follow IAM as well: ForAnyValue: is false and ForAllValues: is true for an
// absent key.
package policy
