package aliyun

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// errorCode names one row of the error table. Every error this package
// answers with is one of these; status codes and texts are never chosen
// at a call site.
type errorCode int

// The rows of the table. Protocol rows come from the Alibaba OpenAPI
// gateway's common error table (shared/reference/alibaba-rpc.md §4.2);
// ECS rows from the ECS API reference (seeds 000 and 001 for
// ModifyInstanceVncPasswd).
const (
	// Protocol: request shape.
	errMissingParameter      errorCode = iota // one style for every product parameter and common parameter
	errInvalidParameter                       // names the parameter
	errInvalidParameterBare                   // the parameter is not known
	errInvalidFormat                          // Format is neither JSON nor XML
	errUnsupportedHTTPMethod                  // neither GET nor POST
	errRequestTooLarge                        // body over maxBody
	errInvalidAction                          // unknown Action (or a path other than /)
	errInvalidVersion                         // unknown Version

	// Protocol: authentication.
	errAccessKeyNotFound
	errAccessKeyInactive
	errIncompleteSignature
	errSignatureDoesNotMatch
	errInvalidSignatureMethod
	errSignatureNonceUsed
	errTimestampFormat
	errTimestampExpired
	errSecurityTokenMalformed

	// Protocol: server side.
	errInternal
	errServiceUnavailable

	// ECS 2014-05-26.
	errDryRunOperation
	errIdempotentParameterMismatch
	errRegionNotFound
	errZoneNotFound
	errInstanceNotFound
	errNoSuchResource
	errIncorrectInstanceStatus
	errOperationConflict
	errInstanceNotReady
	errVncPasswordLength
	errVncPasswordMalformed
	errPasswordMalformed
	errInstanceNameMalformed
	errDescriptionMalformed
	errHostNameMalformed
	errTagKeyMalformed
	errTagValueMalformed
	errTagCount
	errForbiddenRAM
	errForbidden
	errAccountArrearage
	errInstanceInArrears

	// E-HPC 2018-04-12: seed 004's table (PRODUCT.md §3; the texts of
	// InvalidParams and NotAuthorized are PRODUCT.md's).
	errEHPCInvalidParams
	errEHPCNotEnabled
	errEHPCInDebt
	errEHPCInvalidClusterStatus
	errEHPCConflictOpt
	errEHPCAgentError
	errEHPCIncorrectCredential
	errEHPCExecFail
	errEHPCClusterNotFound
	errEHPCAliyunError
	errEHPCNotAuthorized
	errEHPCPartFailure
	errEHPCUnknownError
	errEHPCServiceUnavailable

	// RAM 2015-05-01: the RAM API error reference.
	errRAMUserNotFound
	errRAMUserExists
	errRAMPolicyNotFound
	errRAMPolicyExists
	errRAMPolicyAttached
	errRAMPolicyNotAttached
	errRAMAccessKeyNotFound
	errRAMDeleteUserAccessKey
	errRAMDeleteUserPolicy
	errRAMDeletePolicyUser
	errRAMAccessKeyLimit
	errRAMMalformedPolicyDocument
	errRAMNoPermission
	errRAMInactive
	errRAMPolicyType
	errRAMUserNameChars
	errRAMUserNameLength
	errRAMDisplayNameChars
	errRAMDisplayNameLength
	errRAMCommentsLength
	errRAMMobilePhoneFormat
	errRAMEmailFormat
	errRAMPolicyNameChars
	errRAMPolicyNameLength
	errRAMPolicyDocumentLength
	errRAMDescriptionLength

	// STS 2015-04-01: GetCallerIdentity's one documented error.
	errSTSInternal

	errorCodeCount // not a row: the number of rows
)

// errorRow is what the client sees for an errorCode. A Message with a %s
// verb takes the offending parameter's name.
type errorRow struct {
	Code       string
	Message    string
	HTTPStatus int
}

