// Package pki keeps latchkey's local certificate authority and the server
// certificate it signs, in DATA_DIR/tls (PRODUCT.md §1).
//
// The first start creates a CA and a server certificate for 127.0.0.1, ::1
// and localhost; later starts reuse both. A CA that has expired (or will
// within a day) is replaced, and with it the server certificate; a server
// certificate that has expired, will expire within a day, no longer chains
// to the CA or lacks one of the local names is reissued under the existing
// CA, so clients that trust ca.pem keep working. ca.pem, which clients
// need, is written with mode 0644; every other file (the keys, and the
// server certificate, which only latchkey reads) with mode 0600, as the
// data directory is private (PRODUCT.md §6). Keys are ECDSA P-256.
package pki

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// File names inside the TLS directory.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	ServerFile    = "server.pem"
	ServerKeyFile = "server-key.pem"
)

// Validity periods. The CA outlives many server certificates; the server
// certificate stays within the 825 days that Apple's TLS clients accept.
const (
	caValidity     = 10 * 365 * 24 * time.Hour
	serverValidity = 825 * 24 * time.Hour
	renewMargin    = 24 * time.Hour
)

// serverIPs and serverNames are the subject alternative names of the
// server certificate.
var (
	serverIPs   = []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	serverNames = []string{"localhost"}
)

// Material is the loaded TLS material.
type Material struct {
	// CAFile is the path of the CA certificate clients should trust.
	CAFile string
	// CAPEM is the CA certificate in PEM form.
	CAPEM []byte
	// CA is the parsed CA certificate.
	CA *x509.Certificate
	// Certificate is the server certificate with its key, chain included.
	Certificate tls.Certificate
	// Created lists the files this call wrote (empty when all were reused).
	Created []string
}

// Pool returns a certificate pool holding only the CA.
func (m *Material) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(m.CA)
	return p
}

// Ensure loads the TLS material from dir, creating or renewing what is
// missing or expired at now. rnd is the source of key and serial
// randomness (crypto/rand.Reader in production). dir is created with mode
// 0700 if it does not exist.
func Ensure(dir string, now time.Time, rnd io.Reader) (*Material, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pki: %w", err)
	}
	m := &Material{CAFile: filepath.Join(dir, CAFile)}

	caCert, caKey, err := loadPair(filepath.Join(dir, CAFile), filepath.Join(dir, CAKeyFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	newCA := caCert == nil || !validAt(caCert, now)
	if newCA {
		caCert, caKey, err = createCA(now, rnd)
		if err != nil {
			return nil, err
		}
		if err := writePair(dir, CAFile, CAKeyFile, caCert, caKey, 0o644); err != nil {
			return nil, err
		}
		m.Created = append(m.Created, CAFile, CAKeyFile)
	}

	srvCert, srvKey, err := loadPair(filepath.Join(dir, ServerFile), filepath.Join(dir, ServerKeyFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if newCA || srvCert == nil || !validAt(srvCert, now) || srvCert.CheckSignatureFrom(caCert) != nil || !coversLocalNames(srvCert) {
		srvCert, srvKey, err = createServer(caCert, caKey, now, rnd)
		if err != nil {
			return nil, err
		}
		if err := writePair(dir, ServerFile, ServerKeyFile, srvCert, srvKey, 0o600); err != nil {
			return nil, err
		}
		m.Created = append(m.Created, ServerFile, ServerKeyFile)
	}

	m.CA = caCert
	m.CAPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caCert.Raw})
	m.Certificate = tls.Certificate{
		Certificate: [][]byte{srvCert.Raw, caCert.Raw},
		PrivateKey:  srvKey,
		Leaf:        srvCert,
	}
	return m, nil
}

// validAt reports whether c is valid at now and for renewMargin after it.
func validAt(c *x509.Certificate, now time.Time) bool {
	return !now.Before(c.NotBefore) && now.Add(renewMargin).Before(c.NotAfter)
}

func coversLocalNames(c *x509.Certificate) bool {
	for _, ip := range serverIPs {
		if !slices.ContainsFunc(c.IPAddresses, ip.Equal) {
			return false
		}
	}
	for _, n := range serverNames {
		if !slices.Contains(c.DNSNames, n) {
			return false
		}
	}
	return true
}

func serial(rnd io.Reader) (*big.Int, error) {
	n, err := rand.Int(rnd, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("pki: serial: %w", err)
	}
	return n.Add(n, big.NewInt(1)), nil
}

func createCA(now time.Time, rnd io.Reader) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: CA key: %w", err)
	}
	sn, err := serial(rnd)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Organization: []string{"latchkey"}, CommonName: "latchkey local CA " + now.UTC().Format("2006-01-02T15:04:05Z")},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: CA certificate: %w", err)
	}
	return c, key, nil
}

func createServer(ca *x509.Certificate, caKey crypto.Signer, now time.Time, rnd io.Reader) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rnd)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: server key: %w", err)
	}
	sn, err := serial(rnd)
	if err != nil {
		return nil, nil, err
	}
	notAfter := now.Add(serverValidity)
	if notAfter.After(ca.NotAfter) {
		notAfter = ca.NotAfter
	}
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject:      pkix.Name{Organization: []string{"latchkey"}, CommonName: "localhost"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  serverIPs,
		DNSNames:     serverNames,
	}
	der, err := x509.CreateCertificate(rnd, tmpl, ca, key.Public(), caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: server certificate: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: server certificate: %w", err)
	}
	return c, key, nil
}

// loadPair reads a certificate and its key. It returns an error wrapping
// fs.ErrNotExist when either file is missing, and a plain error when a
// file exists but does not parse or the key does not match.
func loadPair(certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	certPEM, err := os.ReadFile(certPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	keyPEM, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %w", err)
	}
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, fmt.Errorf("pki: %s: no PEM certificate", certPath)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", certPath, err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, fmt.Errorf("pki: %s: no PEM key", keyPath)
	}
	k, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("pki: %s: %w", keyPath, err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("pki: %s: not an ECDSA key", keyPath)
	}
	pub, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || !pub.Equal(key.Public()) {
		return nil, nil, fmt.Errorf("pki: %s does not match %s", keyPath, certPath)
	}
	return cert, key, nil
}

// writePair writes the key (0600) before the certificate (certMode), each
// through a temporary file and a rename, so a crash never leaves a
// certificate without its key.
func writePair(dir, certName, keyName string, cert *x509.Certificate, key *ecdsa.PrivateKey, certMode os.FileMode) error {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := writeFile(filepath.Join(dir, keyName), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, certName), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}), certMode)
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if _, err := io.Copy(tmp, bytes.NewReader(data)); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("pki: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("pki: %w", err)
	}
	return nil
}
