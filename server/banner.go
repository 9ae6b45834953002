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
	// demoBCC are the demo fleet's BCC instance ids (region bj), and
	// demoBCCPassword their guest administrator's password.
	demoBCC         []string
	demoBCCPassword string
	// demoCluster is the demo fleet's E-HPC cluster.
	demoCluster *demoCluster
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

	endpoint := "http://" + b.eps.HTTP
	if b.eps.HTTP == "" {
		endpoint = "https://" + b.eps.HTTPS
	}
	p("\nBaidu bce-sdk-go (github.com/baidubce/bce-sdk-go/services/bcc):\n\n")
	p("    client, err := bcc.NewClient(%q, %q, %q)\n", b.accessKeyID, secret, endpoint)
	p("  over HTTPS, set client.HTTPClient to an *http.Client that trusts %s\n", b.caFile)
	p("  (the SDK's own NoVerifySSL is not applied).\n")

	if len(b.demo) > 0 {
		p("\nDemo fleet (seeded on this first start):\n\n")
		p("    %-24s %-16s %-12s %-12s %s\n", "ECS InstanceId", "InstanceName", "RegionId", "IoOptimized", "VNC password")
		for _, d := range b.demo {
			p("    %-24s %-16s %-12s %-12t %s\n", d.ID, d.Name, d.RegionID, d.IoOptimized, d.VNCPassword)
		}
		if len(b.demoBCC) > 0 {
			p("\n    %-24s %-12s %s\n", "BCC instanceId", "region", "admin password (changePass changes it)")
			for _, id := range b.demoBCC {
				p("    %-24s %-12s %s\n", id, "bj", b.demoBCCPassword)
			}
		}
		d := b.demo[0]
		p("\n  Open a console with any VNC client: latchkey bridges a local port to the URL that\n")
		p("  DescribeInstanceVncUrl returns (single use, valid 15 seconds), fresh for each connection:\n\n")
		p("    latchkey console --data-dir %s --instance %s\n", b.dataDir, d.ID)
		p("    vncviewer 127.0.0.1::5900        # enter the instance's VNC password\n\n")
		p("  (from a checkout: go run ./cmd/latchkey console …). Change a password with\n")
		p("  ModifyInstanceVncPasswd (6 letters and digits): live at once when I/O optimized,\n")
		p("  after RebootInstance otherwise.\n")
		p("\n  Or in a browser that trusts %s: each line prints the console\n", b.caFile)
		p("  page's URL with a fresh VncUrl; open it within 15 seconds, then enter the VNC password:\n\n")
		for _, d := range b.demo {
			p("    latchkey console-url --data-dir %s --instance %s\n", b.dataDir, d.ID)
		}
		p("\n  The page takes Alibaba Cloud's query, https://%s/console/?vncUrl=<VncUrl>&instanceId=<id>,\n", b.eps.HTTPS)
		p("  with VncUrl as DescribeInstanceVncUrl returns it (BCC: GET /v2/instance/{id}/vnc's\n")
		p("  vncUrl, percent-encoded).\n")
	}
	if c := b.demoCluster; c != nil {
		p("\n  E-HPC cluster %s (%s, %s), running:\n\n", c.ID, c.Name, c.RegionID)
		p("    root password            %s\n", c.RootPassword)
		p("    visual service password  %s\n\n", c.VisualPassword)
		p("  Its login nodes' visual service (VNC):\n\n")
		for _, l := range c.Logins {
			host, port, _ := strings.Cut(l, ":")
			p("    vncviewer %s::%s\n", host, port)
		}
		p("\n  Change it with ModifyVisualServicePasswd (RunasUser root and root's password).\n")
	}
	// Later starts show no fleet: this is where to find it.
	p("\nList the fleet (every ECS, E-HPC and BCC resource, secrets redacted):\n\n")
	p("    latchkey inspect --data-dir %s\n", b.dataDir)
	p("\n")
	io.WriteString(w, s.String())
}