// errorTable returns the table. It is built on each call (cheaply) so the
// package holds no mutable state; errorRowFor is the only reader.
func errorTable() [errorCodeCount]errorRow {
	return [errorCodeCount]errorRow{
		errMissingParameter:      {"MissingParameter", `The input parameter "%s" that is mandatory for processing this request is not supplied.`, http.StatusBadRequest},
		errInvalidParameter:      {"InvalidParameter", `The specified parameter "%s" is not valid.`, http.StatusBadRequest},
		errInvalidParameterBare:  {"InvalidParameter", "The specified parameter is not valid.", http.StatusBadRequest},
		errInvalidFormat:         {"InvalidParameter.Format", "Specified parameter format is not valid.", http.StatusBadRequest},
		errUnsupportedHTTPMethod: {"UnsupportedHTTPMethod", "The specified HTTP method is not supported; use GET or POST.", http.StatusBadRequest},
		errRequestTooLarge:       {"InvalidParameter.BodyTooLarge", "The request body exceeds 1 MiB.", http.StatusRequestEntityTooLarge},
		errInvalidAction:         {"InvalidAction.NotFound", "Specified api is not found, please check your url and method.", http.StatusNotFound},
		errInvalidVersion:        {"InvalidVersion", "Specified parameter Version is not valid.", http.StatusBadRequest},

		errAccessKeyNotFound:      {"InvalidAccessKeyId.NotFound", "Specified access key is not found.", http.StatusNotFound},
		errAccessKeyInactive:      {"InvalidAccessKeyId.Inactive", "Specified access key is disabled.", http.StatusBadRequest},
		errIncompleteSignature:    {"IncompleteSignature", "The request signature does not conform to Aliyun standards.", http.StatusBadRequest},
		errSignatureDoesNotMatch:  {"SignatureDoesNotMatch", "Specified signature is not matched with our calculation.", http.StatusBadRequest},
		errInvalidSignatureMethod: {"InvalidSignatureMethod", "Specified signature method is not valid.", http.StatusBadRequest},
		errSignatureNonceUsed:     {"SignatureNonceUsed", "Specified signature nonce was used already.", http.StatusBadRequest},
		errTimestampFormat:        {"InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.", http.StatusBadRequest},
		errTimestampExpired:       {"InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.", http.StatusBadRequest},
		errSecurityTokenMalformed: {"InvalidSecurityToken.Malformed", "Specified SecurityToken is malformed.", http.StatusBadRequest},

		errInternal:           {"InternalError", "The request processing has failed due to some unknown error, exception or failure.", http.StatusInternalServerError},
		errServiceUnavailable: {"ServiceUnavailable", "The request has failed due to a temporary failure of the server.", http.StatusServiceUnavailable},

		errDryRunOperation:             {"DryRunOperation", "Request validation has been passed with DryRun flag set.", http.StatusBadRequest},
		errIdempotentParameterMismatch: {"IdempotentParameterMismatch", "Request uses a client token in a previous request but is not identical to that request.", http.StatusBadRequest},
		errRegionNotFound:              {"InvalidRegionId.NotFound", "The specified RegionId does not exist.", http.StatusNotFound},
		errZoneNotFound:                {"InvalidZoneId.NotFound", "The specified zone does not exist.", http.StatusNotFound},
		errInstanceNotFound:            {"InvalidInstanceId.NotFound", "The specified InstanceId does not exist.", http.StatusNotFound},
		errNoSuchResource:              {"NoSuchResource", "The specified resource is not found.", http.StatusNotFound},
		errIncorrectInstanceStatus:     {"IncorrectInstanceStatus", "The current status of the resource does not support this operation.", http.StatusForbidden},
		errOperationConflict:           {"OperationConflict", "Request was denied due to conflict with a previous request.", http.StatusConflict},
		errInstanceNotReady:            {"InstanceNotReady", "Temporarily unable to connect the specified instance,please try later.", http.StatusForbidden},
		errVncPasswordLength:           {"IncorrectVncPassword.Malformed", "The specified parameter VncPassword must be 6 characters, including uppercase characters, lowercase characters and numbers.", http.StatusBadRequest},
		errVncPasswordMalformed:        {"IncorrectVncPassword.Malformed", "The specified parameter VncPassword is not valid.", http.StatusBadRequest},
		errPasswordMalformed:           {"InvalidPassword.Malformed", `The specified parameter "%s" is not valid.`, http.StatusBadRequest},
		// The creation parameters' own codes: the RunInstances error table
		// of the ECS API reference (AlibabaCloudDocs, zh-CN), and for tags
		// the TagResources table.
		errInstanceNameMalformed: {"InvalidInstanceName.Malformed", "The specified parameter InstanceName is not valid.", http.StatusBadRequest},
		errDescriptionMalformed:  {"InvalidDescription.Malformed", "The specified parameter Description is not valid.", http.StatusBadRequest},
		errHostNameMalformed:     {"InvalidHostName.Malformed", "The specified parameter HostName is not valid.", http.StatusBadRequest},
		errTagKeyMalformed:       {"InvalidTagKey.Malformed", "The specified Tag.n.Key is not valid.", http.StatusBadRequest},
		errTagValueMalformed:     {"InvalidTagValue.Malformed", "The specified Tag.n.Value is not valid.", http.StatusBadRequest},
		errTagCount:              {"InvalidTagCount", "The specified tags are beyond the permitted range.", http.StatusBadRequest},
		errForbiddenRAM:          {"Forbidden.RAM", "User not authorized to operate on the specified resource, or this API doesn't support RAM.", http.StatusForbidden},
		errForbidden:             {"Forbidden", "User not authorized to operate on the specified resource.", http.StatusForbidden},
		errAccountArrearage:      {"Account.Arrearage", "Your account has an outstanding payment.", http.StatusBadRequest},
		errInstanceInArrears:     {"InstanceExpiredOrInArrears", "The specified operation is denied as your prepay instance is expired (prepay mode) or in arrears (afterpay mode).", http.StatusForbidden},

		errEHPCInvalidParams:        {"InvalidParams", "The specified parameter %s is invalid.", http.StatusBadRequest},
		errEHPCNotEnabled:           {"NotEnabled", "You have not enabled this service", http.StatusBadRequest},
		errEHPCInDebt:               {"InDebt", "Your account has overdue payments.", http.StatusBadRequest},
		errEHPCInvalidClusterStatus: {"InvalidClusterStatus", "The cluster status does not support the operation.", http.StatusForbidden},
		errEHPCConflictOpt:          {"ConflictOpt", "A conflicting operation is running. Please try again later.", http.StatusForbidden},
		errEHPCAgentError:           {"AgentError", "The agent request failed.", http.StatusForbidden},
		errEHPCIncorrectCredential:  {"IncorrectCredential", "The username or password is incorrect.", http.StatusForbidden},
		errEHPCExecFail:             {"ExecFail", "Failed to execute the command: %s.", http.StatusForbidden},
		errEHPCClusterNotFound:      {"ClusterNotFound", "The specified instance does not exist.", http.StatusNotFound},
		errEHPCAliyunError:          {"AliyunError", "Failed to request other cloud service APIs.", http.StatusNotAcceptable},
		errEHPCNotAuthorized:        {"NotAuthorized", "You are not authorized by RAM for this request.", http.StatusProxyAuthRequired},
		errEHPCPartFailure:          {"PartFailure", "Part of the batch operation failed.", http.StatusConflict},
		errEHPCUnknownError:         {"UnknownError", "An unknown error occurred.", http.StatusInternalServerError},
		errEHPCServiceUnavailable:   {"ServiceUnavailable", "The request has failed due to a temporary failure of the server", http.StatusServiceUnavailable},

		errRAMUserNotFound:            {"EntityNotExist.User", "The user does not exist.", http.StatusNotFound},
		errRAMUserExists:              {"EntityAlreadyExists.User", "The user does already EXIST.", http.StatusConflict},
		errRAMPolicyNotFound:          {"EntityNotExist.Policy", "The policy does not exist.", http.StatusNotFound},
		errRAMPolicyExists:            {"EntityAlreadyExists.Policy", "The policy does already EXIST.", http.StatusConflict},
		errRAMPolicyAttached:          {"EntityAlreadyExists.User.Policy", "The user has already been attached this policy.", http.StatusConflict},
		errRAMPolicyNotAttached:       {"EntityNotExist.User.Policy", "The indicate policy of the user does not exist.", http.StatusNotFound},
		errRAMAccessKeyNotFound:       {"EntityNotExist.User.AccessKey", "The user access key does not exist.", http.StatusNotFound},
		errRAMDeleteUserAccessKey:     {"DeleteConflict.User.AccessKey", "The user CAN NOT has any access key while deleting the user.", http.StatusConflict},
		errRAMDeleteUserPolicy:        {"DeleteConflict.User.Policy", "The user CAN NOT has any attached policy while deleting the user.", http.StatusConflict},
		errRAMDeletePolicyUser:        {"DeleteConflict.Policy.User", "The policy CAN NOT been attached to any user while deleting the policy.", http.StatusConflict},
		errRAMAccessKeyLimit:          {"LimitExceeded.User.AccessKey", "The access key count of the user access keys beyond the current limits.", http.StatusConflict},
		errRAMMalformedPolicyDocument: {"MalformedPolicyDocument", "%s", http.StatusBadRequest},
		errRAMNoPermission:            {"NoPermission", "You are not authorized to do this action.", http.StatusForbidden},
		errRAMInactive:                {"Inactive", "Your ram service is inactive, please activate it.", http.StatusForbidden},
		errRAMPolicyType:              {"InvalidParameter.PolicyType", `The parameter - "PolicyType" is incorrect.`, http.StatusBadRequest},
		errRAMUserNameChars:           {"InvalidParameter.UserName.InvalidChars", `The parameter - "UserName" contains invalid chars.`, http.StatusBadRequest},
		errRAMUserNameLength:          {"InvalidParameter.UserName.Length", `The parameter - "UserName" beyond the length limit.`, http.StatusBadRequest},
		errRAMDisplayNameChars:        {"InvalidParameter.DisplayName.InvalidChars", `The parameter - "DisplayName" contains invalid chars.`, http.StatusBadRequest},
		errRAMDisplayNameLength:       {"InvalidParameter.DisplayName.Length", `The parameter - "DisplayName" beyond the length limit.`, http.StatusBadRequest},
		errRAMCommentsLength:          {"InvalidParameter.Comments.Length", `The parameter - "Comments" beyond the length limit.`, http.StatusBadRequest},
		errRAMMobilePhoneFormat:       {"InvalidParameter.MobilePhone.Format", `The format of the parameter - "MobilePhone" is incorrect.`, http.StatusBadRequest},
		errRAMEmailFormat:             {"InvalidParameter.Email.Format", `The format of the parameter - "Email" is incorrect.`, http.StatusBadRequest},
		errRAMPolicyNameChars:         {"InvalidParameter.PolicyName.InvalidChars", `The parameter - "PolicyName" contains invalid chars.`, http.StatusBadRequest},
		errRAMPolicyNameLength:        {"InvalidParameter.PolicyName.Length", `The parameter - "PolicyName" beyond the length limit.`, http.StatusBadRequest},
		errRAMPolicyDocumentLength:    {"InvalidParameter.PolicyDocument.Length", `The parameter - "PolicyDocument" beyond the length limit.`, http.StatusBadRequest},
		errRAMDescriptionLength:       {"InvalidParameter.Description.Length", `The parameter - "Description" beyond the length limit.`, http.StatusBadRequest},

		errSTSInternal: {"InternalError", "STS Server Internal Error happened, please send the RequestId to us.", http.StatusInternalServerError},
	}
}

