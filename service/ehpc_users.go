package service

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/latchkey/latchkey/core"
)

// Cluster users (PRODUCT.md §3 "Around it"): root comes from
// CreateCluster's Password, the others from AddUsers. Passwords are
// argon2id hashes; the plaintext never reaches the store.

// validClusterUserName applies AddUsers' rule for User.N.Name: 6–30
// characters, letters, digits and periods, starting with a letter.
func validClusterUserName(name string) bool {
	if len(name) < 6 || len(name) > 30 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if i == 0 && !letter {
			return false
		}
		if !letter && !(c >= '0' && c <= '9') && c != '.' {
			return false
		}
	}
	return true
}

// groupIDs are the GIDs of the two groups E-HPC users join.
func groupID(group string) (int, bool) {
	switch group {
	case "users":
		return 100, true
	case "wheel":
		return 10, true
	}
	return 0, false
}

// updateRunning runs fn on the caller's running cluster inside one
// transaction, refusing while another operation holds the cluster. User
// changes are store-only in the simulated fleet, so they need no lock of
// their own, only to respect one.
func (s *EHPC) updateRunning(ctx context.Context, c core.Caller, ref core.ClusterRef, fn func(tx core.Tx, cl *core.Cluster) error) error {
	return s.cfg.Store.Update(ctx, func(tx core.Tx) error {
		cl, err := s.load(ctx, tx, c, ref)
		if err != nil {
			return err
		}
		if err := requireRunning(tx, cl); err != nil {
			return err
		}
		if cl.Busy(tx.Now()) {
			return conflictingOperation()
		}
		if err := fn(tx, cl); err != nil {
			return err
		}
		return s.saveCluster(ctx, tx, cl)
	})
}

// prepareUsers authorizes action, one of the calls that change a
// cluster's users, and checks what each of them needs: a ClusterId, and
// at least one user (n is how many the call names).
func (s *EHPC) prepareUsers(ctx context.Context, c core.Caller, action string, ref core.ClusterRef, n int) error {
	if err := s.prepare(ctx, c, action, ref.RegionID); err != nil {
		return err
	}
	if ref.ClusterID == "" {
		return invalidParam("ClusterId")
	}
	if n == 0 {
		return invalidParam("User")
	}
	return nil
}

// AddUsers implements core.EHPC. Every user is checked before any is
// added: one bad entry adds none.
func (s *EHPC) AddUsers(ctx context.Context, c core.Caller, ref core.ClusterRef, users []core.NewClusterUser) error {
	if err := s.prepareUsers(ctx, c, "AddUsers", ref, len(users)); err != nil {
		return err
	}
	hashes := make([]core.PasswordHash, len(users))
	for i, u := range users {
		field := fmt.Sprintf("User.%d.", i+1)
		if !validClusterUserName(u.Name) {
			return invalidParam(field + "Name")
		}
		if u.Group == "" {
			users[i].Group = "users"
		} else if _, ok := groupID(u.Group); !ok {
			return invalidParam(field + "Group")
		}
		if slices.IndexFunc(users[:i], func(p core.NewClusterUser) bool { return p.Name == u.Name }) >= 0 {
			return invalidParam(field + "Name")
		}
		if err := core.ValidateClusterUserPassword(u.Password, field+"Password"); err != nil {
			return err
		}
	}
	for i, u := range users {
		h, err := s.cfg.Hasher.Hash(u.Password)
		if err != nil {
			return err
		}
		hashes[i] = h
	}
	return s.updateRunning(ctx, c, ref, func(tx core.Tx, cl *core.Cluster) error {
		next := 1000
		for _, u := range cl.Users {
			next = max(next, u.UID+1)
		}
		for i, u := range users {
			if cl.User(u.Name) != nil {
				return invalidParam(fmt.Sprintf("User.%d.Name", i+1))
			}
			gid, _ := groupID(u.Group)
			cl.Users = append(cl.Users, core.ClusterUser{Name: u.Name, Group: u.Group, UID: next, GID: gid, AddedAt: tx.Now(), Password: hashes[i]})
			next++
		}
		return nil
	})
}

// ListUsers implements core.EHPC. root is not listed: it is the
// cluster's administrator, not one of the users AddUsers manages.
func (s *EHPC) ListUsers(ctx context.Context, c core.Caller, ref core.ClusterRef, page core.Page) (*core.UserPage, error) {
	if err := s.prepare(ctx, c, "ListUsers", ref.RegionID); err != nil {
		return nil, err
	}
	number, size, err := pageOf(page)
	if err != nil {
		return nil, err
	}
	cl, err := s.view(ctx, c, ref)
	if err != nil {
		return nil, err
	}
	var users []core.ClusterUser
	for _, u := range cl.Users {
		if u.Name != core.RootUser {
			u.Password, u.Failures = "", nil
			users = append(users, u)
		}
	}
	lo, hi := pageBounds(len(users), number, size)
	return &core.UserPage{Users: users[lo:hi], TotalCount: len(users), PageNumber: number, PageSize: size}, nil
}

// ModifyUserPasswords implements core.EHPC. A new password also ends a
// RunasUserPassword lockout: whoever may set the password may use it.
func (s *EHPC) ModifyUserPasswords(ctx context.Context, c core.Caller, ref core.ClusterRef, users []core.UserPassword) error {
	if err := s.prepareUsers(ctx, c, "ModifyUserPasswords", ref, len(users)); err != nil {
		return err
	}
	for i, u := range users {
		field := fmt.Sprintf("User.%d.", i+1)
		if u.Name == "" {
			return invalidParam(field + "Name")
		}
		if err := core.ValidateClusterUserPassword(u.Password, field+"Password"); err != nil {
			return err
		}
	}
	hashes := make([]core.PasswordHash, len(users))
	for i, u := range users {
		h, err := s.cfg.Hasher.Hash(u.Password)
		if err != nil {
			return err
		}
		hashes[i] = h
	}
	return s.updateRunning(ctx, c, ref, func(tx core.Tx, cl *core.Cluster) error {
		for i, u := range users {
			cu := cl.User(u.Name)
			if cu == nil {
				return invalidParam(fmt.Sprintf("User.%d.Name", i+1))
			}
			cu.Password, cu.Failures, cu.LockedUntil = hashes[i], nil, time.Time{}
		}
		return nil
	})
}

// DeleteUsers implements core.EHPC. root cannot be deleted.
func (s *EHPC) DeleteUsers(ctx context.Context, c core.Caller, ref core.ClusterRef, names []string) error {
	if err := s.prepareUsers(ctx, c, "DeleteUsers", ref, len(names)); err != nil {
		return err
	}
	for i, n := range names {
		if n == "" || n == core.RootUser {
			return invalidParam(fmt.Sprintf("User.%d.Name", i+1))
		}
	}
	return s.updateRunning(ctx, c, ref, func(tx core.Tx, cl *core.Cluster) error {
		for i, n := range names {
			if cl.User(n) == nil {
				return invalidParam(fmt.Sprintf("User.%d.Name", i+1))
			}
			cl.Users = slices.DeleteFunc(cl.Users, func(u core.ClusterUser) bool { return u.Name == n })
		}
		return nil
	})
}
