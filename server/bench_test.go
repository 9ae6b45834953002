package server_test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchkey/latchkey/internal/testenv"
)

// signV1 returns the query of a V1-signed (HMAC-SHA1) RPC POST request,
// computed independently of the server's code from reference §1.1.
func signV1(params map[string]string, secret string) string {
	fix := strings.NewReplacer("+", "%20", "*", "%2A", "%7E", "~")
	enc := func(s string) string { return fix.Replace(url.QueryEscape(s)) }
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = enc(k) + "=" + enc(params[k])
	}
	canonical := strings.Join(parts, "&")
	mac := hmac.New(sha1.New, []byte(secret+"&"))
	io.WriteString(mac, "POST&%2F&"+enc(canonical))
	return canonical + "&Signature=" + enc(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

// BenchmarkModifyInstanceVncPasswd drives signed ModifyInstanceVncPasswd
// calls over loopback HTTP at concurrency 1, 8 and 32, each with a fresh
// nonce and a new password, against I/O optimized instances (so every call
// reaches the console driver and the store, durably). It reports
// requests per second and the p50 and p99 latencies.
func BenchmarkModifyInstanceVncPasswd(b *testing.B) {
	e := testenv.Start(b)
	c := e.ECS(b)
	var ids []string
	for range 32 {
		ids = append(ids, runInstance(b, c, "optimized"))
	}
	transport := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	endpoint := "http://" + e.Endpoints.HTTP + "/?"

	call := func(id string, n int) (time.Duration, error) {
		nonce := make([]byte, 16)
		rand.Read(nonce)
		q := signV1(map[string]string{
			"AccessKeyId":      e.Credentials.AccessKeyID,
			"Action":           "ModifyInstanceVncPasswd",
			"Format":           "JSON",
			"InstanceId":       id,
			"RegionId":         testenv.Region,
			"SignatureMethod":  "HMAC-SHA1",
			"SignatureNonce":   hex.EncodeToString(nonce),
			"SignatureType":    "",
			"SignatureVersion": "1.0",
			"Timestamp":        time.Now().UTC().Format("2006-01-02T15:04:05Z"),
			"Version":          "2014-05-26",
			"VncPassword":      fmt.Sprintf("Pw%04d", n%10000),
		}, e.Credentials.AccessKeySecret)
		start := time.Now()
		resp, err := client.Post(endpoint+q, "application/x-www-form-urlencoded", nil)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("status %s", resp.Status)
		}
		return time.Since(start), nil
	}

	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			var next atomic.Int64
			lat := make([][]time.Duration, conc)
			var wg sync.WaitGroup
			var failed atomic.Value
			b.ResetTimer()
			start := time.Now()
			for w := range conc {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := next.Add(1)
						if n > int64(b.N) {
							return
						}
						d, err := call(ids[w%len(ids)], int(n))
						if err != nil {
							failed.CompareAndSwap(nil, err)
							return
						}
						lat[w] = append(lat[w], d)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			b.ReportMetric(float64(len(all))/elapsed.Seconds(), "req/s")
			b.ReportMetric(float64(all[len(all)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(all[len(all)*99/100].Microseconds()), "p99-µs")
		})
	}
}