// errorRowFor returns the row of code.
func errorRowFor(code errorCode) errorRow {
	t := errorTable()
	if code < 0 || code >= errorCodeCount {
		return t[errInternal]
	}
	return t[code]
}

// apiError is an error on its way to the client: a row, the parameter
// name for rows with %s, an optional suffix (the server's string to sign),
// and for Forbidden.RAM the denial. It never carries a secret.
type apiError struct {
	code   errorCode
	param  string
	suffix string
	denial *core.Denial
	cause  error // for logs only; never rendered
}

func (e *apiError) Error() string {
	row := errorRowFor(e.code)
	if e.cause != nil {
		return row.Code + ": " + e.cause.Error()
	}
	return row.Code
}

func (e *apiError) Unwrap() error { return e.cause }

// row returns the rendered code, message and status.
func (e *apiError) row() (code, message string, status int) {
	r := errorRowFor(e.code)
	msg := r.Message
	if strings.Contains(msg, "%s") {
		msg = fmt.Sprintf(msg, e.param)
	}
	return r.Code, msg + e.suffix, r.HTTPStatus
}

func newAPIError(code errorCode) *apiError { return &apiError{code: code} }

func missingParam(name string) *apiError {
	return &apiError{code: errMissingParameter, param: name}
}

func invalidParam(name string) *apiError {
	return &apiError{code: errInvalidParameter, param: name}
}

