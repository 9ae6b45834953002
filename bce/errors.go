package bce

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/latchkey/latchkey/core"
)

// ErrorCode is a BCE error code as it appears in the "code" field of an
// error response. Every constant has exactly one row in the table below
// (errors_test.go fails otherwise), and statuses are chosen only there.
type ErrorCode string

// The common BCE codes (Baidu's public error table; the same constants as
// bce-sdk-go's bce/error.go) and the BCC codes of the operations latchkey
// serves. Sources: shared/reference/bce-rest.md §1.7 and §3.4, seed 003.
const (
	CodeAccessDenied                ErrorCode = "AccessDenied"
	CodeInappropriateJSON           ErrorCode = "InappropriateJSON"
	CodeInternalError               ErrorCode = "InternalError"
	CodeInvalidAccessKeyID          ErrorCode = "InvalidAccessKeyId"
	CodeInvalidHTTPAuthHeader       ErrorCode = "InvalidHTTPAuthHeader"
	CodeInvalidHTTPRequest          ErrorCode = "InvalidHTTPRequest"
	CodeInvalidURI                  ErrorCode = "InvalidURI"
	CodeMalformedJSON               ErrorCode = "MalformedJSON"
	CodeInvalidVersion              ErrorCode = "InvalidVersion"
	CodeOptInRequired               ErrorCode = "OptInRequired"
	CodePreconditionFailed          ErrorCode = "PreconditionFailed"
	CodeRequestExpired              ErrorCode = "RequestExpired"
	CodeSignatureDoesNotMatch       ErrorCode = "SignatureDoesNotMatch"
	CodeIdempotentParameterMismatch ErrorCode = "IdempotentParameterMismatch"

	// BCC.
	CodeBadRequest                 ErrorCode = "BadRequest"
	CodeNoSuchObject               ErrorCode = "NoSuchObject"
	CodePasswordOperationForbidden ErrorCode = "Instance.PasswordOperationForbidden"
	CodeRebootOperationForbidden   ErrorCode = "Instance.RebootInstanceOperationForbidden"
	CodeStartOperationForbidden    ErrorCode = "Instance.StartInstanceOperationForbidden"
	CodeStartWhenCreating          ErrorCode = "Instance.StartInstanceWhenCreating"
	CodeStopOperationForbidden     ErrorCode = "Instance.StopInstanceOperationForbidden"
	CodeReleaseWhileCreating       ErrorCode = "Instance.ReleaseWhileCreating"
	CodeReleaseNotPrepay           ErrorCode = "Instance.ReleaseNotPrepay"
	CodeVncOperationForbidden      ErrorCode = "Instance.VncOperationForbidden"
)

// ErrorRow is one line of the error table.
type ErrorRow struct {
	Code       ErrorCode
	Message    string
	HTTPStatus int
}

