package service

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/policy"
)

// RAM limits (RAM error reference: LimitExceeded.*, InvalidParameter.*).
const (
	maxUserAccessKeys = 2
	maxPolicyDocument = 2048 // bytes
)

// RAM implements core.RAM over the store. Access keys are made and
// dropped through Identity, which also resolves them for signature checks.
type RAM struct {
	cfg      Config
	identity *Identity
}

var _ core.RAM = (*RAM)(nil)

// NewRAM returns the RAM service.
func NewRAM(cfg Config, identity *Identity) *RAM {
	cfg.fill()
	return &RAM{cfg: cfg, identity: identity}
}

func userARN(account core.AccountID, name string) string {
	return fmt.Sprintf("acs:ram:*:%s:user/%s", account, name)
}

func policyARN(account core.AccountID, name string) string {
	return fmt.Sprintf("acs:ram:*:%s:policy/%s", account, name)
}

// prepare authorizes "ram:"+op on resource, then checks that the account
// has RAM enabled (RAM's 403 Inactive otherwise). RAM is free, so debt
// does not stop it.
func (s *RAM) prepare(ctx context.Context, c core.Caller, op, resource string) error {
	if err := s.cfg.Authorizer.Authorize(ctx, c, "ram:"+op, resource); err != nil {
		return err
	}
	return s.cfg.Store.View(ctx, func(tx core.Tx) error {
		a, err := core.Get[core.Account](ctx, tx, string(c.AccountID))
		if core.KindOf(err) == core.KindNotFound {
			return nil
		}
		if err != nil {
			return err
		}
		if !a.Enabled(core.ServiceRAM) {
			return &core.Error{Kind: core.KindForbidden, Reason: core.ReasonServiceNotEnabled}
		}
		return nil
	})
}

// self resolves the user a call addresses: an empty UserName is the
// caller itself (the root for a root key).
func self(c core.Caller, name core.UserName) core.UserName {
	if name == "" {
		return c.User
	}
	return name
}

// Parameter checks, with RAM's codes (InvalidParameter.<Field>.<Problem>).

func missing(field string) error { return core.Invalid(core.ReasonMissingParameter, field) }

func tooLong(field string) error { return core.Invalid(core.ReasonTooLong, field) }

func invalidChars(field string) error { return core.Invalid(core.ReasonInvalidChars, field) }

func badFormat(field string) error { return core.Invalid(core.ReasonBadFormat, field) }

// checkName applies RAM's rule for user names (1–64 characters of letters,
// digits, '.', '@', '-', '_') or, with policy set, for policy names (1–128
// characters of letters, digits and '-').
func checkName(field, v string, isPolicy bool) error {
	limit, extra := 64, ".@-_"
	if isPolicy {
		limit, extra = 128, "-"
	}
	if v == "" {
		return missing(field)
	}
	if len(v) > limit {
		return tooLong(field)
	}
	for _, r := range v {
		if !(r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune(extra, r))) {
			return invalidChars(field)
		}
	}
	return nil
}

func checkUserInput(in core.CreateRAMUserInput) error {
	if err := checkName("UserName", string(in.Name), false); err != nil {
		return err
	}
	if utf8.RuneCountInString(in.DisplayName) > 128 {
		return tooLong("DisplayName")
	}
	if strings.IndexFunc(in.DisplayName, unicode.IsControl) >= 0 {
		return invalidChars("DisplayName")
	}
	if utf8.RuneCountInString(in.Comments) > 128 {
		return tooLong("Comments")
	}
	if in.MobilePhone != "" {
		// International code, '-', number: 86-18600008888.
		code, number, ok := strings.Cut(in.MobilePhone, "-")
		if !ok || !digits(code, 1, 3) || !digits(number, 4, 15) {
			return badFormat("MobilePhone")
		}
	}
	if in.Email != "" {
		local, domain, ok := strings.Cut(in.Email, "@")
		if !ok || local == "" || !strings.Contains(domain, ".") || strings.ContainsAny(domain, "@ ") || strings.ContainsRune(local, ' ') {
			return badFormat("Email")
		}
	}
	return nil
}

func digits(s string, lo, hi int) bool {
	if len(s) < lo || len(s) > hi {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parsePolicyType(field string, t core.PolicyType, required bool) (core.PolicyType, error) {
	switch t {
	case core.PolicySystem, core.PolicyCustom:
		return t, nil
	case "":
		if required {
			return "", missing(field)
		}
		return "", nil
	}
	return "", invalidParam(field)
}

func userNotFound() error {
	return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonUserNotFound}
}
func policyNotFound() error {
	return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonPolicyNotFound}
}

