//go:build unix

package main

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/server"
)

// The benchmarks below measure what ../shared/bench/perf-vs-moto measures:
// the real binary, driven from outside over loopback HTTP/1.1 keep-alive
// connections, one per worker, with requests signed (V1, HMAC-SHA1) and
// framed as the Alibaba Go SDK frames them, a fresh nonce, timestamp and
// password in every request, on 100 I/O optimized instances split between
// the workers. Each reports req/s, the p50 and p99 latencies, and the
// server's heap allocations per request (from its /metrics). Set
// LATCHKEY_BENCH_STORE=postgres://… to measure a PostgreSQL store.
//
//	go test ./cmd/latchkey -run '^$' -bench 'ModifyInstanceVncPasswd|DescribeInstances' -benchtime 20000x

// BenchmarkModifyInstanceVncPasswd is the durable password change at
// concurrency 32 (the harness's gate) and 1.
func BenchmarkModifyInstanceVncPasswd(b *testing.B) {
	t := startPerfTarget(b)
	for _, c := range []int{32, 1} {
		b.Run("c="+strconv.Itoa(c), func(b *testing.B) {
			t.drive(b, c, func(w *perfWorker) []byte {
				return t.frame(w, "ModifyInstanceVncPasswd", url.Values{
					"InstanceId": {w.next()}, "VncPassword": {vncPassword6(w)},
				})
			})
		})
	}
}

// BenchmarkDescribeInstances is DescribeInstances with PageSize=100 (all
// 100 instances) at concurrency 32.
func BenchmarkDescribeInstances(b *testing.B) {
	t := startPerfTarget(b)
	t.drive(b, 32, func(w *perfWorker) []byte {
		return t.frame(w, "DescribeInstances", url.Values{"PageSize": {"100"}})
	})
}

// perfInstances is how many instances the benchmarks run on.
const perfInstances = 100

// perfTarget is a running latchkey binary with perfInstances Running
// I/O optimized instances.
type perfTarget struct {
	addr, ak, sk string
	ids          []string
}

func startPerfTarget(b *testing.B) *perfTarget {
	b.Helper()
	bin := buildLatchkey(b)
	dir := filepath.Join(b.TempDir(), "data")
	var extra []string
	if st := os.Getenv("LATCHKEY_BENCH_STORE"); st != "" {
		extra = append(extra, "--store", st)
	}
	_, eps, stop := startProcess(b, bin, dir, extra...)
	b.Cleanup(stop)
	creds, err := server.ReadCredentials(dir)
	if err != nil {
		b.Fatal(err)
	}
	t := &perfTarget{addr: eps.HTTP, ak: creds.AccessKeyID, sk: creds.AccessKeySecret}

	c := rootECS(b, dir)
	req := ecs.CreateRunInstancesRequest()
	req.RegionId, req.ImageId, req.InstanceType = "cn-hangzhou", "aliyun_3_x64_20G_alibase_20240819.vhd", "ecs.g7.large"
	req.IoOptimized, req.Amount = "optimized", requests.NewInteger(perfInstances)
	resp, err := c.RunInstances(req)
	if err != nil {
		b.Fatal(err)
	}
	t.ids = resp.InstanceIdSets.InstanceIdSet
	for {
		d := ecs.CreateDescribeInstancesRequest()
		d.RegionId, d.Status, d.PageSize = "cn-hangzhou", "Running", requests.NewInteger(100)
		got, err := c.DescribeInstances(d)
		if err != nil {
			b.Fatal(err)
		}
		if got.TotalCount == len(t.ids) {
			return t
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// perfWorker is one closed-loop client: one connection, its instances.
type perfWorker struct {
	conn net.Conn
	br   *bufio.Reader
	buf  bytes.Buffer
	ids  []string
	i    int
}

func (w *perfWorker) next() string {
	w.i++
	return w.ids[w.i%len(w.ids)]
}

// drive runs b.N requests made by mk from c workers, each waiting for
// its answer (200 with a RequestId) before the next, and reports the
// throughput, the latencies and the server's allocations per request.
func (t *perfTarget) drive(b *testing.B, c int, mk func(*perfWorker) []byte) {
	workers := make([]*perfWorker, c)
	for i := range workers {
		conn, err := net.Dial("tcp", t.addr)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { conn.Close() })
		w := &perfWorker{conn: conn, br: bufio.NewReader(conn)}
		for j := i; j < len(t.ids); j += c {
			w.ids = append(w.ids, t.ids[j])
		}
		if len(w.ids) == 0 { // more workers than instances: share
			w.ids = []string{t.ids[i%len(t.ids)]}
		}
		workers[i] = w
	}
	mallocs := t.serverMallocs(b)
	var left atomic.Int64
	left.Store(int64(b.N))
	lat := make([][]time.Duration, c)
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for i, w := range workers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				req := mk(w)
				t0 := time.Now()
				if err := w.roundTrip(req); err != nil {
					b.Error(err)
					return
				}
				lat[i] = append(lat[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	if len(all) == 0 {
		return
	}
	slices.Sort(all)
	pct := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) / 1000 }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric((t.serverMallocs(b)-mallocs)/float64(len(all)), "server-allocs/op")
	b.ReportMetric(0, "ns/op") // the latencies above say it per request
}

// roundTrip sends one request and reads its answer, which must be a 200
// carrying a RequestId.
func (w *perfWorker) roundTrip(req []byte) error {
	if _, err := w.conn.Write(req); err != nil {
		return err
	}
	resp, err := http.ReadResponse(w.br, nil)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || !bytes.Contains(body, []byte(`"RequestId"`)) {
		return &perfError{status: resp.StatusCode, body: string(body)}
	}
	return nil
}

type perfError struct {
	status int
	body   string
}

func (e *perfError) Error() string { return "answer " + strconv.Itoa(e.status) + ": " + e.body }

// serverMallocs reads go_memstats_mallocs_total from the server's /metrics.
func (t *perfTarget) serverMallocs(b *testing.B) float64 {
	resp, err := noProxy(nil).Get("http://" + t.addr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "go_memstats_mallocs_total "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				b.Fatal(err)
			}
			return f
		}
	}
	b.Fatal("no go_memstats_mallocs_total in /metrics")
	return 0
}

