package server

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"
)

// banner is the startup text for people: where latchkey listens, which
// access key to use and how to point the official clients at it. On the
// first start it shows the access key secret, once (PRODUCT.md §1); later
// starts point to credentials.json instead.
type banner struct {
	dataDir string
	eps     Endpoints
	caFile  string

	accountID   string
	accessKeyID string
	// secret is set only on the first start.
	secret string

	demo []demoInstance
}

// demoInstance is one seeded demo instance as the banner shows it. The
// VNC password is shown on the first start only, like the access key.
type demoInstance struct {
	ID          string
	Name        string
	RegionID    string
	IoOptimized bool
	VNCPassword string
}

func (b *banner) print(w io.Writer) {
	var s strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&s, format, args...) }

	p("\nlatchkey is ready\n\n")
	p("  HTTPS  https://%s   (clients trust %s)\n", b.eps.HTTPS, b.caFile)
	if b.eps.HTTP != "" {
		p("  HTTP   http://%s\n", b.eps.HTTP)
	} else {
		p("  HTTP   disabled\n")
	}
	p("  data   %s\n\n", b.dataDir)

	credsFile := filepath.Join(b.dataDir, CredentialsFile)
	secret := b.secret
	if secret != "" {
		p("Root account %s and its access key (shown this once; also in %s):\n", b.accountID, credsFile)
		p("  AccessKeyId      %s\n  AccessKeySecret  %s\n\n", b.accessKeyID, secret)
	} else {
		p("Root account %s, AccessKeyId %s (the secret is in %s)\n\n", b.accountID, b.accessKeyID, credsFile)
		secret = "<access_key_secret from " + credsFile + ">"
	}

	http := b.eps.HTTP
	if http == "" {
		http = "(disabled)"
	}
	p("Alibaba Cloud Go SDK (github.com/aliyun/alibaba-cloud-sdk-go/services/ecs), plain HTTP:\n\n")
	p("    client, err := ecs.NewClientWithAccessKey(\"cn-hangzhou\", %q, %q)\n", b.accessKeyID, secret)
	p("    client.Domain = %q\n\n", http)
	p("  over HTTPS, trusting latchkey's CA:\n\n")
	p("    caPEM, err := os.ReadFile(%q)\n", b.caFile)
	p("    pool := x509.NewCertPool()\n")
	p("    pool.AppendCertsFromPEM(caPEM)\n")
	p("    config := sdk.NewConfig().WithScheme(\"HTTPS\").\n")
	p("        WithHttpTransport(&http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}})\n")
	p("    client, err := ecs.NewClientWithOptions(\"cn-hangzhou\", config,\n")
	p("        credentials.NewAccessKeyCredential(%q, %q))\n", b.accessKeyID, secret)
	p("    client.Domain = %q\n\n", b.eps.HTTPS)
	p("aliyun CLI:\n\n")
	p("    aliyun configure set --profile latchkey --mode AK --region cn-hangzhou \\\n")
	p("        --access-key-id %s --access-key-secret '%s'\n", b.accessKeyID, secret)
	if b.eps.HTTP != "" {
		p("    aliyun ecs DescribeInstances --profile latchkey --endpoint %s --insecure\n", b.eps.HTTP)
	}
	p("    SSL_CERT_FILE=%s aliyun ecs DescribeInstances --profile latchkey --endpoint %s\n", b.caFile, b.eps.HTTPS)

	if len(b.demo) > 0 {
		p("\nDemo fleet (seeded on this first start):\n\n")
		p("    %-24s %-20s %-12s %-14s %s\n", "InstanceId", "InstanceName", "RegionId", "IoOptimized", "VNC password")
		for _, d := range b.demo {
			p("    %-24s %-20s %-12s %-14t %s\n", d.ID, d.Name, d.RegionID, d.IoOptimized, d.VNCPassword)
		}
		d := b.demo[0]
		p("\n  To open a console, ask for its URL (single use, valid 15 seconds):\n\n")
		if b.eps.HTTP != "" {
			p("    aliyun ecs DescribeInstanceVncUrl --profile latchkey --endpoint %s --insecure \\\n", b.eps.HTTP)
		} else {
			p("    SSL_CERT_FILE=%s aliyun ecs DescribeInstanceVncUrl --profile latchkey --endpoint %s \\\n", b.caFile, b.eps.HTTPS)
		}
		p("        --RegionId %s --InstanceId %s\n\n", d.RegionID, d.ID)
		p("  then connect a VNC client to the wss:// URL it returns (percent-decode it first;\n")
		p("  the server certificate chains to %s) and enter the instance's VNC password.\n", b.caFile)
		p("  Change a password with ModifyInstanceVncPasswd (6 letters and digits).\n")
	}
	p("\n")
	io.WriteString(w, s.String())
}
