package sim_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
	"github.com/latchkey/latchkey/visual/sim"
)

// TestVisualServiceBlacklist: a login node's visual service in the whole
// server refuses an address after five failed logins, as Xvnc does, even
// with the right password; the refusal is audited as E-HPC's.
func TestVisualServiceBlacklist(t *testing.T) {
	lk := latchkeytest.Start(t, latchkeytest.WithFleet([]byte(`
accounts:
  - id: root
    ehpc:
      - name: bl-hpc
        region: cn-hangzhou
        root_password: Root#Pass1
        visual: {started: true, password: Vis123}
`)))
	var out struct{ Resources []struct{ ID string } }
	if err := lk.Admin("GET", "resources?kind="+string(core.ClusterKind)+"&name=bl-hpc", nil, &out); err != nil || len(out.Resources) != 1 {
		t.Fatalf("the fleet's cluster: %v, %v", out, err)
	}
	ctx := testutil.Context(t, time.Minute)
	app := lk.App()
	var cl *core.Cluster
	err := app.Store.View(ctx, func(tx core.Tx) (err error) {
		cl, err = core.Get[core.Cluster](ctx, tx, out.Resources[0].ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	node := cl.Nodes[cl.LoginNodes()[0]].ID
	addr, ok := app.VisualDrivers[server.VisualDriverSim].(*sim.Driver).Listening(node)
	if !ok {
		t.Fatal("the login node's visual service does not listen")
	}
	login := func(pw string) error {
		conn, err := net.Dial("tcp", addr.String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c, err := rfb.Login(ctx, conn, pw)
		if err == nil {
			c.Close()
		}
		return err
	}
	if err := login("Vis123"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	for i := range blacklist.DefaultThreshold {
		if err := login("Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("wrong password %d: %v", i+1, err)
		}
	}
	err = login("Vis123")
	if !errors.Is(err, rfb.ErrRefused) || !strings.Contains(err.Error(), rfb.ReasonTooManyFailures) {
		t.Fatalf("sixth attempt: %v, want %q", err, rfb.ReasonTooManyFailures)
	}

	var audit struct {
		Events []struct{ Product, Resource, Result string }
	}
	if err := lk.Admin("GET", "audit?action="+blacklist.AuditAction, nil, &audit); err != nil {
		t.Fatal(err)
	}
	want := string(cl.ID) + "/" + string(node)
	if len(audit.Events) != 1 || audit.Events[0].Product != "ehpc" || audit.Events[0].Resource != want || audit.Events[0].Result != blacklist.AuditResult {
		t.Fatalf("audit events %+v, want one refusal on %s", audit.Events, want)
	}
}
