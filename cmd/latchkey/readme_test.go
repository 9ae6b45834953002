package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/internal/testutil"
)

// demoRow is one instance of the banner's demo fleet table.
type demoRow struct {
	id, name, region string
	ioOptimized      bool
	password         string
}

// parseDemoFleet reads the demo fleet table from a first start's banner,
// as a user reads it.
func parseDemoFleet(t *testing.T, banner string) []demoRow {
	t.Helper()
	var rows []demoRow
	in := false
	sc := bufio.NewScanner(strings.NewReader(banner))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		switch {
		case len(f) > 1 && f[0] == "ECS" && f[1] == "InstanceId":
			in = true
		case in && len(f) == 5 && strings.HasPrefix(f[0], "i-") && f[2] == "cn-hangzhou":
			rows = append(rows, demoRow{id: f[0], name: f[1], region: f[2], ioOptimized: f[3] == "true", password: f[4]})
		case in:
			in = len(rows) == 0
		}
	}
	if len(rows) != 3 {
		t.Fatalf("the banner lists %d demo instances, want 3", len(rows))
	}
	return rows
}

// startConsole runs `latchkey console --data-dir dir --listen 127.0.0.1:0
// args…` and returns the address of its local VNC port and its output.
func startConsole(t *testing.T, dir string, args ...string) (string, *testutil.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out := new(testutil.Buffer)
	done := make(chan error, 1)
	argv := append([]string{"latchkey", "console", "--data-dir", dir, "--listen", "127.0.0.1:0"}, args...)
	go func() { done <- run(ctx, argv, func(string) string { return "" }, out, out) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("latchkey console: %v", err)
		}
	})
	for {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("latchkey console exited: %v\n%s", err, out)
		default:
		}
		// "Console bridge on 127.0.0.1:PORT: point a VNC client at it, …"
		if _, rest, ok := strings.Cut(out.String(), "Console bridge on "); ok {
			if addr, _, ok := strings.Cut(rest, ": "); ok {
				return addr, out
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// vncLogin logs in to the RFB server at addr (a console bridge or a
// visual service) with an RFB client and reports the login's error.
func vncLogin(t *testing.T, addr, password string) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, password)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Snapshot(ctx); err != nil {
		t.Fatalf("framebuffer update after login: %v", err)
	}
	return nil
}