// loadUser reads a RAM user of the account.
func loadUser(ctx context.Context, tx core.Tx, account core.AccountID, name core.UserName) (*core.RAMUser, error) {
	u, err := core.Get[core.RAMUser](ctx, tx, core.RAMUserKey(account, name))
	if core.KindOf(err) == core.KindNotFound {
		return nil, userNotFound()
	}
	return u, err
}

// CreateUser implements core.RAM.
func (s *RAM) CreateUser(ctx context.Context, c core.Caller, in core.CreateRAMUserInput) (*core.RAMUser, error) {
	if err := s.prepare(ctx, c, "CreateUser", userARN(c.AccountID, string(in.Name))); err != nil {
		return nil, err
	}
	if err := checkUserInput(in); err != nil {
		return nil, err
	}
	id, err := randomDigits(s.cfg.Rand, 16)
	if err != nil {
		return nil, err
	}
	var u *core.RAMUser
	err = s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		_, err := core.Get[core.RAMUser](ctx, tx, core.RAMUserKey(c.AccountID, in.Name))
		if err == nil {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonUserExists}
		}
		if core.KindOf(err) != core.KindNotFound {
			return err
		}
		now := tx.Now()
		u = &core.RAMUser{
			AccountID: c.AccountID, Name: in.Name, ID: id, DisplayName: in.DisplayName,
			MobilePhone: in.MobilePhone, Email: in.Email, Comments: in.Comments,
			CreatedAt: now, UpdatedAt: now,
		}
		return core.Put(ctx, tx, u)
	})
	if err != nil {
		return nil, err
	}
	return u, nil
}

// DeleteUser implements core.RAM.
func (s *RAM) DeleteUser(ctx context.Context, c core.Caller, name core.UserName) error {
	if err := s.prepare(ctx, c, "DeleteUser", userARN(c.AccountID, string(name))); err != nil {
		return err
	}
	if err := checkName("UserName", string(name), false); err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		u, err := loadUser(ctx, tx, c.AccountID, name)
		if err != nil {
			return err
		}
		keys, err := s.userKeys(ctx, tx, c.AccountID, name)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonUserHasKeys}
		}
		if len(u.Policies) > 0 {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonUserHasPolicies}
		}
		return core.Delete(ctx, tx, u)
	})
}

// maxItems applies RAM's MaxItems rule: 1–1000, default 100.
func maxItems(n int) (int, error) {
	if n == 0 {
		return 100, nil
	}
	if n < 1 || n > 1000 {
		return 0, invalidParam("MaxItems")
	}
	return n, nil
}

// ListUsers implements core.RAM. Users come in creation order; Marker is
// an opaque cursor (the position after the page's last user), so a page
// reads only its users, and a marker latchkey did not give is
// InvalidParameter.
func (s *RAM) ListUsers(ctx context.Context, c core.Caller, marker string, limit int) (*core.RAMUserPage, error) {
	if err := s.prepare(ctx, c, "ListUsers", userARN(c.AccountID, "*")); err != nil {
		return nil, err
	}
	limit, err := maxItems(limit)
	if err != nil {
		return nil, err
	}
	q := core.Query{Account: c.AccountID, Limit: limit + 1}
	if marker != "" {
		after, ok := decodeCursor(marker)
		if !ok {
			return nil, invalidParam("Marker")
		}
		q.AfterSeq = after
	}
	var list []core.Listed[core.RAMUser]
	err = s.cfg.Store.View(ctx, func(tx core.Tx) (err error) {
		list, err = core.ListSeq[core.RAMUser](ctx, tx, q)
		return err
	})
	if err != nil {
		return nil, err
	}
	page := &core.RAMUserPage{}
	for i, l := range list {
		if i == limit {
			page.IsTruncated, page.Marker = true, encodeCursor(list[i-1].Seq)
			break
		}
		page.Users = append(page.Users, l.V)
	}
	return page, nil
}

// userKeys lists the access keys of a RAM user (name not empty) or of the
// account root (name empty).
func (s *RAM) userKeys(ctx context.Context, tx core.Tx, account core.AccountID, name core.UserName) ([]*core.AccessKey, error) {
	all, err := core.List[core.AccessKey](ctx, tx, core.Query{Account: account})
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(all, func(k *core.AccessKey) bool { return k.User != name }), nil
}

