package bce

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testutil"
)

// errorCodeConstants returns every constant of type ErrorCode declared in
// the package's non-test files, by parsing them, so that a new constant
// without a row fails TestErrorTableComplete.
func errorCodeConstants(t *testing.T) map[string]ErrorCode {
	t.Helper()
	found := map[string]ErrorCode{}
	for name, c := range testutil.StringConstants(t, "*.go", "ErrorCode") {
		found[name] = ErrorCode(c.Value)
	}
	return found
}

func TestErrorTableComplete(t *testing.T) {
	consts := errorCodeConstants(t)
	if len(consts) < 20 {
		t.Fatalf("found only %d ErrorCode constants; the parser missed some", len(consts))
	}
	seen := map[ErrorCode]string{}
	for name, code := range consts {
		if prev, dup := seen[code]; dup {
			t.Errorf("%s and %s share the code %q", name, prev, code)
		}
		seen[code] = name
		row, ok := code.Row()
		if !ok {
			t.Errorf("%s (%q) has no row in the error table", name, code)
			continue
		}
		if row.Code != code || row.Message == "" {
			t.Errorf("%s: row %+v", name, row)
		}
		if row.HTTPStatus < 400 || row.HTTPStatus > 599 {
			t.Errorf("%s: status %d is not an error status", name, row.HTTPStatus)
		}
		if row.HTTPStatus >= 500 && code != CodeInternalError {
			t.Errorf("%s: only InternalError may be a 5xx (the SDK retries them)", name)
		}
	}
	if _, ok := ErrorCode("NoSuchThing").Row(); ok {
		t.Error("an unknown code has a row")
	}
	if e := NewAPIError("NoSuchThing"); e.Code != CodeInternalError {
		t.Errorf("NewAPIError(unknown) = %+v", e)
	}
}

// The statuses and texts the reference and seed 003 document.
func TestErrorTableDocumentedRows(t *testing.T) {
	for _, tc := range []struct {
		code   ErrorCode
		status int
		msg    string
	}{
		{CodeAccessDenied, 403, "Access denied."},
		{CodeInvalidAccessKeyID, 403, "The Access Key ID you provided does not exist in our records."},
		{CodeSignatureDoesNotMatch, 400, ""},
		{CodeRequestExpired, 400, ""},
		{CodeInvalidHTTPAuthHeader, 400, ""},
		{CodeIdempotentParameterMismatch, 403, "The request uses the same client token as a previous, but non-identical request."},
		{CodeBadRequest, 400, "Bad request parameters or illegal request."},
		{CodeNoSuchObject, 404, "The specified object is not found or resource do not exist."},
		{CodePasswordOperationForbidden, 409, "Instance not stopped when changing password."},
		{CodeRebootOperationForbidden, 409, "Instance not running when rebooting."},
		{CodeStartOperationForbidden, 409, "Instance not stopped when starting."},
		{CodeStopOperationForbidden, 409, "Instance not running when shutting down"},
		{CodeStartWhenCreating, 409, "Instance creating when starting."},
		{CodeReleaseWhileCreating, 403, "Instance can not release during creating."},
		{CodeInternalError, 500, ""},
	} {
		row, _ := tc.code.Row()
		if row.HTTPStatus != tc.status || (tc.msg != "" && row.Message != tc.msg) {
			t.Errorf("%s: got %d %q", tc.code, row.HTTPStatus, row.Message)
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewRequestID(t *testing.T) {
	id, err := NewRequestID(bytes.NewReader(bytes.Repeat([]byte{0xff}, 16)))
	if err != nil || id != "ffffffff-ffff-4fff-bfff-ffffffffffff" {
		t.Errorf("NewRequestID(0xff…) = %q, %v", id, err)
	}
	id, _ = NewRequestID(bytes.NewReader(make([]byte, 16)))
	if !uuidV4.MatchString(id) {
		t.Errorf("NewRequestID(0…) = %q, not a lower-case UUID v4", id)
	}
	if _, err := NewRequestID(bytes.NewReader(nil)); err == nil {
		t.Error("NewRequestID with an empty source succeeded")
	}
}

func checkCommonHeaders(t *testing.T, h http.Header, requestID string) {
	t.Helper()
	if got := h.Get("x-bce-request-id"); got != requestID {
		t.Errorf("x-bce-request-id = %q", got)
	}
	if got := h.Get("Content-Type"); got != "application/json;charset=UTF-8" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := h.Get("Server"); got != "BWS" {
		t.Errorf("Server = %q", got)
	}
	if got := h.Get("Date"); got != "Wed, 03 Dec 2014 06:42:19 GMT" {
		t.Errorf("Date = %q", got)
	}
}

func TestWriteResultAndError(t *testing.T) {
	const id = "1214cca7-4ad5-451d-9215-71cb844c0a50"
	now := time.Date(2014, 12, 3, 6, 42, 19, 0, time.UTC)

	w := httptest.NewRecorder()
	writeResult(w, id, now, nil)
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != "{}" {
		t.Errorf("empty result: %d %q", w.Code, w.Body.String())
	}
	checkCommonHeaders(t, w.Header(), id)

	w = httptest.NewRecorder()
	writeResult(w, id, now, struct {
		VncURL string `json:"vncUrl"`
	}{"http://x"})
	if w.Code != 200 || strings.TrimSpace(w.Body.String()) != `{"vncUrl":"http://x"}` {
		t.Errorf("result: %d %q", w.Code, w.Body.String())
	}

	w = httptest.NewRecorder()
	writeResult(w, id, now, []string{"not an object"})
	if w.Code != 500 {
		t.Errorf("non-object result answered %d", w.Code)
	}

	w = httptest.NewRecorder()
	writeError(w, id, now, NewAPIError(CodePasswordOperationForbidden))
	checkCommonHeaders(t, w.Header(), id)
	if w.Code != 409 {
		t.Errorf("status = %d", w.Code)
	}
	var body map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"requestId": id, "code": "Instance.PasswordOperationForbidden", "message": "Instance not stopped when changing password."}
	if len(body) != len(want) {
		t.Errorf("error body has keys %v", body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("error body %s = %v, want %v", k, body[k], v)
		}
	}
}
