package internalapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/fleet"
	"github.com/latchkey/latchkey/service"
)

// errorCodes is the one table of the internal API's error codes and their
// HTTP statuses. An error from a service answers with the code of its
// Kind (kindCodes) and that code's status, and names its Reason as the
// code when it has one. A test keeps every newError code in this table.
var errorCodes = map[string]int{
	"InvalidBody":      http.StatusBadRequest,
	"InvalidParameter": http.StatusBadRequest,
	"MissingParameter": http.StatusBadRequest,
	"InvalidFleet":     http.StatusBadRequest,
	"Unauthorized":     http.StatusUnauthorized,
	"Forbidden":        http.StatusForbidden,
	"NotFound":         http.StatusNotFound,
	"Conflict":         http.StatusConflict,
	"TooManyRequests":  http.StatusTooManyRequests,
	"InternalError":    http.StatusInternalServerError,
	"NotAvailable":     http.StatusNotImplemented,
	"Unavailable":      http.StatusServiceUnavailable,
}

// kindCodes is the code of each kind of core error.
var kindCodes = map[core.Kind]string{
	core.KindInvalid:     "InvalidParameter",
	core.KindNotFound:    "NotFound",
	core.KindConflict:    "Conflict",
	core.KindForbidden:   "Forbidden",
	core.KindUnavailable: "Unavailable",
	core.KindInternal:    "InternalError",
}

// apiError is an error with its HTTP status and code, safe to show.
type apiError struct {
	status int
	code   string
	msg    string
	field  string
}

func (e *apiError) Error() string { return e.code + ": " + e.msg }

// newError returns the error of one of errorCodes' codes; field names
// the offending parameter, if any.
func newError(code, field, msg string) *apiError {
	return &apiError{status: errorCodes[code], code: code, field: field, msg: msg}
}

// errorBody is every error answer.
type errorBody struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	Field string `json:"field,omitempty"`
}

// toAPIError maps any error onto the internal API's answers: its own
// errors as they are, fleet file errors as InvalidFleet, a fleet
// resource a product refused as the product's error naming the
// resource, core errors by kind. Core messages are caller-safe by
// contract; internal causes are logged only.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var fe *fleet.Error
	if errors.As(err, &fe) {
		return newError("InvalidFleet", fe.Field, fe.Message)
	}
	var re *service.ResourceError
	if errors.As(err, &re) {
		out := *toAPIError(re.Err)
		if out.status == http.StatusInternalServerError {
			return &out
		}
		detail := out.msg
		if out.field != "" && !strings.Contains(detail, out.field) {
			detail += " (" + out.field + ")"
		}
		out.msg, out.field = re.What+": "+detail, ""
		return &out
	}
	e := core.AsError(err)
	code, ok := kindCodes[e.Kind]
	if !ok || e.Kind == core.KindInternal {
		return newError("InternalError", "", "internal error; see the server log")
	}
	out := newError(code, e.Field, e.Message)
	if e.Kind == core.KindInvalid && out.msg == "" && e.Field != "" {
		out.msg = "the parameter " + e.Field + " is invalid"
	}
	if e.Reason != "" {
		out.code = string(e.Reason)
	}
	if out.msg == "" {
		out.msg = e.Kind.String()
	}
	return out
}
