package service_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/console/sim"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil/rfbtest"
	"github.com/latchkey/latchkey/service"
)

// bccFixture is the BCC service over a fresh store, the sim driver and
// the console service, on a clock that moves only when told.
type bccFixture struct {
	stored
	bcc      *service.BCC
	consoles *service.Consoles
	caller   core.Caller
}

func newBCCFixture(t *testing.T, transition time.Duration) *bccFixture {
	t.Helper()
	f := &bccFixture{stored: newStored(t)}
	f.reopen(t, transition)
	f.cfg.Drivers = map[string]core.ConsoleDriver{"sim": sim.New()}
	f.bcc = service.NewBCC(f.cfg, core.BCCPasswordPolicy2020)
	f.consoles = service.NewConsoles(f.cfg, map[string]service.ConsoleSource{"bcc": f.bcc})
	f.caller = core.Caller{Principal: core.Principal{AccountID: "1234567890123456", AccessKeyID: "AKtest"}}
	return f
}

func (f *bccFixture) create(t *testing.T, pw string) core.BCCRef {
	t.Helper()
	ids, err := f.bcc.CreateInstance(context.Background(), f.caller, core.BCCCreateInput{
		RegionID: "bj", ImageID: "m-1", CPUCount: 1, MemoryGB: 1, AdminPassword: core.NewSecret(pw),
	})
	if err != nil {
		t.Fatal(err)
	}
	return core.BCCRef{RegionID: "bj", InstanceID: ids[0]}
}

// login opens the instance's console through a VNC ticket, as the gateway
// does, and logs in with pw.
func (f *bccFixture) login(t *testing.T, ref core.BCCRef, pw string) error {
	t.Helper()
	ctx := context.Background()
	tok, err := f.bcc.GetInstanceVNC(ctx, f.caller, ref)
	if err != nil {
		t.Fatalf("GetInstanceVNC: %v", err)
	}
	conn, err := f.consoles.Redeem(ctx, tok.Token)
	if err != nil {
		t.Fatalf("Redeem: %v", err)
	}
	return rfbtest.LoginConn(ctx, conn.(net.Conn), pw)
}

func TestBCCConsoleTakesAdminPassword(t *testing.T) {
	f := newBCCFixture(t, 0)
	ref := f.create(t, "Init1al!pw")
	if err := f.login(t, ref, "Init1al!pw"); err != nil {
		t.Fatalf("login with the creation password: %v", err)
	}
	if err := f.bcc.ChangeInstancePass(context.Background(), f.caller, ref, core.NewSecret("N3w!pass")); err != nil {
		t.Fatal(err)
	}
	if err := f.login(t, ref, "N3w!pass"); err != nil {
		t.Errorf("login with the new password: %v", err)
	}
	if err := f.login(t, ref, "Init1al!pw"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("login with the old password: %v, want auth failure", err)
	}
}