// CreateAccessKey implements core.RAM. The secret is returned once, here,
// as RAM does; it is stored sealed.
func (s *RAM) CreateAccessKey(ctx context.Context, c core.Caller, name core.UserName) (*core.NewAccessKey, error) {
	name = self(c, name)
	if err := s.prepare(ctx, c, "CreateAccessKey", userARN(c.AccountID, string(name))); err != nil {
		return nil, err
	}
	var out *core.NewAccessKey
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		if name != "" {
			if err := checkName("UserName", string(name), false); err != nil {
				return err
			}
			if _, err := loadUser(ctx, tx, c.AccountID, name); err != nil {
				return err
			}
			keys, err := s.userKeys(ctx, tx, c.AccountID, name)
			if err != nil {
				return err
			}
			if len(keys) >= maxUserAccessKeys {
				return &core.Error{Kind: core.KindConflict, Reason: core.ReasonAccessKeyLimit}
			}
		}
		creds, err := s.identity.CreateAccessKey(ctx, tx, c.AccountID, name)
		if err != nil {
			return err
		}
		key, err := core.Get[core.AccessKey](ctx, tx, string(creds.AccessKeyID))
		if err != nil {
			return err
		}
		out = &core.NewAccessKey{Key: key, Secret: creds.Secret}
		return nil
	})
	return out, err
}

// DeleteAccessKey implements core.RAM. The key stops working on every
// replica once the deletion commits (Identity reads keys from the store).
func (s *RAM) DeleteAccessKey(ctx context.Context, c core.Caller, name core.UserName, id core.AccessKeyID) error {
	name = self(c, name)
	if err := s.prepare(ctx, c, "DeleteAccessKey", userARN(c.AccountID, string(name))); err != nil {
		return err
	}
	if id == "" {
		return missing("UserAccessKeyId")
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		if name != "" {
			if _, err := loadUser(ctx, tx, c.AccountID, name); err != nil {
				return err
			}
		}
		k, err := core.Get[core.AccessKey](ctx, tx, string(id))
		if core.KindOf(err) == core.KindNotFound || err == nil && (k.AccountID != c.AccountID || k.User != name) {
			return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonUserAccessKeyNotFound}
		}
		if err != nil {
			return err
		}
		return core.Delete(ctx, tx, k)
	})
}

// ListAccessKeys implements core.RAM; secrets are never listed.
func (s *RAM) ListAccessKeys(ctx context.Context, c core.Caller, name core.UserName) ([]*core.AccessKey, error) {
	name = self(c, name)
	if err := s.prepare(ctx, c, "ListAccessKeys", userARN(c.AccountID, string(name))); err != nil {
		return nil, err
	}
	var keys []*core.AccessKey
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		if name != "" {
			if _, err := loadUser(ctx, tx, c.AccountID, name); err != nil {
				return err
			}
		}
		var err error
		keys, err = s.userKeys(ctx, tx, c.AccountID, name)
		return err
	})
	for _, k := range keys {
		k.Secret = nil
	}
	return keys, err
}

// CreatePolicy implements core.RAM: the document must parse (package
// policy); a system policy's name cannot be taken.
func (s *RAM) CreatePolicy(ctx context.Context, c core.Caller, name, document, description string) (*core.RAMPolicy, error) {
	if err := s.prepare(ctx, c, "CreatePolicy", policyARN(c.AccountID, name)); err != nil {
		return nil, err
	}
	if err := checkName("PolicyName", name, true); err != nil {
		return nil, err
	}
	if document == "" {
		return nil, missing("PolicyDocument")
	}
	if len(document) > maxPolicyDocument {
		return nil, tooLong("PolicyDocument")
	}
	if len(description) > 1024 {
		return nil, tooLong("Description")
	}
	if _, err := policy.Parse([]byte(document)); err != nil {
		return nil, &core.Error{Kind: core.KindInvalid, Reason: core.ReasonMalformedPolicy, Field: "PolicyDocument", Message: malformedReason(err)}
	}
	if _, ok := policy.System(name); ok {
		return nil, &core.Error{Kind: core.KindConflict, Reason: core.ReasonPolicyExists}
	}
	var p *core.RAMPolicy
	err := s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		_, err := core.Get[core.RAMPolicy](ctx, tx, core.RAMPolicyKey(c.AccountID, name))
		if err == nil {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonPolicyExists}
		}
		if core.KindOf(err) != core.KindNotFound {
			return err
		}
		now := tx.Now()
		p = &core.RAMPolicy{
			AccountID: c.AccountID, Name: name, Type: core.PolicyCustom, Description: description,
			Document: document, DefaultVersion: "v1", CreatedAt: now, UpdatedAt: now,
		}
		return core.Put(ctx, tx, p)
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// malformedReason is the parser's explanation of a refused document, with
// the element it concerns: MalformedPolicyDocument's message.
func malformedReason(err error) string {
	if ve, ok := err.(*policy.ValidationError); ok {
		if ve.Element != "" {
			return ve.Element + ": " + ve.Reason
		}
		return ve.Reason
	}
	return "The policy document is not valid."
}