// Row returns the code's table row; ok is false for a code without one.
// The messages are Baidu's documented texts, including their quirks (the
// stop message has no final period).
func (c ErrorCode) Row() (row ErrorRow, ok bool) {
	r := func(msg string, status int) (ErrorRow, bool) {
		return ErrorRow{Code: c, Message: msg, HTTPStatus: status}, true
	}
	switch c {
	case CodeAccessDenied:
		return r("Access denied.", http.StatusForbidden)
	case CodeInappropriateJSON:
		return r("The JSON you provided was well-formed and valid, but not appropriate for this operation.", http.StatusBadRequest)
	case CodeInternalError:
		return r("We encountered an internal error. Please try again.", http.StatusInternalServerError)
	case CodeInvalidAccessKeyID:
		return r("The Access Key ID you provided does not exist in our records.", http.StatusForbidden)
	case CodeInvalidHTTPAuthHeader:
		return r("The HTTP authorization header is invalid. Consult the service documentation for details.", http.StatusBadRequest)
	case CodeInvalidHTTPRequest:
		return r("There was an error in the body of your HTTP request.", http.StatusBadRequest)
	case CodeInvalidURI:
		return r("Could not parse the specified URI.", http.StatusBadRequest)
	case CodeMalformedJSON:
		return r("The JSON you provided was not well-formed.", http.StatusBadRequest)
	case CodeInvalidVersion:
		return r("The API version specified was invalid.", http.StatusNotFound)
	case CodeOptInRequired:
		return r("A subscription for the service is required.", http.StatusForbidden)
	case CodePreconditionFailed:
		return r("The specified If-Match header doesn't match the ETag header.", http.StatusPreconditionFailed)
	case CodeRequestExpired:
		// The message names the request's date; see AuthError.APIError.
		return r("Request has expired.", http.StatusBadRequest)
	case CodeSignatureDoesNotMatch:
		return r("The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method. Consult the service documentation for details.", http.StatusBadRequest)
	case CodeIdempotentParameterMismatch:
		return r("The request uses the same client token as a previous, but non-identical request.", http.StatusForbidden)
	case CodeBadRequest:
		return r("Bad request parameters or illegal request.", http.StatusBadRequest)
	case CodeNoSuchObject:
		return r("The specified object is not found or resource do not exist.", http.StatusNotFound)
	case CodePasswordOperationForbidden:
		return r("Instance not stopped when changing password.", http.StatusConflict)
	case CodeRebootOperationForbidden:
		return r("Instance not running when rebooting.", http.StatusConflict)
	case CodeStartOperationForbidden:
		return r("Instance not stopped when starting.", http.StatusConflict)
	case CodeStartWhenCreating:
		return r("Instance creating when starting.", http.StatusConflict)
	case CodeStopOperationForbidden:
		return r("Instance not running when shutting down", http.StatusConflict)
	case CodeReleaseWhileCreating:
		return r("Instance can not release during creating.", http.StatusForbidden)
	case CodeReleaseNotPrepay:
		return r("Instance can not release if prepay.", http.StatusForbidden)
	case CodeVncOperationForbidden:
		// Baidu documents no error for the VNC call; latchkey follows the
		// other operations' pattern: a console exists only while the
		// instance runs.
		return r("Instance not running when getting vnc url.", http.StatusConflict)
	}
	return ErrorRow{}, false
}

// APIError is an error as the client will see it: a table row whose
// message may be specialized (a BadRequest naming the broken rule). It
// never carries a secret.
type APIError struct {
	Code       ErrorCode
	Message    string
	HTTPStatus int
}

// NewAPIError returns the row of code as an error. A code without a row is
// a programming error and renders as InternalError.
func NewAPIError(code ErrorCode) *APIError {
	row, ok := code.Row()
	if !ok {
		row, _ = CodeInternalError.Row()
	}
	return &APIError{Code: row.Code, Message: row.Message, HTTPStatus: row.HTTPStatus}
}

// Errorf returns code's row with the message replaced.
func Errorf(code ErrorCode, format string, args ...any) *APIError {
	e := NewAPIError(code)
	e.Message = fmt.Sprintf(format, args...)
	return e
}

func (e *APIError) Error() string { return string(e.Code) + ": " + e.Message }

// errorBody is the error envelope of every BCE error response. It has no
// statusCode key: the SDK would let one overwrite the HTTP status.
type errorBody struct {
	RequestID string `json:"requestId"`
	Code      string `json:"code"`
	Message   string `json:"message"`
}

// setHeaders sets the headers every BCE response carries.
func setHeaders(w http.ResponseWriter, requestID string, now time.Time) {
	h := w.Header()
	h.Set("x-bce-request-id", requestID)
	h.Set("Date", now.UTC().Format(http.TimeFormat))
	h.Set("Content-Type", "application/json;charset=UTF-8")
	h.Set("Server", "BWS")
}

// writeResult writes a 200 whose body is v as a JSON object. A nil v is
// written as {}: bce-sdk-go fails with EOF on an empty 200 body.
func writeResult(w http.ResponseWriter, requestID string, now time.Time, v any) {
	body := []byte("{}")
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil || len(b) == 0 || b[0] != '{' {
			writeError(w, requestID, now, NewAPIError(CodeInternalError))
			return
		}
		body = b
	}
	setHeaders(w, requestID, now)
	w.Header().Set("Content-Length", fmt.Sprint(len(body)+1))
	w.WriteHeader(http.StatusOK)
	w.Write(append(body, '\n'))
}

