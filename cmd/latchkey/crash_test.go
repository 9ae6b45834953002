//go:build unix

package main

import (
	"bytes"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testutil"
	"github.com/latchkey/latchkey/server"
)

// Crash test sizes: each cycle runs crashWorkers concurrent clients, one
// per instance, each changing its instance's VNC password again and
// again, and kills latchkey once the cycle has crashAcks acknowledged
// changes or more.
const (
	crashCycles  = 12
	crashWorkers = 8
	crashAcks    = 40
)

// TestAcknowledgedPasswordChangesSurviveSIGKILL runs the real binary and
// kills it with SIGKILL, crashCycles times, while official-SDK clients
// change VNC passwords (ModifyInstanceVncPasswd on I/O optimized
// instances: live before the answer). After every restart on the same data
// directory each instance's console must open with the last password it
// was acknowledged, or with the one whose request was in flight at the
// kill (that one may have committed or not). Audit events are written
// after the change they record, in a batch of their own, so a crash may
// lose some: the test reports how many, and fails only on a lost change.
func TestAcknowledgedPasswordChangesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills the binary")
	}
	bin := buildLatchkey(t)
	dir := filepath.Join(t.TempDir(), "data")

	p := startBinary(t, bin, dir)
	ids := runCrashInstances(t, dir)
	state := make([]instanceState, len(ids))
	var acked []string // RequestIds of acknowledged changes
	total := 0
	for cycle := range crashCycles {
		if cycle > 0 {
			p = startBinary(t, bin, dir)
			p.checkLive(t, ids, state, cycle)
		}
		reqIDs := p.load(t, ids, state)
		acked = append(acked, reqIDs...)
		total += len(reqIDs)
	}
	p = startBinary(t, bin, dir)
	p.checkLive(t, ids, state, crashCycles)
	// A change's audit event commits with the change (core.AuditIntent):
	// no acknowledged change may lack it.
	if missing := p.missingAudit(t, acked); missing > 0 {
		t.Errorf("%d of %d acknowledged changes have no audit event after %d SIGKILL cycles", missing, total, crashCycles)
	}
	t.Logf("%d SIGKILL cycles, %d acknowledged changes, all live after restart and audited", crashCycles, total)
	if err := p.stop(); err != nil {
		t.Errorf("the last start did not stop cleanly: %v", err)
	}
}

// instanceState is what the clients know about one instance's password:
// the last one acknowledged, and the one of a request that got no answer.
type instanceState struct {
	acked, inFlight string
}

// process is one run of the binary.
type process struct {
	cmd    *exec.Cmd
	dir    string
	exited chan error
	stderr *testutil.Buffer
	eps    server.Endpoints
	admin  *http.Client
	token  string
}

