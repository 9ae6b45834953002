package aliyun_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/auth/credentials"
	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"

	"github.com/latchkey/latchkey/internal/testenv"
)

// capture is an HTTP transport that keeps a copy of the last request it
// sent: the SDK's own signed request, to replay.
type capture struct {
	method, url string
	header      http.Header
	body        []byte
}

func (c *capture) RoundTrip(r *http.Request) (*http.Response, error) {
	c.method, c.url, c.header = r.Method, r.URL.String(), r.Header.Clone()
	c.body = nil
	if r.Body != nil {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		r.Body.Close()
		c.body = b
		r.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(r)
}

// replay sends the captured request again to host, as an attacker who
// recorded it would.
func (c *capture) replay(t *testing.T, host string) (code string, status int) {
	t.Helper()
	req, err := http.NewRequest(c.method, c.url, bytes.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	req.URL.Host, req.Host, req.Header = host, host, c.header.Clone()
	resp, err := (&http.Client{Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct{ Code string }
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Code, resp.StatusCode
}

// A signed request replayed after a restart of latchkey is refused: the
// nonce was recorded in the store, not in the process.
func TestReplayAfterRestartIsRefused(t *testing.T) {
	e := testenv.Start(t)
	var tap capture
	c, err := ecs.NewClientWithOptions(testenv.Region, sdk.NewConfig().WithHttpTransport(&http.Transport{}),
		credentials.NewAccessKeyCredential(e.Credentials.AccessKeyID, e.Credentials.AccessKeySecret))
	if err != nil {
		t.Fatal(err)
	}
	c.Domain = e.Endpoints.HTTP
	c.SetTransport(&tap)
	req := ecs.CreateDescribeRegionsRequest()
	if _, err := c.DescribeRegions(req); err != nil {
		t.Fatal(err)
	}
	if code, status := tap.replay(t, e.Endpoints.HTTP); code != "SignatureNonceUsed" || status != 400 {
		t.Errorf("replay = %s %d, want SignatureNonceUsed 400", code, status)
	}
	e.Restart(t)
	if code, status := tap.replay(t, e.Endpoints.HTTP); code != "SignatureNonceUsed" || status != 400 {
		t.Errorf("replay after a restart = %s %d, want SignatureNonceUsed 400", code, status)
	}
}