// frame builds a V1-signed POST of action with params, every parameter in
// the query and an empty form body, as the Alibaba Go SDK sends it.
func (t *perfTarget) frame(w *perfWorker, action string, params url.Values) []byte {
	var nonce [16]byte
	rand.Read(nonce[:])
	params.Set("AccessKeyId", t.ak)
	params.Set("Action", action)
	params.Set("Format", "JSON")
	params.Set("RegionId", "cn-hangzhou")
	params.Set("SignatureMethod", "HMAC-SHA1")
	params.Set("SignatureNonce", hex.EncodeToString(nonce[:]))
	params.Set("SignatureType", "")
	params.Set("SignatureVersion", "1.0")
	params.Set("Timestamp", time.Now().UTC().Format("2006-01-02T15:04:05Z"))
	params.Set("Version", "2014-05-26")
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var cq strings.Builder
	for i, k := range keys {
		if i > 0 {
			cq.WriteByte('&')
		}
		cq.WriteString(v1Encode(k) + "=" + v1Encode(params.Get(k)))
	}
	mac := hmac.New(sha1.New, []byte(t.sk+"&"))
	mac.Write([]byte("POST&%2F&" + v1Encode(cq.String())))
	sig := base64.StdEncoding.EncodeToString(mac.Sum(nil))

	w.buf.Reset()
	w.buf.WriteString("POST /?" + cq.String() + "&Signature=" + v1Encode(sig) + " HTTP/1.1\r\nHost: " + t.addr + "\r\n" +
		"User-Agent: AlibabaCloud (linux; amd64) Golang/1.26 Core/1.63.22\r\n" +
		"Accept-Encoding: identity\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 0\r\n" +
		"X-Acs-Action: " + action + "\r\nX-Acs-Version: 2014-05-26\r\n\r\n")
	return w.buf.Bytes()
}

// v1Encode percent-encodes s as RPC V1 signing does (RFC 3986: only
// letters, digits and -_.~ stay).
func v1Encode(s string) string {
	const hexDigits = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hexDigits[c>>4])
		b.WriteByte(hexDigits[c&15])
	}
	return b.String()
}

// vncPassword6 is a fresh password ECS accepts: 6 letters and digits with
// an upper case letter, a lower case letter and a digit.
func vncPassword6(w *perfWorker) string {
	var r [6]byte
	rand.Read(r[:])
	const upper, lower, digit = "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz", "0123456789"
	const all = upper + lower + digit
	p := []byte{upper[int(r[0])%26], lower[int(r[1])%26], digit[int(r[2])%10], all[int(r[3])%62], all[int(r[4])%62], all[int(r[5])%62]}
	p[0], p[w.i%6] = p[w.i%6], p[0]
	return string(p)
}
