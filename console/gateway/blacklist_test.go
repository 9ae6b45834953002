package gateway_test

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/latchkeytest"
	"github.com/latchkey/latchkey/server"
)

// guarded is a whole latchkey whose clock the test moves, with one
// Running, I/O optimized instance whose console password is Bl1234.
type guarded struct {
	lk    *latchkeytest.Server
	id    core.InstanceID
	clock *testutil.OffsetClock
}

func startGuarded(t *testing.T) *guarded {
	t.Helper()
	g := &guarded{clock: &testutil.OffsetClock{}}
	lk := latchkeytest.Start(t,
		latchkeytest.WithFleet([]byte("accounts:\n  - id: root\n    ecs:\n      - {name: bl-1, region: cn-hangzhou, io_optimized: true, status: Running, vnc_password: Bl1234}\n")),
		latchkeytest.WithConfig(func(c *server.Config) { c.Clock = g.clock }))
	var out struct{ Resources []struct{ ID string } }
	if err := lk.Admin("GET", "resources?kind=ecs.instance&name=bl-1", nil, &out); err != nil || len(out.Resources) != 1 {
		t.Fatalf("the fleet's instance: %v, %v", out, err)
	}
	g.lk, g.id = lk, core.InstanceID(out.Resources[0].ID)
	return g
}

// url issues a console ticket and returns its URL.
func (g *guarded) url(t *testing.T) string {
	t.Helper()
	app := g.lk.App()
	tok, err := app.ECS.DescribeInstanceVncURL(context.Background(), app.RootCaller(), core.InstanceRef{RegionID: "cn-hangzhou", InstanceID: g.id})
	if err != nil {
		t.Fatal(err)
	}
	return app.ConsoleURL(tok.Token)
}

// login logs in with pw through the gateway on the console URL u.
func (g *guarded) login(t *testing.T, u, pw string) error {
	t.Helper()
	ctx := testutil.Context(t, 30*time.Second)
	conn, err := gateway.Dial(ctx, u, g.lk.HTTPClient())
	if err != nil {
		t.Fatalf("open the console WebSocket: %v", err)
	}
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, pw)
	if err == nil {
		c.Close()
	}
	return err
}

func wantTooMany(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, rfb.ErrRefused) || !strings.Contains(err.Error(), rfb.ReasonTooManyFailures) {
		t.Fatalf("%s: %v, want the console refused with %q", what, err, rfb.ReasonTooManyFailures)
	}
}

// fiveFailures fails to log in five times, each with a fresh URL.
func (g *guarded) fiveFailures(t *testing.T) {
	t.Helper()
	for i := range blacklist.DefaultThreshold {
		if err := g.login(t, g.url(t), "Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("wrong password %d: %v, want an authentication failure", i+1, err)
		}
	}
}

// TestGatewayBlacklist: after five failed logins the gateway refuses the
// address as Xvnc does, even with the right password, for 10 s, then for
// twice as long after a failed retry; a success forgets the failures. A
// refusal leaves the console ticket unused, and is counted and audited.
func TestGatewayBlacklist(t *testing.T) {
	g := startGuarded(t)
	g.fiveFailures(t)
	u := g.url(t)
	wantTooMany(t, "sixth attempt, right password", g.login(t, u, "Bl1234"))

	// The clock jumps well past each block's end, and stays clear of the
	// next, so that the real time the logins take does not matter.
	g.clock.Set(12 * time.Second) // the block is over; u's ticket still valid
	if err := g.login(t, u, "Bl1234"); err != nil {
		t.Fatalf("after the block, with the refused attempt's URL: %v", err)
	}

	g.fiveFailures(t)
	wantTooMany(t, "after five more failures", g.login(t, g.url(t), "Bl1234"))
	g.clock.Set(25 * time.Second) // past the second block (12 s + 10 s)
	if err := g.login(t, g.url(t), "Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("the retry after the block: %v, want it admitted and failed", err)
	}
	wantTooMany(t, "after the failed retry", g.login(t, g.url(t), "Bl1234"))
	g.clock.Set(35 * time.Second) // this block lasts 20 s
	wantTooMany(t, "10 s into a 20 s block", g.login(t, g.url(t), "Bl1234"))
	g.clock.Set(48 * time.Second)
	if err := g.login(t, g.url(t), "Bl1234"); err != nil {
		t.Fatalf("after the 20 s block: %v", err)
	}

	metrics := scrapeMetrics(t, g.lk)
	for _, want := range []string{
		`latchkey_vnc_blacklist_refused_total{surface="gateway"} 4`,
		`latchkey_vnc_blacklist_blocks_total{surface="gateway"} 3`,
	} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var audit struct {
		Events []struct {
			Product, Action, Result, Detail string
			SourceIP                        string `json:"source_ip"`
		}
	}
	if err := g.lk.Admin("GET", "audit?action="+blacklist.AuditAction, nil, &audit); err != nil {
		t.Fatal(err)
	}
	if len(audit.Events) != 4 {
		t.Fatalf("%d audit events of refused logins, want 4: %+v", len(audit.Events), audit.Events)
	}
	for _, ev := range audit.Events {
		if ev.Product != "latchkey" || ev.Result != blacklist.AuditResult || ev.SourceIP != "127.0.0.1" || !strings.Contains(ev.Detail, "blocked until") {
			t.Errorf("audit event %+v, want a refusal of 127.0.0.1", ev)
		}
	}
}

