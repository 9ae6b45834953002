package aliyun

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"

	"github.com/latchkey/latchkey/core"
)

// Content types of answers. Darabonba parses an error body as XML only
// when the type is exactly xmlContentType; latchkey's errors are JSON.
const (
	jsonContentType = "application/json;charset=utf-8"
	xmlContentType  = "text/xml;charset=utf-8"
)

// errorBody is the error envelope. Every field is a string and
// AccessDeniedDetail, when present, an object: SDKv1 asserts these types
// and panics on others (reference §1.6).
type errorBody struct {
	RequestId          string              `json:"RequestId"`
	HostId             string              `json:"HostId"`
	Code               string              `json:"Code"`
	Message            string              `json:"Message"`
	Recommend          string              `json:"Recommend"`
	AccessDeniedDetail *accessDeniedDetail `json:"AccessDeniedDetail,omitempty"`
}

// write renders the answer and returns its HTTP status. A success is JSON,
// or XML with root <ActionResponse> when the request asked for
// Format=XML. An error is always the JSON envelope, whatever the Format:
// PRODUCT.md §2 fixes the envelope, and SDKv1 reads error codes only from
// JSON. Every answer carries x-acs-request-id.
func (s *server) write(w http.ResponseWriter, c *call, value any, ae *apiError) int {
	w.Header().Set("x-acs-request-id", string(c.requestID))
	if ae == nil {
		body, contentType, err := renderValue(c, value)
		if err == nil {
			return writeBody(w, http.StatusOK, contentType, body)
		}
		s.d.Log.Error("rpc response not rendered", "request_id", c.requestID, "action", c.action, "err", err)
		ae = &apiError{code: errInternal}
	}
	code, msg, status := ae.row()
	eb := errorBody{
		RequestId: string(c.requestID),
		HostId:    c.host,
		Code:      code,
		Message:   msg,
		Recommend: recommend(code, c.product, c.requestID),
	}
	if ae.code == errForbiddenRAM {
		eb.AccessDeniedDetail = denialDetail(ae.denial)
	}
	body, err := marshalJSON(eb)
	if err != nil { // a struct of strings always marshals
		body = []byte(`{}`)
	}
	return writeBody(w, status, jsonContentType, body)
}

// renderValue sets the RequestId on a handler's value and encodes it in
// the call's format.
func renderValue(c *call, value any) ([]byte, string, error) {
	if value == nil {
		value = &responseMeta{}
	}
	setter, ok := value.(requestIDSetter)
	if !ok {
		return nil, "", errNoResponseMeta
	}
	setter.setRequestID(string(c.requestID))
	if c.format == formatXML {
		body, err := marshalXML(c.action+"Response", value)
		return body, xmlContentType, err
	}
	body, err := marshalJSON(value)
	return body, jsonContentType, err
}

type renderError string

func (e renderError) Error() string { return string(e) }

const errNoResponseMeta = renderError("handler value does not embed responseMeta")

func writeBody(w http.ResponseWriter, status int, contentType string, body []byte) int {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}

// marshalJSON encodes v without HTML escaping (Alibaba answers contain
// '<', '>' and '&' as they are).
func marshalJSON(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// marshalXML encodes v under the root element name, after an XML
// declaration, the way the RPC gateway answers Format=XML. List fields
// render as repeated elements inside their wrapper, matching the JSON
// "Instances":{"Instance":[…]} shape.
func marshalXML(root string, v any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: root}}); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// recommend is the troubleshooting link real gateways put in Recommend.
func recommend(code string, p *product, id core.RequestID) string {
	q := url.Values{"q": {code}, "requestId": {string(id)}}
	if p != nil {
		q.Set("product", p.code)
	}
	return "https://api.aliyun.com/troubleshoot?" + q.Encode()
}

// denialDetail renders a RAM denial as the AccessDeniedDetail object. The
// diagnostic message is Base64 JSON naming the action and the resource
// that were checked (never a secret).
func denialDetail(d *core.Denial) *accessDeniedDetail {
	if d == nil {
		d = &core.Denial{}
	}
	kind := "ImplicitDeny"
	if d.Explicit {
		kind = "ExplicitDeny"
	}
	diag, _ := json.Marshal(struct {
		AuthAction       string
		AuthResource     string
		NoPermissionType string
	}{d.Action, d.Resource, kind})
	return &accessDeniedDetail{
		AuthAction:               d.Action,
		AuthPrincipalType:        d.PrincipalType,
		AuthPrincipalOwnerId:     string(d.AccountID),
		AuthPrincipalDisplayName: d.PrincipalID,
		NoPermissionType:         kind,
		PolicyType:               "AccountLevelIdentityBasedPolicy",
		EncodedDiagnosticMessage: base64.StdEncoding.EncodeToString(diag),
	}
}
