package aliyun

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
)

// coreReasons returns every Reason constant declared in package core, read
// from its source so that a reason added later is seen here, by name.
func coreReasons(t *testing.T) map[string]core.Reason {
	all, _ := coreReasonsByFile(t)
	return all
}

// coreReasonsByFile also tells which reasons core/errors.go declares: the
// shared set every product maps. Product files (core/ram.go, …) declare
// reasons their own front ends render.
func coreReasonsByFile(t *testing.T) (all map[string]core.Reason, shared map[string]bool) {
	t.Helper()
	all, shared = map[string]core.Reason{}, map[string]bool{}
	for name, c := range testutil.StringConstants(t, "../core/*.go", "Reason") {
		all[name] = core.Reason(c.Value)
		shared[name] = filepath.Base(c.File) == "errors.go"
	}
	if len(all) < 10 {
		t.Fatalf("found only %d reasons in core", len(all))
	}
	return all, shared
}

// reasonsUsedBy returns the core.Reason* identifiers the given Go files
// mention.
func reasonsUsedBy(t *testing.T, pattern string) map[string]bool {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	used := map[string]bool{}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if sel, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "core" && strings.HasPrefix(sel.Sel.Name, "Reason") {
					used[sel.Sel.Name] = true
				}
			}
			return true
		})
	}
	return used
}

var kinds = []core.Kind{core.KindInternal, core.KindInvalid, core.KindNotFound, core.KindConflict, core.KindForbidden, core.KindUnavailable}

// notECS are reasons of other products; an ECS call that meets one is a
// bug and answers InternalError.
var notECS = map[string]bool{"ReasonClusterNotFound": true, "ReasonUserNotFound": true, "ReasonPolicyNotFound": true}

func TestErrorTableRowsAreComplete(t *testing.T) {
	seen := map[string]errorCode{}
	for code := errorCode(0); code < errorCodeCount; code++ {
		row := errorRowFor(code)
		if row.Code == "" || row.Message == "" || row.HTTPStatus < 400 || row.HTTPStatus > 599 {
			t.Errorf("row %d is incomplete: %+v", code, row)
		}
		if strings.Count(row.Message, "%") > 1 || strings.Contains(row.Message, "%") && !strings.Contains(row.Message, "%s") {
			t.Errorf("row %s: message %q has a verb other than one %%s", row.Code, row.Message)
		}
		key := row.Code + "\x00" + row.Message
		if prev, dup := seen[key]; dup {
			t.Errorf("rows %d and %d are the same", prev, code)
		}
		seen[key] = code
		_, msg, status := (&apiError{code: code, param: "X"}).row()
		if strings.Contains(msg, "%!") || status != row.HTTPStatus {
			t.Errorf("row %s renders as %q (%d)", row.Code, msg, status)
		}
	}
	if _, msg, status := (&apiError{code: errorCodeCount + 3}).row(); status != 500 || msg != errorRowFor(errInternal).Message {
		t.Errorf("an unknown row renders %q %d", msg, status)
	}
}

// Every reason core defines maps to an ECS row; the shared reasons of
// core/errors.go and every reason the ECS service uses map to a specific
// one (not the generic row of their kind and not InternalError); foreign
// errors are InternalError.
func TestErrorMappingCoversCoreReasons(t *testing.T) {
	reasons, shared := coreReasonsByFile(t)
	used := reasonsUsedBy(t, "../service/ecs*.go")
	for name, reason := range reasons {
		for _, k := range kinds {
			ae := ecsError(&core.Error{Kind: k, Reason: reason, Field: "VncPassword"})
			if ae.code < 0 || ae.code >= errorCodeCount {
				t.Errorf("%s/%v maps outside the table", name, k)
			}
		}
		if reason == core.ReasonNone || !shared[name] && !used[name] {
			continue
		}
		ae := ecsError(&core.Error{Kind: core.KindInvalid, Reason: reason})
		generic := ecsError(&core.Error{Kind: core.KindInvalid})
		if notECS[name] {
			if ae.code != errInternal {
				t.Errorf("%s is not an ECS reason but maps to %s", name, errorRowFor(ae.code).Code)
			}
			continue
		}
		if ae.code == errInternal || ae.code == generic.code && reason != core.ReasonInvalidParameter {
			t.Errorf("%s has no specific ECS row (maps to %s)", name, errorRowFor(ae.code).Code)
		}
	}
	for name := range used {
		reason, ok := reasons[name]
		if !ok {
			t.Errorf("the ECS service uses %s, which core does not declare", name)
			continue
		}
		if code := ecsError(&core.Error{Kind: core.KindInvalid, Reason: reason, Field: "F"}).code; code == errInternal || code == errServiceUnavailable {
			t.Errorf("the ECS service uses %s, which maps to %s", name, errorRowFor(code).Code)
		}
	}
	for _, err := range []error{errors.New("boom"), &core.Error{Kind: core.KindInternal, Message: "x"}} {
		ae := errorFor(nil, err)
		if ae.code != errInternal || ae.cause == nil {
			t.Errorf("%v → %+v", err, ae)
		}
	}
	// Specific texts and fields.
	for _, tc := range []struct {
		err  *core.Error
		code string
		msg  string
	}{
		{core.Invalid(core.ReasonPasswordLength, "VncPassword"), "IncorrectVncPassword.Malformed", "The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers."},
		{core.Invalid(core.ReasonPasswordCharset, "VncPassword"), "IncorrectVncPassword.Malformed", "The specified parameter VncPassword is not valid."},
		{core.Invalid(core.ReasonPasswordPolicy, "Password"), "InvalidPassword.Malformed", `The specified parameter "Password" is not valid.`},
		{core.Invalid(core.ReasonMissingParameter, "InstanceId"), "MissingParameter", `The input parameter "InstanceId" that is mandatory for processing this request is not supplied.`},
		{core.Invalid(core.ReasonInvalidParameter, "PageSize"), "InvalidParameter", `The specified parameter "PageSize" is not valid.`},
		{&core.Error{Kind: core.KindInvalid}, "InvalidParameter", "The specified parameter is not valid."},
		{&core.Error{Kind: core.KindNotFound, Reason: core.ReasonAccessKeyNotFound}, "InvalidAccessKeyId.NotFound", "Specified access key is not found."},
		{&core.Error{Kind: core.KindForbidden, Reason: core.ReasonAccessKeyNotFound}, "InvalidAccessKeyId.Inactive", "Specified access key is disabled."},
		{&core.Error{Kind: core.KindUnavailable, Reason: core.ReasonConsoleUnreachable, Message: "dial tcp: refused"}, "InstanceNotReady", "Temporarily unable to connect the specified instance,please try later."},
	} {
		code, msg, _ := ecsError(tc.err).row()
		if code != tc.code || msg != tc.msg {
			t.Errorf("%v → %s %q, want %s %q", tc.err, code, msg, tc.code, tc.msg)
		}
	}
}