// scrapeMetrics returns the server's /metrics.
func scrapeMetrics(t *testing.T, lk *latchkeytest.Server) string {
	t.Helper()
	resp, err := lk.HTTPClient().Get("https://" + lk.HTTPSEndpoint() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b strings.Builder
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String()
}

// TestRelayClientsAreJudgedAtTheGateway: `latchkey console` (Relay) only
// relays; its VNC clients are counted at the gateway, by the relay's
// address, and refused there.
func TestRelayClientsAreJudgedAtTheGateway(t *testing.T) {
	g := startGuarded(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go gateway.Relay(ctx, ln, func(ctx context.Context) (net.Conn, error) {
		return gateway.Dial(ctx, g.url(t), g.lk.HTTPClient())
	})
	login := func(pw string) error {
		conn, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		c, err := rfb.Login(testutil.Context(t, 30*time.Second), conn, pw)
		if err == nil {
			c.Close()
		}
		return err
	}
	for i := range blacklist.DefaultThreshold {
		if err := login("Wrong1"); !errors.Is(err, rfb.ErrAuthFailed) {
			t.Fatalf("wrong password %d through the relay: %v", i+1, err)
		}
	}
	wantTooMany(t, "sixth attempt through the relay", login("Bl1234"))
}

// TestGatewayChecksOrigin: browsers may open consoles only from the
// server's own pages, on either listener and under the loopback names;
// clients that send no Origin are not browsers and pass. A refused
// Origin does not use up the ticket.
func TestGatewayChecksOrigin(t *testing.T) {
	g := startGuarded(t)
	_, httpsPort, _ := net.SplitHostPort(g.lk.HTTPSEndpoint())
	_, httpPort, _ := net.SplitHostPort(g.lk.HTTPEndpoint())
	dial := func(u, origin string) (int, error) {
		h := http.Header{}
		if origin != "" {
			h.Set("Origin", origin)
		}
		ws, resp, err := websocket.Dial(testutil.Context(t, 30*time.Second), u, &websocket.DialOptions{
			HTTPClient: g.lk.HTTPClient(), HTTPHeader: h, Subprotocols: []string{"binary"},
		})
		if err != nil {
			if resp == nil {
				return 0, err
			}
			return resp.StatusCode, err
		}
		ws.CloseNow()
		return resp.StatusCode, nil
	}
	for _, origin := range []string{
		"https://" + g.lk.HTTPSEndpoint(),
		"http://" + g.lk.HTTPEndpoint(),
		"https://localhost:" + httpsPort,
		"http://localhost:" + httpPort,
		"http://[::1]:" + httpPort,
		"",
	} {
		if code, err := dial(g.url(t), origin); err != nil {
			t.Errorf("Origin %q: %v (HTTP %d), want the console opened", origin, err, code)
		}
	}
	for _, origin := range []string{
		"https://evil.example",
		"http://" + g.lk.HTTPSEndpoint(), // right host, wrong scheme
		"https://127.0.0.1:1",
		"null",
	} {
		u := g.url(t)
		if code, _ := dial(u, origin); code != http.StatusForbidden {
			t.Errorf("Origin %q: HTTP %d, want 403", origin, code)
		}
		if err := g.login(t, u, "Bl1234"); err != nil {
			t.Errorf("the ticket refused for Origin %q no longer opens the console: %v", origin, err)
		}
	}
}
