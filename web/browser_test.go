package web_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/latchkey/latchkey/internal/testenv"
	"github.com/latchkey/latchkey/internal/testutil"
)

// chromiumPath returns the Chromium to drive. Without one the test is
// skipped, unless CI is set: CI installs Debian's chromium (.ci/run), so
// there a missing browser is a failure (testutil.Missing).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testutil.Missing(t, "no chromium on PATH (apt-get install chromium); the browser test needs it")
	return ""
}

// serverSPKI returns the base64 SHA-256 of the public key of the
// certificate latchkey's HTTPS listener presents, as Chromium's
// --ignore-certificate-errors-spki-list takes it. The listener is dialed
// trusting latchkey's CA only, so the key pinned is the one that CA signed.
func serverSPKI(t *testing.T, env *testenv.Env) string {
	t.Helper()
	conn, err := tls.Dial("tcp", env.Endpoints.HTTPS, env.TLSConfig())
	if err != nil {
		t.Fatalf("TLS to latchkey: %v", err)
	}
	defer conn.Close()
	sum := sha256.Sum256(conn.ConnectionState().PeerCertificates[0].RawSubjectPublicKeyInfo)
	return base64.StdEncoding.EncodeToString(sum[:])
}

// newBrowser starts a headless Chromium that trusts latchkey's server
// certificate and returns the browser's root context. Chromium runs with a
// fresh profile in a temporary directory that chromedp creates; cancelling
// the context (the test's cleanup does) kills the browser, every child
// process still using that profile, and removes the directory. HOME and the
// XDG directories point into the test's temporary directory, because
// Chromium writes there even with its own profile directory.
//
// Messages chromedp logs pass through redact before they reach the test
// log.
func newBrowser(t *testing.T, ctx context.Context, spki string, redact func(string) string) context.Context {
	t.Helper()
	home := t.TempDir()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("ignore-certificate-errors-spki-list", spki),
		chromedp.WindowSize(1024, 768),
		chromedp.Env("HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "XDG_CACHE_HOME="+filepath.Join(home, ".cache")),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	logf := func(format string, args ...any) { t.Log(redact(fmt.Sprintf(format, args...))) }
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(logf))
	t.Cleanup(cancelBrowser)
	if err := chromedp.Do(browserCtx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return browserCtx
}

// pageLog collects what a page writes to its console and the exceptions it
// throws, for the failure report. The console page never logs a password.
type pageLog struct {
	mu    sync.Mutex
	lines []string
}

// listen collects the messages of ctx's tab until ctx ends.
func (l *pageLog) listen(ctx context.Context) {
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			l.mu.Lock()
			l.lines = append(l.lines, m.String())
			l.mu.Unlock()
		}
	}()
}