// stringToSignMarker is the text SDKv1 looks for in a SignatureDoesNotMatch
// or IncompleteSignature message: what follows it is compared with the
// client's own string to sign, to tell a wrong secret from an SDK bug.
const stringToSignMarker = " server string to sign is:"

// signatureError builds SignatureDoesNotMatch or IncompleteSignature,
// carrying the server's string to sign when it may be shown (see
// signedRequest.echo).
func signatureError(code errorCode, sr *signedRequest) *apiError {
	e := &apiError{code: code}
	if sr != nil && sr.echo {
		e.suffix = stringToSignMarker + sr.stringToSign
	}
	return e
}

// errorFor turns any error a handler or service returned into the row the
// product renders. Errors already rendered (*apiError) pass through; core
// errors go through the product's mapping; anything else is an internal
// error whose text stays in the logs.
func errorFor(p *product, err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	e := core.AsError(err)
	mapErr := ecsError
	if p != nil && p.mapError != nil {
		mapErr = p.mapError
	}
	out := mapErr(e)
	if _, _, status := out.row(); status >= http.StatusInternalServerError {
		out.cause = err
	}
	return out
}

// ecsError is ECS's mapping from core errors to rows: by Reason first
// (a reason is the more specific fact), then by Kind for errors without
// one. The completeness test walks every reason core defines.
func ecsError(e *core.Error) *apiError {
	switch e.Reason {
	case core.ReasonMissingParameter:
		return missingParam(fieldOr(e, "Parameter"))
	case core.ReasonInvalidParameter:
		if e.Field == "" {
			return newAPIError(errInvalidParameterBare)
		}
		if code, ok := ecsFieldCodes()[e.Field]; ok {
			return newAPIError(code)
		}
		return invalidParam(e.Field)
	case core.ReasonPasswordLength, core.ReasonPasswordCharset, core.ReasonPasswordPolicy:
		if e.Field == "VncPassword" {
			if e.Reason == core.ReasonPasswordLength {
				return newAPIError(errVncPasswordLength)
			}
			return newAPIError(errVncPasswordMalformed)
		}
		return &apiError{code: errPasswordMalformed, param: fieldOr(e, "Password")}
	case core.ReasonDryRun:
		return newAPIError(errDryRunOperation)
	case core.ReasonIdempotentMismatch:
		return newAPIError(errIdempotentParameterMismatch)
	case core.ReasonRegionNotFound:
		return newAPIError(errRegionNotFound)
	case core.ReasonZoneNotFound:
		return newAPIError(errZoneNotFound)
	case core.ReasonInstanceNotFound:
		return newAPIError(errInstanceNotFound)
	case core.ReasonResourceReleased:
		return newAPIError(errNoSuchResource)
	case core.ReasonAccessKeyNotFound:
		if e.Kind == core.KindForbidden {
			return newAPIError(errAccessKeyInactive)
		}
		return newAPIError(errAccessKeyNotFound)
	case core.ReasonIncorrectStatus:
		return newAPIError(errIncorrectInstanceStatus)
	case core.ReasonConflictingOp, core.ReasonAlreadyExists:
		return newAPIError(errOperationConflict)
	case core.ReasonRAMDenied:
		return &apiError{code: errForbiddenRAM, denial: e.Denial}
	case core.ReasonServiceNotEnabled, core.ReasonBadCredential:
		return newAPIError(errForbidden)
	case core.ReasonInDebt:
		return newAPIError(errAccountArrearage)
	case core.ReasonResourceInArrears:
		return newAPIError(errInstanceInArrears)
	case core.ReasonConsoleUnreachable, core.ReasonAgentTimeout, core.ReasonExecFailed, core.ReasonPartialFailure:
		// Every console backend failure is, to an ECS caller, a console
		// that cannot be reached right now.
		return newAPIError(errInstanceNotReady)
	case core.ReasonClusterNotFound, core.ReasonUserNotFound, core.ReasonPolicyNotFound:
		// Not ECS resources; an ECS call that meets one has a bug.
		return newAPIError(errInternal)
	}
	switch e.Kind {
	case core.KindInvalid:
		if e.Field != "" {
			return invalidParam(e.Field)
		}
		return newAPIError(errInvalidParameterBare)
	case core.KindNotFound:
		return newAPIError(errNoSuchResource)
	case core.KindConflict:
		return newAPIError(errIncorrectInstanceStatus)
	case core.KindForbidden:
		return newAPIError(errForbidden)
	case core.KindUnavailable:
		return newAPIError(errServiceUnavailable)
	}
	return newAPIError(errInternal)
}

