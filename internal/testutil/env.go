package testutil

import (
	"context"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Context returns a context that ends after d, or when the test and its
// cleanups are over, whichever comes first. d is a hang guard: it turns a
// stuck peer into a failing call instead of a hung test, and no assertion
// may depend on it. Unlike t.Context, it is still live while cleanups run.
func Context(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// FreePort returns a loopback TCP port that was free a moment ago. Nothing
// holds it: another listener may take it before the caller binds it.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// LoopbackPrefix returns a random /24 from 127.32.0.0 to 127.231.255.0,
// for the addresses a test's E-HPC login nodes listen on: a range of its
// own, so that parallel tests seldom share one, and outside the
// 127.31.0.0/16 of a latchkey serve running beside the tests.
func LoopbackPrefix() netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{127, byte(32 + rand.IntN(200)), byte(rand.IntN(256)), 0}), 24)
}

// Missing ends a test that cannot run because something it needs is
// absent from this machine. It skips the test, unless the environment
// variable CI is set: then it fails it, so that CI cannot pass without
// running the real thing. why says what is missing and, where that
// helps, how to install it; it must not hold a secret.
func Missing(t testing.TB, why string) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s (required when CI is set)", why)
	}
	t.Skip(why)
}

// Program returns the path of the executable name found on PATH. When
// there is none it ends the test as Missing does; install says how to
// get the program (for example "apt-get install qemu-system-x86").
func Program(t testing.TB, name, install string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name+" is not installed ("+install+"): "+err.Error())
	}
	return path
}

// proxyVariables are the environment variables through which Go's
// net/http and the cloud SDKs pick a proxy.
var proxyVariables = []string{"HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy", "NO_PROXY", "no_proxy"}

// NoProxy empties, for the rest of the test, the proxy environment
// variables that are set, so that clients reach in-process servers
// directly: the SDKs do not exempt loopback addresses from a proxy. It
// empties them with t.Setenv, which a parallel test cannot call, so a
// parallel test may call NoProxy only where no proxy variable is set.
func NoProxy(t testing.TB) {
	t.Helper()
	for _, v := range proxyVariables {
		if os.Getenv(v) != "" {
			t.Setenv(v, "")
		}
	}
}