func (l *pageLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

// settledState waits until the page's #status reaches one of states and
// returns its data-state and text.
func settledState(states ...string) chromedp.Action[[2]string] {
	want := "['" + strings.Join(states, "','") + "']"
	expr := `(() => { const s = document.getElementById('status');
		return s && ` + want + `.includes(s.dataset.state) ? [s.dataset.state, s.textContent] : null; })()`
	return chromedp.Poll[[2]string](expr, chromedp.WithPollingTimeout(0))
}

// canvasNonBlank is true once noVNC's canvas in #screen has a size and
// holds at least two different pixel values.
const canvasNonBlank = `(() => {
	const c = document.querySelector('#screen canvas');
	if (!c || c.width === 0 || c.height === 0) return false;
	const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
	for (let i = 4; i < d.length; i += 4) {
		if (d[i] !== d[0] || d[i+1] !== d[1] || d[i+2] !== d[2]) return [c.width, c.height];
	}
	return false;
})()`

// randomVNCPassword returns a password ECS accepts: 6 letters and digits.
func randomVNCPassword(t *testing.T) string {
	t.Helper()
	const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	b[0], b[5] = 'a', '7' // a letter and a digit, whatever the draw
	return string(b)
}

// TestConsolePageInChromium is the user's path through a real browser:
// set an I/O optimized instance's VNC password with the official SDK, ask
// DescribeInstanceVncUrl for a URL, open latchkey's console page with that
// URL exactly as returned (as on Alibaba Cloud's page), type the password
// and see the console's screen. A fresh URL, pasted into the page's form,
// with a wrong password is refused, and a used URL does not open again.
//
// The page and the console WebSocket are both on latchkey's HTTPS
// listener, so the browser deals with one origin. Chromium is told to
// accept the listener's certificate by its public key
// (--ignore-certificate-errors-spki-list, honoured with a user data
// directory), which trusts that key only and not any certificate. Trusting
// latchkey's CA itself would take Chromium's NSS database (certutil, another
// package) or a machine-wide policy file, neither of which a test should
// touch.
//
// Nothing waits on time: every step waits on a DOM condition, bounded by
// one generous deadline for the whole test.
func TestConsolePageInChromium(t *testing.T) {
	chromiumPath(t) // skip early when there is none
	env := testenv.Start(t)
	client := env.ECS(t)

	run := ecs.CreateRunInstancesRequest()
	run.RegionId = testenv.Region
	run.ImageId = "aliyun_3_x64_20G_alibase_20240819.vhd"
	run.InstanceType = "ecs.g7.large"
	run.IoOptimized = "optimized"
	run.InstanceName = "browser-console"
	run.Amount = requests.NewInteger(1)
	runResp, err := client.RunInstances(run)
	if err != nil {
		t.Fatalf("RunInstances: %v", err)
	}
	if len(runResp.InstanceIdSets.InstanceIdSet) != 1 {
		t.Fatalf("RunInstances returned %d ids, want 1", len(runResp.InstanceIdSets.InstanceIdSet))
	}
	id := runResp.InstanceIdSets.InstanceIdSet[0]

	password := randomVNCPassword(t)
	wrong := randomVNCPassword(t)
	for wrong == password {
		wrong = randomVNCPassword(t)
	}
	redact := func(s string) string {
		return strings.NewReplacer(password, "[redacted]", wrong, "[redacted]").Replace(s)
	}
	mod := ecs.CreateModifyInstanceVncPasswdRequest()
	mod.RegionId, mod.InstanceId, mod.VncPassword = testenv.Region, id, password
	if _, err := client.ModifyInstanceVncPasswd(mod); err != nil {
		t.Fatalf("ModifyInstanceVncPasswd: %s", redact(err.Error()))
	}

	// vncURL asks for a fresh console URL and returns it as returned,
	// percent-encoded.
	vncURL := func() string {
		t.Helper()
		req := ecs.CreateDescribeInstanceVncUrlRequest()
		req.RegionId, req.InstanceId = testenv.Region, id
		resp, err := client.DescribeInstanceVncUrl(req)
		if err != nil {
			t.Fatalf("DescribeInstanceVncUrl: %v", err)
		}
		if !strings.HasPrefix(resp.VncUrl, "wss%3A%2F%2F") {
			t.Fatalf("VncUrl %q is not a percent-encoded wss:// URL", resp.VncUrl)
		}
		return resp.VncUrl
	}
	// pageURL is the console page's URL for a VncUrl, built as a user
	// builds Alibaba Cloud's: VncUrl is appended as returned.
	pageURL := func(vncURL string) string {
		return env.URL("/console/?vncUrl=" + vncURL + "&instanceId=" + url.QueryEscape(id) + "&isWindows=false")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	browser := newBrowser(t, ctx, serverSPKI(t, env), redact)

	// login opens the console page in a new tab with the open steps,
	// waits for the password prompt, types pw and returns the state the
	// page settles in. The tab stays open until the test ends.
	login := func(name string, open func(tab context.Context) error, pw string) (context.Context, [2]string) {
		t.Helper()
		tab, cancelTab := chromedp.NewContext(browser)
		t.Cleanup(cancelTab)
		var plog pageLog
		plog.listen(tab)
		t.Cleanup(func() {
			if t.Failed() {
				t.Logf("%s: page console:\n%s", name, redact(plog.String()))
			}
		})
		if err := open(tab); err != nil {
			t.Fatalf("%s: open the console page: %v", name, err)
		}
		prompt, err := chromedp.Run(tab, settledState("password", "failed"))
		if err != nil {
			t.Fatalf("%s: waiting for the password prompt: %v", name, err)
		}
		if prompt[0] != "password" {
			t.Fatalf("%s: the page did not ask for the password: status %q (%s)", name, prompt[0], prompt[1])
		}
		if err := chromedp.Do(tab,
			chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Click(chromedp.CSS("#password-submit")),
		); err != nil {
			t.Fatalf("%s: type the password: %s", name, redact(err.Error()))
		}
		final, err := chromedp.Run(tab, settledState("connected", "failed", "disconnected"))
		if err != nil {
			t.Fatalf("%s: waiting for the login's outcome: %v", name, err)
		}
		return tab, final
	}

	first := pageURL(vncURL())
	navigate := func(page string) func(context.Context) error {
		return func(tab context.Context) error { return chromedp.Do(tab, chromedp.Navigate(page)) }
	}
	tab, got := login("right password", navigate(first), password)
	if got[0] != "connected" {
		t.Fatalf("right password: status %q (%s), want connected", got[0], got[1])
	}
	size, err := chromedp.Run(tab, chromedp.Poll[[2]int](canvasNonBlank, chromedp.WithPollingTimeout(0), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		t.Fatalf("right password: waiting for the console's screen: %v", err)
	}
	if size[0] < 100 || size[1] < 100 {
		t.Errorf("right password: canvas is %dx%d, want the console's screen", size[0], size[1])
	}
	value, err := chromedp.Run(tab, chromedp.Value(chromedp.CSS("#password")))
	if err != nil {
		t.Fatalf("read the password field: %v", err)
	}
	if value != "" {
		t.Error("the password field still holds the password after login")
	}

	// This time the VncUrl is pasted into the page's form, as returned;
	// submitting the form loads the page again with it. The URL is asked
	// for once the form is there: its ticket expires 15 seconds later.
	paste := func(tab context.Context) error {
		if err := chromedp.Do(tab, chromedp.Navigate(env.URL("/console/"))); err != nil {
			return err
		}
		// The page's script fills and then shows the form; typing before
		// it has run would be overwritten.
		if err := chromedp.Do(tab, chromedp.WaitVisible(chromedp.CSS("#open-form"))); err != nil {
			return err
		}
		if err := chromedp.Do(tab, chromedp.SetValue(chromedp.CSS("#open-url"), vncURL())); err != nil {
			return err
		}
		// Enter in the form's last field submits it, as a user would.
		// (A synthesized mouse click lands by coordinates and was seen to
		// miss the button while the page was still laying out.)
		_, err := chromedp.RunResponse(tab, chromedp.SendKeys(chromedp.CSS("#open-instance"), id+kb.Enter))
		return err
	}
	if _, got := login("wrong password", paste, wrong); got[0] != "failed" || !strings.Contains(got[1], "Authentication failure") {
		t.Errorf("wrong password: status %q (%s), want failed with the console's reason", got[0], got[1])
	}

	// The first URL's ticket was redeemed: the page must say so, not ask
	// for a password.
	used, cancelUsed := chromedp.NewContext(browser)
	defer cancelUsed()
	if err := navigate(first)(used); err != nil {
		t.Fatalf("used URL: open the console page: %v", err)
	}
	final, err := chromedp.Run(used, settledState("password", "connected", "failed"))
	if err != nil {
		t.Fatalf("used URL: %v", err)
	}
	if final[0] != "failed" {
		t.Errorf("used URL: status %q (%s), want failed", final[0], final[1])
	}
}
