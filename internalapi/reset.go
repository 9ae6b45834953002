package internalapi

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/metrics"
)

// DemoFleet returns the demo fleet of PRODUCT.md §7 as a fleet file: in
// cn-hangzhou three ECS instances (two I/O optimized, one not) and one
// E-HPC cluster with two login nodes and its visual service started; in
// bj two BCC instances; everything running. Its passwords are written in
// the file, so whoever resets to it knows them; the visual password obeys
// the E-HPC password policy in force (6 letters and digits under 2025,
// 8–30 characters under 2024).
func DemoFleet(p core.EHPCPasswordPolicy) []byte {
	visual := "Demo42"
	if p == core.EHPCPasswordPolicy2024 {
		visual = "Demo-Visual-42"
	}
	return []byte(strings.ReplaceAll(demoFleet, "{{visual}}", visual))
}

const demoFleet = `# The latchkey demo fleet (PRODUCT.md §7). Apply it with
#   latchkey fleet apply FILE
# or reset to it with
#   latchkey fleet reset --demo
accounts:
  - id: root
    ecs:
      - name: demo-web-1
        region: cn-hangzhou
        io_optimized: true
        vnc_password: Web123
      - name: demo-db-1
        region: cn-hangzhou
        io_optimized: true
        vnc_password: Db1234
      - name: demo-legacy-1
        region: cn-hangzhou
        io_optimized: false      # a new VNC password waits for a restart
        vnc_password: Old123
    ehpc:
      - name: demo-hpc
        region: cn-hangzhou
        login_nodes: 2           # two, so that a partial failure can show
        compute_nodes: 2
        root_password: Demo-Root-2024
        users:
          - name: alice01
            password: Alice-Pass-1
        visual:
          started: true
          password: {{visual}}
    bcc:
      - name: demo-bcc-1
        region: bj
        admin_password: Demo2020!
      - name: demo-bcc-2
        region: bj
        admin_password: Demo2020!
`

// demoFleet answers GET /_latchkey/fleet/demo with the demo fleet file.
func (a *api) demoFleet(w http.ResponseWriter, r *http.Request) {
	metrics.SetOutcome(r.Context(), "latchkey", "GetDemoFleet", "Success")
	w.Header().Set("Content-Type", "application/yaml")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(DemoFleet(a.d.EHPCPolicy))
}

type resetRequest struct {
	// Fleet is "empty" (the default) or "demo".
	Fleet string `json:"fleet"`
}

type resetBody struct {
	Fleet   string       `json:"fleet"`
	Removed int          `json:"removed"`
	Applied *ApplyResult `json:"applied,omitempty"`
}

// reset answers POST /_latchkey/reset: every resource, account, key, RAM
// user and policy, console ticket and fault rule goes, except the root
// account and its first access key (credentials.json), whose account
// state returns to the defaults. The audit log stays: it records the
// reset too. With {"fleet":"demo"} the demo fleet is applied after.
func (a *api) reset(w http.ResponseWriter, r *http.Request) {
	const action = "Reset"
	if a.d.Store == nil || a.d.Root.AccountID == "" {
		a.fail(w, r, action, unavailable("reset"))
		return
	}
	var req resetRequest
	if err := decode(r, &req); err != nil {
		a.fail(w, r, action, err)
		return
	}
	if req.Fleet == "" {
		req.Fleet = "empty"
	}
	if req.Fleet != "empty" && req.Fleet != "demo" {
		a.fail(w, r, action, &apiError{status: http.StatusBadRequest, code: "InvalidParameter", field: "fleet", msg: "fleet is empty or demo"})
		return
	}
	n, err := a.wipe(r.Context())
	if err != nil {
		a.audit(r.Context(), r, action, "latchkey", toAPIError(err).code, "")
		a.fail(w, r, action, err)
		return
	}
	body := resetBody{Fleet: req.Fleet, Removed: n}
	if req.Fleet == "demo" {
		f, err := ParseFleet(DemoFleet(a.d.EHPCPolicy))
		if err != nil {
			a.fail(w, r, action, err)
			return
		}
		// The demo shows what this server serves.
		for i := range f.Accounts {
			if a.d.EHPC == nil {
				f.Accounts[i].EHPC = nil
			}
			if a.d.BCC == nil {
				f.Accounts[i].BCC = nil
			}
		}
		res, err := a.apply(r.Context(), r, f)
		if err != nil {
			a.audit(r.Context(), r, action, "latchkey", toAPIError(err).code, "demo fleet failed")
			a.fail(w, r, action, err)
			return
		}
		body.Applied = &res
	}
	a.audit(r.Context(), r, action, "latchkey", "Success", fmt.Sprintf("to the %s fleet; %d documents removed", req.Fleet, n))
	a.ok(w, r, action, http.StatusOK, body)
}

// wipe stops every visual service, then deletes every document but the
// root account and its first key, in one transaction.
func (a *api) wipe(ctx context.Context) (int, error) {
	var clusters []*core.Cluster
	err := a.d.Store.View(ctx, func(tx core.Tx) (err error) {
		clusters, err = core.List[core.Cluster](ctx, tx, core.Query{})
		return err
	})
	if err != nil {
		return 0, err
	}
	for _, cl := range clusters {
		d := a.d.VisualDrivers[cl.Driver]
		if d == nil {
			continue
		}
		for li, i := range cl.LoginNodes() {
			n := cl.Nodes[i]
			node := core.VisualNode{ClusterID: cl.ID, NodeID: n.ID, HostName: n.HostName, Index: li, Address: n.PublicIP, Port: cl.Visual.Port, CIDR: cl.Visual.CIDR}
			if err := d.StopVisual(ctx, node); err != nil {
				a.d.Log.Warn("reset: a visual service did not stop", "cluster", cl.ID, "node", n.ID, "err", err)
			}
		}
	}
	removed := 0
	err = a.d.Store.Update(ctx, func(tx core.Tx) error {
		removed = 0
		docs, err := tx.ListDocs(ctx, core.Query{})
		if err != nil {
			return err
		}
		for _, d := range docs {
			switch {
			case d.Kind == core.AccountKind && d.Key == string(a.d.Root.AccountID):
				acct, err := core.Get[core.Account](ctx, tx, d.Key)
				if err != nil {
					return err
				}
				if acct.Disabled != nil || acct.InDebt {
					acct.Disabled, acct.InDebt = nil, false
					if err := core.Put(ctx, tx, acct); err != nil {
						return err
					}
				}
				continue
			case d.Kind == core.AccessKeyKind && d.Key == string(a.d.Root.AccessKeyID):
				continue
			}
			if err := tx.DeleteDoc(ctx, d.Kind, d.Key); err != nil {
				return err
			}
			removed++
		}
		return nil
	})
	return removed, err
}
