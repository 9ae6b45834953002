package pki

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestEnsureCreatesThenReuses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	m, err := Ensure(dir, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Created) != 4 {
		t.Fatalf("first Ensure created %v, want all four files", m.Created)
	}
	for name, want := range map[string]os.FileMode{CAFile: 0o644, CAKeyFile: 0o600, ServerFile: 0o600, ServerKeyFile: 0o600} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s mode = %v, want %v", name, got, want)
		}
	}
	leaf := m.Certificate.Leaf
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: m.Pool(), CurrentTime: now}); err != nil {
			t.Errorf("server certificate does not verify for %s: %v", host, err)
		}
	}

	again, err := Ensure(dir, now.Add(time.Hour), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Created) != 0 {
		t.Errorf("second Ensure created %v, want nothing", again.Created)
	}
	if !bytes.Equal(again.CAPEM, m.CAPEM) || !again.Certificate.Leaf.Equal(leaf) {
		t.Error("second Ensure did not reuse the CA and server certificate")
	}
}

func TestEnsureRenewsExpiredServerUnderSameCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m, err := Ensure(dir, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	later := m.Certificate.Leaf.NotAfter.Add(time.Minute)
	r, err := Ensure(dir, later, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Created, []string{ServerFile, ServerKeyFile}) {
		t.Fatalf("Ensure after expiry created %v, want only the server pair", r.Created)
	}
	if !bytes.Equal(r.CAPEM, m.CAPEM) {
		t.Error("the CA changed although it had not expired")
	}
	if _, err := r.Certificate.Leaf.Verify(x509.VerifyOptions{DNSName: "localhost", Roots: m.Pool(), CurrentTime: later}); err != nil {
		t.Errorf("renewed certificate does not verify against the old CA: %v", err)
	}
}

func TestEnsureReplacesExpiredCA(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	m, err := Ensure(dir, now, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Ensure(dir, m.CA.NotAfter, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Created) != 4 || bytes.Equal(r.CAPEM, m.CAPEM) {
		t.Fatalf("Ensure after CA expiry created %v, want a new CA and server pair", r.Created)
	}
}

func TestEnsureRefusesMismatchedKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := Ensure(dir, time.Now(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if _, err := Ensure(other, time.Now(), rand.Reader); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(other, CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, CAKeyFile), key, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Ensure(dir, time.Now(), rand.Reader); err == nil {
		t.Fatal("Ensure accepted a CA key that does not match the CA certificate")
	}
}

// TestServesTLS checks that a stock Go client that trusts only ca.pem
// reaches a server using the certificate, by IP and by name.
func TestServesTLS(t *testing.T) {
	m, err := Ensure(t.TempDir(), time.Now(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{m.Certificate}}
	srv.StartTLS()
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: m.Pool()}}}
	for _, host := range []string{"127.0.0.1", "localhost"} {
		resp, err := client.Get("https://" + net.JoinHostPort(host, port) + "/")
		if err != nil {
			t.Errorf("GET via %s: %v", host, err)
			continue
		}
		resp.Body.Close()
	}
}