// ecsFieldCodes are the parameters whose invalid value ECS reports with a
// code of their own rather than InvalidParameter (the fields
// core.CreateInstanceInput.ValidateText names).
func ecsFieldCodes() map[string]errorCode {
	return map[string]errorCode{
		"InstanceName": errInstanceNameMalformed,
		"Description":  errDescriptionMalformed,
		"HostName":     errHostNameMalformed,
		"Tag.N.Key":    errTagKeyMalformed,
		"Tag.N.Value":  errTagValueMalformed,
		"Tag":          errTagCount,
	}
}

func fieldOr(e *core.Error, def string) string {
	if e.Field != "" {
		return e.Field
	}
	return def
}

// accessDeniedDetail is the AccessDeniedDetail object of a Forbidden.RAM
// answer. Every field is a string: SDKv1 asserts the object's type.
type accessDeniedDetail struct {
	AuthAction               string `json:"AuthAction"`
	AuthPrincipalType        string `json:"AuthPrincipalType"`
	AuthPrincipalOwnerId     string `json:"AuthPrincipalOwnerId"`
	AuthPrincipalDisplayName string `json:"AuthPrincipalDisplayName"`
	NoPermissionType         string `json:"NoPermissionType"`
	PolicyType               string `json:"PolicyType"`
	EncodedDiagnosticMessage string `json:"EncodedDiagnosticMessage"`
}
