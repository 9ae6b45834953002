package main

import (
	"bytes"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkLargeRequestsRSS measures the memory of the real binary under
// the load of issue #11: 500 concurrent RPC requests of about 1 MB each
// (form bodies just under the 1 MiB limit, refused after parsing). It
// reports the process's peak resident memory (VmHWM) and its resident
// memory a second after the burst, when the request budget has handed the
// burst's memory back.
func BenchmarkLargeRequestsRSS(b *testing.B) {
	bin := buildLatchkey(b)
	dir := filepath.Join(b.TempDir(), "data")
	cmd, eps, stop := startProcess(b, bin, dir)
	defer stop()

	const concurrent = 500
	body := []byte("Action=DescribeRegions&Version=2014-05-26&AccessKeyId=LTAI00000000000000000000&Signature=x&Padding=" +
		strings.Repeat("a", 1<<20-200))
	client := &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: concurrent}}
	b.SetBytes(int64(concurrent * len(body)))
	for b.Loop() {
		var wg sync.WaitGroup
		for range concurrent {
			wg.Go(func() {
				resp, err := client.Post("http://"+eps.HTTP+"/", "application/x-www-form-urlencoded", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			})
		}
		wg.Wait()
	}
	client.CloseIdleConnections()
	b.StopTimer()
	time.Sleep(time.Second)
	b.ReportMetric(procStatusMB(b, cmd.Process.Pid, "VmHWM"), "peak-RSS-MB")
	b.ReportMetric(procStatusMB(b, cmd.Process.Pid, "VmRSS"), "RSS-after-MB")
}

// procStatusMB reads a memory field of /proc/PID/status, in MB.
func procStatusMB(b *testing.B, pid int, field string) float64 {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Skipf("no /proc: %v", err)
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			if err != nil {
				b.Fatal(err)
			}
			return float64(kb) / 1024
		}
	}
	b.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