func startBinary(t *testing.T, bin, dir string) *process {
	t.Helper()
	p := &process{dir: dir, exited: make(chan error, 1), stderr: new(testutil.Buffer)}
	p.cmd = exec.Command(bin, serveArgs(dir)...)
	p.cmd.Stdout, p.cmd.Stderr = io.Discard, p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.exited
		}
	})
	// A killed run leaves endpoints.json behind; waitReady polls until
	// the new run's listeners answer.
	p.eps = waitReady(t, dir, p.exited, p.stderr.String)
	ca, err := os.ReadFile(filepath.Join(dir, "tls", "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(ca)
	p.admin = noProxy(pool)
	tok, err := os.ReadFile(filepath.Join(dir, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	p.token = strings.TrimSpace(string(tok))
	return p
}

// kill ends the run with SIGKILL and waits for it.
func (p *process) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
}

// stop ends the run with SIGTERM and returns its exit status.
func (p *process) stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	return <-p.exited
}

// runCrashInstances creates crashWorkers I/O optimized instances with the
// official SDK.
func runCrashInstances(t *testing.T, dir string) []string {
	t.Helper()
	req := ecs.CreateRunInstancesRequest()
	req.RegionId = "cn-hangzhou"
	req.ImageId = "aliyun_3_x64_20G_alibase_20240819.vhd"
	req.InstanceType = "ecs.g7.large"
	req.IoOptimized = "optimized"
	req.Amount = requests.NewInteger(crashWorkers)
	resp, err := rootECS(t, dir).RunInstances(req)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if n := len(resp.InstanceIdSets.InstanceIdSet); n != crashWorkers {
		t.Fatalf("RunInstances created %d instances, want %d", n, crashWorkers)
	}
	return resp.InstanceIdSets.InstanceIdSet
}

// load runs one client per instance, each changing its instance's
// password until the run has at least crashAcks acknowledged changes,
// then kills the run, and returns the changes' RequestIds. Each client has at most one request in
// flight, so when load returns state says, per instance, which passwords
// the console may hold.
func (p *process) load(t *testing.T, ids []string, state []instanceState) []string {
	t.Helper()
	var (
		acks    atomic.Int64
		stop    atomic.Bool
		mu      sync.Mutex
		reqIDs  []string
		wg      sync.WaitGroup
		reached = make(chan struct{})
		once    sync.Once
	)
	for i, id := range ids {
		client := rootECS(t, p.dir)
		wg.Go(func() {
			for !stop.Load() {
				pw := vncPassword(t)
				state[i].inFlight = pw
				req := ecs.CreateModifyInstanceVncPasswdRequest()
				req.RegionId, req.InstanceId, req.VncPassword = "cn-hangzhou", id, pw
				resp, err := client.ModifyInstanceVncPasswd(req)
				if err != nil {
					if !stop.Load() {
						t.Errorf("ModifyInstanceVncPasswd before the kill: %s", strings.ReplaceAll(err.Error(), pw, "[redacted]"))
						once.Do(func() { close(reached) })
					}
					return // the answer never came: inFlight stays a candidate
				}
				state[i] = instanceState{acked: pw}
				mu.Lock()
				reqIDs = append(reqIDs, resp.RequestId)
				mu.Unlock()
				if acks.Add(1) >= crashAcks {
					once.Do(func() { close(reached) })
				}
			}
		})
	}
	<-reached
	// No client sends another request; the ones in flight meet the kill.
	stop.Store(true)
	p.kill(t)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return reqIDs
}

// checkLive asks latchkey, after a restart, whether each instance's
// console opens with the passwords the clients may have left on it (a
// real console login, through the internal API).
func (p *process) checkLive(t *testing.T, ids []string, state []instanceState, cycle int) {
	t.Helper()
	for i, id := range ids {
		s := state[i]
		if s.acked == "" && s.inFlight == "" {
			continue
		}
		switch {
		case s.acked != "" && p.checkPassword(t, id, s.acked):
			state[i] = instanceState{acked: s.acked}
		case s.inFlight != "" && p.checkPassword(t, id, s.inFlight):
			state[i] = instanceState{acked: s.inFlight} // it had committed
		default:
			t.Fatalf("restart %d: the console of %s opens neither with its last acknowledged password nor with the one in flight at the kill", cycle, id)
		}
	}
}

func (p *process) checkPassword(t *testing.T, id, pw string) bool {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"resource": id, "password": pw})
	var out struct{ Match bool }
	p.adminCall(t, "POST", "check-password", body, &out)
	return out.Match
}

// missingAudit counts the RequestIds that have no audit event.
func (p *process) missingAudit(t *testing.T, reqIDs []string) int {
	t.Helper()
	var out struct {
		Events []struct {
			RequestID string `json:"request_id"`
		}
	}
	p.adminCall(t, "GET", "audit?action=ModifyInstanceVncPasswd&limit=10000", nil, &out)
	if len(out.Events) == 10000 {
		t.Fatal("the audit log holds more events than one answer: make the test smaller")
	}
	seen := make(map[string]bool, len(out.Events))
	for _, ev := range out.Events {
		seen[ev.RequestID] = true
	}
	missing := 0
	for _, id := range reqIDs {
		if !seen[id] {
			missing++
		}
	}
	return missing
}

// adminCall calls the internal API and decodes its JSON answer into out.
func (p *process) adminCall(t *testing.T, method, path string, body []byte, out any) {
	t.Helper()
	req, err := http.NewRequest(method, "https://"+p.eps.HTTPS+"/_latchkey/"+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.admin.Do(req)
	if err != nil {
		t.Fatalf("%s /_latchkey/%s: %v", method, strings.SplitN(path, "?", 2)[0], err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s /_latchkey/%s: %s", method, strings.SplitN(path, "?", 2)[0], resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatal(err)
	}
}

// vncPassword returns a random password ECS accepts: 6 letters and digits.
func vncPassword(t *testing.T) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	for i := range b {
		n, err := rand.Int(rand.Reader, big.NewInt(int64(len(alphabet))))
		if err != nil {
			t.Error(err)
		}
		b[i] = alphabet[n.Int64()]
	}
	return string(b)
}