// DeletePolicy implements core.RAM.
func (s *RAM) DeletePolicy(ctx context.Context, c core.Caller, name string) error {
	if err := s.prepare(ctx, c, "DeletePolicy", policyARN(c.AccountID, name)); err != nil {
		return err
	}
	if err := checkName("PolicyName", name, true); err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		p, err := core.Get[core.RAMPolicy](ctx, tx, core.RAMPolicyKey(c.AccountID, name))
		if core.KindOf(err) == core.KindNotFound {
			return policyNotFound()
		}
		if err != nil {
			return err
		}
		n, err := attachments(ctx, tx, c.AccountID, core.PolicyCustom, name)
		if err != nil {
			return err
		}
		if n > 0 {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonPolicyInUse}
		}
		return core.Delete(ctx, tx, p)
	})
}

// attachments counts the account's users the policy is attached to.
func attachments(ctx context.Context, tx core.Tx, account core.AccountID, typ core.PolicyType, name string) (int, error) {
	users, err := core.List[core.RAMUser](ctx, tx, core.Query{Account: account})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, u := range users {
		if slices.ContainsFunc(u.Policies, func(a core.PolicyAttachment) bool { return a.Type == typ && a.Name == name }) {
			n++
		}
	}
	return n, nil
}

// systemPolicy returns a system policy as RAM shows it.
func systemPolicy(sp policy.SystemPolicy) *core.RAMPolicy {
	return &core.RAMPolicy{Name: sp.Name, Type: core.PolicySystem, Description: sp.Description, Document: sp.Document.Text(), DefaultVersion: "v1"}
}

// findPolicy reads a policy of the given type (empty: custom first, then
// system).
func findPolicy(ctx context.Context, tx core.Tx, account core.AccountID, typ core.PolicyType, name string) (*core.RAMPolicy, error) {
	if typ != core.PolicySystem {
		p, err := core.Get[core.RAMPolicy](ctx, tx, core.RAMPolicyKey(account, name))
		if err == nil || core.KindOf(err) != core.KindNotFound {
			return p, err
		}
	}
	if typ != core.PolicyCustom {
		for _, sp := range policy.SystemPolicies() {
			if sp.Name == name {
				return systemPolicy(sp), nil
			}
		}
	}
	return nil, policyNotFound()
}