func TestBCCVNCTicket(t *testing.T) {
	f := newBCCFixture(t, 0)
	ctx := context.Background()
	ref := f.create(t, "Init1al!pw")
	tok, err := f.bcc.GetInstanceVNC(ctx, f.caller, ref)
	if err != nil {
		t.Fatal(err)
	}
	if tok.Product != "bcc" || tok.Target != string(ref.InstanceID) || !tok.ExpiresAt.Equal(f.clock.Now().Add(10*time.Minute)) {
		t.Errorf("ticket %+v", tok)
	}
	conn, err := f.consoles.Redeem(ctx, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if _, err := f.consoles.Redeem(ctx, tok.Token); core.KindOf(err) != core.KindNotFound {
		t.Errorf("second use: %v", err)
	}

	// Valid for 10 minutes, not a second longer.
	tok, _ = f.bcc.GetInstanceVNC(ctx, f.caller, ref)
	f.clock.Add(10 * time.Minute)
	if _, err := f.consoles.Redeem(ctx, tok.Token); core.KindOf(err) != core.KindNotFound {
		t.Errorf("after 10 minutes: %v", err)
	}
	tok, _ = f.bcc.GetInstanceVNC(ctx, f.caller, ref)
	f.clock.Add(10*time.Minute - time.Second)
	if conn, err := f.consoles.Redeem(ctx, tok.Token); err != nil {
		t.Errorf("just before 10 minutes: %v", err)
	} else {
		conn.Close()
	}

	// A ticket of a deleted instance opens nothing.
	tok, _ = f.bcc.GetInstanceVNC(ctx, f.caller, ref)
	if err := f.bcc.DeleteInstance(ctx, f.caller, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := f.consoles.Redeem(ctx, tok.Token); err == nil {
		t.Error("a ticket of a deleted instance opened a console")
	}
}

func TestBCCCheckAdminPassword(t *testing.T) {
	f := newBCCFixture(t, 0)
	ctx := context.Background()
	ref := f.create(t, "Init1al!pw")
	for _, tc := range []struct {
		account core.AccountID
		pw      string
		want    bool
	}{
		{f.caller.AccountID, "Init1al!pw", true},
		{"", "Init1al!pw", true},
		{f.caller.AccountID, "Init1al!pX", false},
		{f.caller.AccountID, "", false},
	} {
		got, err := f.bcc.CheckAdminPassword(ctx, tc.account, ref.InstanceID, core.NewSecret(tc.pw))
		if err != nil || got != tc.want {
			t.Errorf("CheckAdminPassword(account %q, %d chars) = %v, %v; want %v", tc.account, len(tc.pw), got, err, tc.want)
		}
	}
	if _, err := f.bcc.CheckAdminPassword(ctx, "6543210987654321", ref.InstanceID, core.NewSecret("Init1al!pw")); core.KindOf(err) != core.KindNotFound {
		t.Errorf("another account: %v", err)
	}
	if _, err := f.bcc.CheckAdminPassword(ctx, "", "i-missing0", core.NewSecret("x")); core.KindOf(err) != core.KindNotFound {
		t.Errorf("unknown instance: %v", err)
	}
	// No password set: nothing checks.
	bare := f.create(t, "")
	if ok, err := f.bcc.CheckAdminPassword(ctx, "", bare.InstanceID, core.NewSecret("Init1al!pw")); ok || err != nil {
		t.Errorf("instance without a password: %v, %v", ok, err)
	}
}

// TestBCCClientTokenLifetime: a client token is remembered for 24 hours
// after it was last seen; then the same token creates a new instance.
// (The end-to-end tests cannot move a server's clock by hours: the SDK
// dates its requests with the wall clock.)
func TestBCCClientTokenLifetime(t *testing.T) {
	f := newBCCFixture(t, 0)
	ctx := context.Background()
	create := func(cpus int) core.BCCInstanceID {
		t.Helper()
		ids, err := f.bcc.CreateInstance(ctx, f.caller, core.BCCCreateInput{
			RegionID: "bj", ImageID: "m-1", CPUCount: cpus, MemoryGB: 4, ClientToken: "token-1",
		})
		if err != nil {
			t.Fatal(err)
		}
		return ids[0]
	}
	first := create(2)
	f.clock.Add(23 * time.Hour)
	if again := create(2); again != first {
		t.Errorf("retry after 23h created %s, want %s", again, first)
	}
	f.clock.Add(23 * time.Hour)
	if again := create(2); again != first {
		t.Errorf("retry 23h after the last one created %s, want %s", again, first)
	}
	f.clock.Add(25 * time.Hour)
	if fresh := create(4); fresh == first {
		t.Error("the token was still remembered 25h after it was last seen")
	}
}

// TestBCCListFiltersAndMarker checks ListInstances' filters, those the
// labels decide and those checked on the instances (tags), with paging
// by Marker: pages in turn give the whole filtered listing once, in
// creation order, and a marker outside the listing is refused.
func TestBCCListFiltersAndMarker(t *testing.T) {
	f := newBCCFixture(t, 0)
	ctx := context.Background()
	var ids []core.BCCInstanceID
	for i := range 9 {
		in := core.BCCCreateInput{RegionID: "bj", ImageID: "m-1", CPUCount: 1, MemoryGB: 1, Name: fmt.Sprintf("node-%d", i)}
		if i%3 == 0 {
			in.Name = fmt.Sprintf("db-%d", i)
			in.Tags = []core.BCCTag{{Key: "role", Value: "db"}}
		}
		got, err := f.bcc.CreateInstance(ctx, f.caller, in)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, got[0])
	}
	list := func(in core.BCCListInput) (all []core.BCCInstanceID) {
		t.Helper()
		in.RegionID = "bj"
		for n := 0; n < 20; n++ {
			page, err := f.bcc.ListInstances(ctx, f.caller, in)
			if err != nil {
				t.Fatalf("ListInstances(%+v): %v", in, err)
			}
			for _, inst := range page.Instances {
				all = append(all, inst.ID)
			}
			if !page.IsTruncated {
				return all
			}
			in.Marker = page.NextMarker
		}
		t.Fatalf("paging %+v does not end", in)
		return nil
	}
	pick := func(idx ...int) (out []core.BCCInstanceID) {
		for _, i := range idx {
			out = append(out, ids[i])
		}
		return out
	}
	for _, tc := range []struct {
		in   core.BCCListInput
		want []core.BCCInstanceID
	}{
		{core.BCCListInput{MaxKeys: 2}, ids},
		{core.BCCListInput{MaxKeys: 2, FuzzyName: "ode-"}, pick(1, 2, 4, 5, 7, 8)},
		{core.BCCListInput{MaxKeys: 1, Names: []string{"db-3", "node-4", "nobody"}}, pick(3, 4)},
		{core.BCCListInput{MaxKeys: 1, Tags: []string{"role:db"}}, pick(0, 3, 6)},
		{core.BCCListInput{MaxKeys: 2, Tags: []string{"role"}, Status: core.StatusRunning}, pick(0, 3, 6)},
		{core.BCCListInput{MaxKeys: 2, InstanceIDs: pick(8, 1, 3), FuzzyName: "node"}, pick(1, 8)},
	} {
		if got := list(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ListInstances(%+v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	for _, in := range []core.BCCListInput{
		{RegionID: "bj", Marker: ids[1], Tags: []string{"role"}},
		{RegionID: "bj", Marker: ids[1], InstanceIDs: pick(2, 3)},
		{RegionID: "bj", Marker: "i-nothere"},
	} {
		if _, err := f.bcc.ListInstances(ctx, f.caller, in); core.KindOf(err) != core.KindInvalid {
			t.Errorf("ListInstances(%+v): err = %v, want the marker refused", in, err)
		}
	}
}