// TestReadmeDemoFlow follows README.md as a new user: start the demo,
// change a demo instance's VNC password with the Alibaba Go SDK, and log
// in to its console through DescribeInstanceVncUrl with the new password,
// with an RFB client and with a real VNC client program; the old password
// is refused. On the instance that is not I/O optimized the old password
// stays live until a reboot.
func TestReadmeDemoFlow(t *testing.T) {
	testutil.NoProxy(t)
	dir := filepath.Join(t.TempDir(), "latchkey-data")
	r := serve(t, dir, "--demo")
	fleet := parseDemoFleet(t, r.stdout.String())
	client := rootECS(t, dir)

	var optimized, legacy demoRow
	for _, row := range fleet {
		if row.ioOptimized && optimized.id == "" {
			optimized = row
		}
		if !row.ioOptimized {
			legacy = row
		}
	}
	if optimized.id == "" || legacy.id == "" {
		t.Fatal("the demo fleet lacks an I/O optimized or a non-optimized instance")
	}

	// The demo passwords from the banner work as printed.
	for _, row := range fleet {
		addr, _ := startConsole(t, dir, "--instance", row.id)
		if err := vncLogin(t, addr, row.password); err != nil {
			t.Fatalf("%s: login with the banner's password: %v", row.name, err)
		}
	}

	modify := func(id, pw string) {
		t.Helper()
		req := ecs.CreateModifyInstanceVncPasswdRequest()
		req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, pw
		resp, err := client.ModifyInstanceVncPasswd(req)
		if err != nil {
			t.Fatalf("ModifyInstanceVncPasswd %s: %v", id, err)
		}
		if resp.RequestId == "" {
			t.Error("ModifyInstanceVncPasswd answered no RequestId")
		}
	}

	// I/O optimized: the new password is live before the response.
	const newPW = "Nw3Pas"
	modify(optimized.id, newPW)
	addr, _ := startConsole(t, dir, "--instance", optimized.id)
	if err := vncLogin(t, addr, newPW); err != nil {
		t.Fatalf("login with the new password: %v", err)
	}
	if err := vncLogin(t, addr, optimized.password); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("login with the old password: got %v, want an authentication failure", err)
	}

	// Not I/O optimized: the old password holds until the reboot.
	const legacyPW = "Lg4cy9"
	modify(legacy.id, legacyPW)
	laddr, _ := startConsole(t, dir, "--instance", legacy.id)
	if err := vncLogin(t, laddr, legacy.password); err != nil {
		t.Fatalf("non-optimized instance before reboot, old password: %v", err)
	}
	if err := vncLogin(t, laddr, legacyPW); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("non-optimized instance before reboot, new password: got %v, want an authentication failure", err)
	}
	reboot := ecs.CreateRebootInstanceRequest()
	reboot.RegionId, reboot.InstanceId = "cn-hangzhou", legacy.id
	if _, err := client.RebootInstance(reboot); err != nil {
		t.Fatalf("RebootInstance: %v", err)
	}
	if err := vncLogin(t, laddr, legacyPW); err != nil {
		t.Fatalf("non-optimized instance after reboot, new password: %v", err)
	}
	if err := vncLogin(t, laddr, legacy.password); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Fatalf("non-optimized instance after reboot, old password: got %v, want an authentication failure", err)
	}

	// A real VNC client program, as the README suggests.
	snapshot(t, addr, newPW, true)
	snapshot(t, addr, optimized.password, false)

	// The demo E-HPC cluster's visual service takes the printed password
	// on the printed address, and no other.
	var visualPW, visualAddr string
	sc := bufio.NewScanner(strings.NewReader(r.stdout.String()))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 4 && f[0] == "visual" && f[1] == "service" && f[2] == "password" {
			visualPW = f[3]
		}
		if len(f) == 2 && f[0] == "vncviewer" && strings.HasPrefix(f[1], "127.") {
			host, port, _ := strings.Cut(f[1], "::")
			visualAddr = net.JoinHostPort(host, port)
		}
	}
	if visualPW == "" || visualAddr == "" {
		t.Fatal("the banner does not show the demo cluster's visual service and password")
	}
	if err := vncLogin(t, visualAddr, visualPW); err != nil {
		t.Errorf("visual service with the banner's password: %v", err)
	}
	if err := vncLogin(t, visualAddr, "Wr0ngP"); !errors.Is(err, rfb.ErrAuthFailed) {
		t.Errorf("visual service with a wrong password: got %v, want an authentication failure", err)
	}
}

// snapshot runs vncsnapshot against a console bridge and checks whether it
// logged in. Outside CI a missing vncsnapshot skips the check.
func snapshot(t *testing.T, addr, password string, wantOK bool) {
	t.Helper()
	bin, err := exec.LookPath("vncsnapshot")
	if err != nil {
		if os.Getenv("CI") == "" {
			t.Log("vncsnapshot is not installed; skipping the external client check")
			return
		}
		t.Fatal("vncsnapshot is required in CI")
	}
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	if err := os.WriteFile(pwFile, rfb.PasswdFile(password), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "snap.jpg")
	_, port, _ := net.SplitHostPort(addr)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-quiet", "-allowblank", "-encodings", "raw", "-passwd", pwFile, "127.0.0.1::"+port, out)
	runErr := cmd.Run()
	fi, statErr := os.Stat(out)
	ok := runErr == nil && statErr == nil && fi.Size() > 0
	if ok != wantOK {
		t.Fatalf("vncsnapshot logged in = %v (err %v), want %v", ok, runErr, wantOK)
	}
}
