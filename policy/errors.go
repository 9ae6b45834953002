package policy

// ValidationError reports why [Parse] refused a policy document. RAM answers
// such documents with HTTP 400 and the code MalformedPolicyDocument; an
// adapter renders Reason as the error message.
type ValidationError struct {
	// Element locates the offending part of the document as a path from
	// its root, such as "Statement[1].Condition.DateLessThan.acs:CurrentTime".
	// It is empty when the document as a whole is wrong (not JSON, not an
	// object).
	Element string
	// Reason is one sentence that says what is wrong and what RAM expects,
	// without repeating the path. Where RAM's own wording is known it is
	// used verbatim, e.g. "Add an Action or NotAction element to the policy
	// statement.".
	Reason string
}

// Error returns the path and the reason.
func (e *ValidationError) Error() string {
	if e.Element == "" {
		return "policy: " + e.Reason
	}
	return "policy: " + e.Element + ": " + e.Reason
}

func invalid(element, reason string) *ValidationError {
	return &ValidationError{Element: element, Reason: reason}
}
