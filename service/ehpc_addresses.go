package service

import (
	"context"
	"net/netip"
	"slices"

	"github.com/latchkey/latchkey/core"
)

// Login node addresses are unique across every cluster of the store.
// Each taken address is a document of its own (loginAddress), written
// and deleted by saveCluster and purgeCluster in the Update that saves
// or removes its cluster, so whether an address is taken is one key
// lookup; and the pool (loginPool) says where to look, so a creation
// reads a few documents whatever the size of the fleet.

// loginAddressKind is the store kind of loginAddress.
const loginAddressKind core.ResourceKind = "ehpc.login-address"

// loginAddress records that a login node of Cluster has Address.
type loginAddress struct {
	Address netip.Addr
	Cluster core.ClusterID
}

func (*loginAddress) Kind() core.ResourceKind { return loginAddressKind }
func (a *loginAddress) Key() string           { return a.Address.String() }
func (*loginAddress) Owner() core.AccountID   { return "" }
func (*loginAddress) Location() core.RegionID { return "" }

// loginPool is where free addresses of the login range Prefix are
// looked for: every address from High on has not been given out since
// the pool was made, and Free holds, lowest first, the addresses below
// High given back since. Every candidate is checked against its
// loginAddress before it is given out, so a pool that is wrong (an older
// store, a changed range, a reset) costs lookups, never a duplicate.
type loginPool struct {
	Prefix netip.Prefix
	High   netip.Addr   `json:",omitzero"`
	Free   []netip.Addr `json:",omitempty"`
}

func (*loginPool) Kind() core.ResourceKind { return ehpcIndexKind }
func (*loginPool) Key() string             { return "login-pool" }
func (*loginPool) Owner() core.AccountID   { return "" }
func (*loginPool) Location() core.RegionID { return "" }

// loginAddrs returns the addresses of cl's login nodes (none for nil).
func loginAddrs(cl *core.Cluster) []netip.Addr {
	if cl == nil {
		return nil
	}
	var out []netip.Addr
	for _, n := range cl.Nodes {
		if n.PublicIP.IsValid() {
			out = append(out, n.PublicIP)
		}
	}
	return out
}

// noteAddresses writes the address documents of next's login nodes that
// prev (the stored cluster, nil when new) did not have, deletes those of
// prev's that next (nil when gone) does not have and that still name
// prev, and gives those back to the pool.
func (s *EHPC) noteAddresses(ctx context.Context, tx core.Tx, prev, next *core.Cluster) error {
	had, has := loginAddrs(prev), loginAddrs(next)
	for _, a := range has {
		if !slices.Contains(had, a) {
			if err := core.Put(ctx, tx, &loginAddress{Address: a, Cluster: next.ID}); err != nil {
				return err
			}
		}
	}
	var freed []netip.Addr
	for _, a := range had {
		if slices.Contains(has, a) {
			continue
		}
		taken, err := core.Get[loginAddress](ctx, tx, a.String())
		if core.KindOf(err) == core.KindNotFound || err == nil && taken.Cluster != prev.ID {
			continue // another cluster's now
		}
		if err != nil {
			return err
		}
		if err := tx.DeleteDoc(ctx, loginAddressKind, a.String()); err != nil {
			return err
		}
		freed = append(freed, a)
	}
	if len(freed) == 0 {
		return nil
	}
	pool, err := s.loginPool(ctx, tx)
	if err != nil {
		return err
	}
	for _, a := range freed {
		pool.giveBack(a)
	}
	return core.Put(ctx, tx, pool)
}

// loginPool reads the pool of the configured range; a missing pool, or
// one of another range, starts again from the range's first address.
func (s *EHPC) loginPool(ctx context.Context, tx core.Tx) (*loginPool, error) {
	p := s.ecfg.LoginAddresses
	pool, err := core.Get[loginPool](ctx, tx, (*loginPool)(nil).Key())
	switch {
	case core.KindOf(err) == core.KindNotFound || err == nil && pool.Prefix != p:
		return &loginPool{Prefix: p, High: p.Addr().Next()}, nil
	case err != nil:
		return nil, err
	}
	return pool, nil
}

// giveBack adds a to Free, in order, when it is an address below High of
// the pool's range.
func (p *loginPool) giveBack(a netip.Addr) {
	if !p.Prefix.Contains(a) || a.Compare(p.High) >= 0 {
		return
	}
	if i, found := slices.BinarySearchFunc(p.Free, a, netip.Addr.Compare); !found {
		p.Free = slices.Insert(p.Free, i, a)
	}
}

// usable reports whether a may be a login address of the range: inside
// it, and not its last address (the broadcast).
func usable(p netip.Prefix, a netip.Addr) bool {
	return p.Contains(a) && p.Contains(a.Next())
}

// addressFree reports whether no live cluster has a. An address document
// whose cluster is gone, released or elsewhere is stale: the address is
// free, and the cluster that takes it overwrites the document (a
// released cluster's purge then leaves it alone, see noteAddresses).
func (s *EHPC) addressFree(ctx context.Context, tx core.Tx, a netip.Addr) (bool, error) {
	taken, err := core.Get[loginAddress](ctx, tx, a.String())
	if core.KindOf(err) == core.KindNotFound {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	cl, err := core.Get[core.Cluster](ctx, tx, string(taken.Cluster))
	switch {
	case core.KindOf(err) == core.KindNotFound:
		return true, nil
	case err != nil:
		return false, err
	}
	return cl.Released(tx.Now()) || !slices.Contains(loginAddrs(cl), a), nil
}

// purgeReleased removes the clusters whose release has ended
// (core.LabelReleased), giving their addresses back.
func (s *EHPC) purgeReleased(ctx context.Context, tx core.Tx) error {
	gone, err := core.List[core.Cluster](ctx, tx, core.Query{Labels: []core.LabelMatch{{Name: core.LabelReleased, Values: []string{"1"}}}})
	if err != nil {
		return err
	}
	for _, cl := range gone {
		if err := s.purgeCluster(ctx, tx, cl); err != nil {
			return err
		}
	}
	return nil
}

// freeLoginAddresses returns n addresses of the login range that no
// live cluster's login node uses, lowest first, and records them as
// given out in the pool (the caller saves the cluster that takes them).
// Released clusters are purged first: their addresses are free again.
// It reads the released clusters, the pool and one address document per
// candidate; only when the pool finds the range full does it look
// through the whole range once more, one lookup per address, for an
// address the pool lost.
func (s *EHPC) freeLoginAddresses(ctx context.Context, tx core.Tx, n int) ([]netip.Addr, error) {
	if err := s.purgeReleased(ctx, tx); err != nil {
		return nil, err
	}
	pool, err := s.loginPool(ctx, tx)
	if err != nil {
		return nil, err
	}
	var out []netip.Addr
	take := func(a netip.Addr) error {
		free, err := s.addressFree(ctx, tx, a)
		if free && !slices.Contains(out, a) {
			out = append(out, a)
		}
		return err
	}
	for len(out) < n && len(pool.Free) > 0 {
		a := pool.Free[0]
		pool.Free = pool.Free[1:]
		if err := take(a); err != nil {
			return nil, err
		}
	}
	rescanned := false
	for len(out) < n {
		if !usable(pool.Prefix, pool.High) {
			if rescanned {
				return nil, &core.Error{Kind: core.KindUnavailable, Reason: core.ReasonUpstreamFailed, Message: "no free login node address"}
			}
			pool.High, rescanned = pool.Prefix.Addr().Next(), true
			continue
		}
		a := pool.High
		pool.High = a.Next()
		if err := take(a); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out, core.Put(ctx, tx, pool)
}