// GetPolicy implements core.RAM.
func (s *RAM) GetPolicy(ctx context.Context, c core.Caller, typ core.PolicyType, name string) (*core.RAMPolicy, error) {
	if err := s.prepare(ctx, c, "GetPolicy", policyARN(c.AccountID, name)); err != nil {
		return nil, err
	}
	typ, err := parsePolicyType("PolicyType", typ, false)
	if err != nil {
		return nil, err
	}
	if err := checkName("PolicyName", name, true); err != nil {
		return nil, err
	}
	var p *core.RAMPolicy
	err = s.cfg.Store.View(ctx, func(tx core.Tx) error {
		if p, err = findPolicy(ctx, tx, c.AccountID, typ, name); err != nil {
			return err
		}
		p.AttachmentCount, err = attachments(ctx, tx, c.AccountID, p.Type, name)
		return err
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// ListPolicies implements core.RAM: system policies first, in their fixed
// order, then the account's custom ones. Marker is the position of the
// next policy.
func (s *RAM) ListPolicies(ctx context.Context, c core.Caller, typ core.PolicyType, marker string, limit int) (*core.RAMPolicyPage, error) {
	if err := s.prepare(ctx, c, "ListPolicies", policyARN(c.AccountID, "*")); err != nil {
		return nil, err
	}
	typ, err := parsePolicyType("PolicyType", typ, false)
	if err != nil {
		return nil, err
	}
	limit, err = maxItems(limit)
	if err != nil {
		return nil, err
	}
	start := 0
	if marker != "" {
		if start, err = strconv.Atoi(marker); err != nil || start < 0 {
			return nil, invalidParam("Marker")
		}
	}
	var all []*core.RAMPolicy
	err = s.cfg.Store.View(ctx, func(tx core.Tx) error {
		if typ != core.PolicyCustom {
			for _, sp := range policy.SystemPolicies() {
				all = append(all, systemPolicy(sp))
			}
		}
		if typ != core.PolicySystem {
			custom, err := core.List[core.RAMPolicy](ctx, tx, core.Query{Account: c.AccountID})
			if err != nil {
				return err
			}
			all = append(all, custom...)
		}
		users, err := core.List[core.RAMUser](ctx, tx, core.Query{Account: c.AccountID})
		if err != nil {
			return err
		}
		for _, p := range all {
			for _, u := range users {
				if slices.ContainsFunc(u.Policies, func(a core.PolicyAttachment) bool { return a.Type == p.Type && a.Name == p.Name }) {
					p.AttachmentCount++
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	start = min(start, len(all))
	end := min(start+limit, len(all))
	page := &core.RAMPolicyPage{Policies: all[start:end]}
	if end < len(all) {
		page.IsTruncated, page.Marker = true, strconv.Itoa(end)
	}
	return page, nil
}

// AttachPolicyToUser implements core.RAM.
func (s *RAM) AttachPolicyToUser(ctx context.Context, c core.Caller, typ core.PolicyType, name string, user core.UserName) error {
	return s.changeAttachments(ctx, c, "AttachPolicyToUser", typ, name, user, func(u *core.RAMUser, i int, a core.PolicyAttachment) error {
		if i >= 0 {
			return &core.Error{Kind: core.KindConflict, Reason: core.ReasonPolicyAttached}
		}
		u.Policies = append(u.Policies, a)
		return nil
	})
}

// DetachPolicyFromUser implements core.RAM.
func (s *RAM) DetachPolicyFromUser(ctx context.Context, c core.Caller, typ core.PolicyType, name string, user core.UserName) error {
	return s.changeAttachments(ctx, c, "DetachPolicyFromUser", typ, name, user, func(u *core.RAMUser, i int, _ core.PolicyAttachment) error {
		if i < 0 {
			return &core.Error{Kind: core.KindNotFound, Reason: core.ReasonPolicyNotAttached}
		}
		u.Policies = slices.Delete(u.Policies, i, i+1)
		return nil
	})
}

// changeAttachments is the shape of AttachPolicyToUser and
// DetachPolicyFromUser: it authorizes action on the user, checks the
// parameters, and, in one Update in which the user and the policy exist,
// runs change and stores the user. change gets the index of the user's
// attachment of the policy (-1 when there is none) and a new attachment
// of it made at the transaction's Now.
func (s *RAM) changeAttachments(ctx context.Context, c core.Caller, action string, typ core.PolicyType, name string, user core.UserName,
	change func(u *core.RAMUser, i int, a core.PolicyAttachment) error) error {
	if err := s.prepare(ctx, c, action, userARN(c.AccountID, string(user))); err != nil {
		return err
	}
	typ, err := parsePolicyType("PolicyType", typ, true)
	if err != nil {
		return err
	}
	if err := checkName("PolicyName", name, true); err != nil {
		return err
	}
	if err := checkName("UserName", string(user), false); err != nil {
		return err
	}
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		u, err := loadUser(ctx, tx, c.AccountID, user)
		if err != nil {
			return err
		}
		if _, err := findPolicy(ctx, tx, c.AccountID, typ, name); err != nil {
			return err
		}
		i := slices.IndexFunc(u.Policies, func(a core.PolicyAttachment) bool { return a.Type == typ && a.Name == name })
		if err := change(u, i, core.PolicyAttachment{Type: typ, Name: name, AttachedAt: tx.Now()}); err != nil {
			return err
		}
		return core.Put(ctx, tx, u)
	})
}

// ListPoliciesForUser implements core.RAM.
func (s *RAM) ListPoliciesForUser(ctx context.Context, c core.Caller, user core.UserName) ([]core.AttachedPolicy, error) {
	if err := s.prepare(ctx, c, "ListPoliciesForUser", userARN(c.AccountID, string(user))); err != nil {
		return nil, err
	}
	if err := checkName("UserName", string(user), false); err != nil {
		return nil, err
	}
	var out []core.AttachedPolicy
	err := s.cfg.Store.View(ctx, func(tx core.Tx) error {
		u, err := loadUser(ctx, tx, c.AccountID, user)
		if err != nil {
			return err
		}
		for _, a := range u.Policies {
			p, err := findPolicy(ctx, tx, c.AccountID, a.Type, a.Name)
			if core.KindOf(err) == core.KindNotFound {
				continue
			}
			if err != nil {
				return err
			}
			out = append(out, core.AttachedPolicy{Policy: p, AttachedAt: a.AttachedAt})
		}
		return nil
	})
	return out, err
}