// Every row is reachable: from a core error through some product's
// mapping, or from a request the front end refuses itself. The protocol
// cases run for real.
func TestErrorTableRowsAreReachable(t *testing.T) {
	reached := map[errorCode]bool{}
	for _, p := range (&server{}).products() {
		for _, reason := range coreReasons(t) {
			for _, k := range kinds {
				for _, f := range []string{"", "VncPassword", "Password", "InstanceId",
					// RAM names the field in its codes (InvalidParameter.UserName.Length).
					"UserName", "DisplayName", "Comments", "MobilePhone", "Email", "PolicyName", "PolicyDocument", "Description", "PolicyType",
					// ECS names its creation parameters' codes (InvalidInstanceName.Malformed).
					"InstanceName", "HostName", "Tag.N.Key", "Tag.N.Value", "Tag"} {
					e := &core.Error{Kind: k, Reason: reason, Field: f, Message: "m"}
					reached[errorFor(p, e).code] = true
				}
			}
		}
	}

	// rowOf finds the row an answer rendered.
	rowOf := func(rec *httptest.ResponseRecorder) (errorCode, bool) {
		code, msg := errorOf(t, rec)
		for c := errorCode(0); c < errorCodeCount; c++ {
			row := errorRowFor(c)
			pattern := "^" + strings.ReplaceAll(regexp.QuoteMeta(row.Message), "%s", ".*") + "(" + regexp.QuoteMeta(stringToSignMarker) + "(?s:.*))?$"
			if row.Code == code && row.HTTPStatus == rec.Code && regexp.MustCompile(pattern).MatchString(msg) {
				return c, true
			}
		}
		return 0, false
	}
	r := newRig(t)
	n := 0
	nonce := func() string { n++; return "reach-" + string(rune('A'+n)) }
	signedQuery := func(method string, edit map[string]string) string {
		return encode(signV1(method, r.v1Params("DescribeRegions", nonce(), edit), stubSecret))
	}
	cases := []*http.Request{
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"Timestamp": ""}), nil),
		httptest.NewRequest("GET", "http://h/?a=1&a=2", nil),
		httptest.NewRequest("GET", "http://h/?a=%zz", nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"Format": "csv"}), nil),
		httptest.NewRequest("DELETE", "http://h/", nil),
		httptest.NewRequest("POST", "http://h/", strings.NewReader(strings.Repeat("a", maxBody+1))),
		httptest.NewRequest("GET", "http://h/x", nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"Version": "1999-01-01"}), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"AccessKeyId": "LTAInone"}), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"AccessKeyId": "LTAIinactive"}), nil),
		httptest.NewRequest("GET", "http://h/?"+encode(r.v1Params("DescribeRegions", nonce(), nil)), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("POST", nil), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"SignatureMethod": "MD5"}), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"Timestamp": "soon"}), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"Timestamp": "2001-01-01T00:00:00Z"}), nil),
		httptest.NewRequest("GET", "http://h/?"+signedQuery("GET", map[string]string{"SecurityToken": "t"}), nil),
	}
	replay := signedQuery("GET", nil)
	cases = append(cases,
		httptest.NewRequest("GET", "http://h/?"+replay, nil),
		httptest.NewRequest("GET", "http://h/?"+replay, nil), // SignatureNonceUsed
	)
	for i, req := range cases {
		rec := r.serve(req)
		if rec.Code == 200 {
			continue
		}
		c, ok := rowOf(rec)
		if !ok {
			t.Errorf("case %d: answer matches no row: %d %s", i, rec.Code, rec.Body.String())
			continue
		}
		reached[c] = true
	}
	r.clock.Add(time.Hour) // the nonce memory empties
	r.ecs.err = errors.New("boom")
	if c, ok := rowOf(r.doV1("GET", r.v1Params("DescribeRegions", nonce(), nil), stubSecret, false)); ok {
		reached[c] = true
	}
	for c := errorCode(0); c < errorCodeCount; c++ {
		if !reached[c] {
			t.Errorf("row %s (%q) is never produced", errorRowFor(c).Code, errorRowFor(c).Message)
		}
	}
}