// writeError writes e in the error envelope with its table status.
func writeError(w http.ResponseWriter, requestID string, now time.Time, e *APIError) {
	b, _ := json.Marshal(errorBody{RequestID: requestID, Code: string(e.Code), Message: e.Message})
	setHeaders(w, requestID, now)
	w.Header().Set("Content-Length", fmt.Sprint(len(b)+1))
	w.WriteHeader(e.HTTPStatus)
	w.Write(append(b, '\n'))
}

// NewRequestID returns a random version-4 UUID in lower case, the form of
// x-bce-request-id, read from rand (crypto/rand.Reader in production).
func NewRequestID(rand io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(rand, b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}

// conflictCode returns the code an operation's status conflict is
// rendered with: each BCC operation documents its own (bce-rest.md §3.4).
// ReasonConflictingOp means the instance is still being created.
func conflictCode(op string, reason core.Reason) ErrorCode {
	creating := reason == core.ReasonConflictingOp
	switch op {
	case core.BCCChangeInstancePass:
		return CodePasswordOperationForbidden
	case core.BCCRebootInstance:
		return CodeRebootOperationForbidden
	case core.BCCStartInstance:
		if creating {
			return CodeStartWhenCreating
		}
		return CodeStartOperationForbidden
	case core.BCCStopInstance:
		return CodeStopOperationForbidden
	case core.BCCDeleteInstance:
		if creating {
			return CodeReleaseWhileCreating
		}
		return CodeReleaseNotPrepay
	case core.BCCGetInstanceVNC:
		return CodeVncOperationForbidden
	}
	return CodeBadRequest
}

// toAPIError maps an error of operation op onto the table: errors that
// are already rendered (*APIError, *AuthError, *AdminPassError) keep
// their row; core errors map by kind and reason. A message written for
// the caller (core.Error.Message) replaces the row's text only for
// BadRequest, whose message names the rule that failed.
func toAPIError(op string, err error) *APIError {
	var api *APIError
	if errors.As(err, &api) {
		return api
	}
	var ae *AuthError
	if errors.As(err, &ae) {
		return ae.APIError()
	}
	var pe *AdminPassError
	if errors.As(err, &pe) {
		return Errorf(CodeBadRequest, "%s", pe.Error())
	}
	e := core.AsError(err)
	switch e.Kind {
	case core.KindInvalid:
		if e.Reason == core.ReasonIdempotentMismatch {
			return NewAPIError(CodeIdempotentParameterMismatch)
		}
		if e.Message != "" {
			return Errorf(CodeBadRequest, "%s", e.Message)
		}
		if e.Field != "" {
			return Errorf(CodeBadRequest, "The parameter %s is invalid.", e.Field)
		}
		return NewAPIError(CodeBadRequest)
	case core.KindNotFound:
		switch e.Reason {
		case core.ReasonRegionNotFound:
			return Errorf(CodeBadRequest, "The host names a region that BCC does not have.")
		case core.ReasonAccessKeyNotFound:
			return NewAPIError(CodeInvalidAccessKeyID)
		}
		return NewAPIError(CodeNoSuchObject)
	case core.KindConflict:
		return NewAPIError(conflictCode(op, e.Reason))
	case core.KindForbidden:
		if e.Reason == core.ReasonServiceNotEnabled {
			return NewAPIError(CodeOptInRequired)
		}
		return NewAPIError(CodeAccessDenied)
	case core.KindUnavailable:
		// The guest could not be reached and nothing changed. A 5xx would
		// make the SDK repeat a call that fails the same way, so this is
		// the operation's own conflict, with a message that says why.
		return Errorf(conflictCode(op, core.ReasonIncorrectStatus), "The instance's guest did not respond; nothing was changed.")
	}
	return NewAPIError(CodeInternalError)
}
