package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/latchkey/latchkey/core"
)

// Client calls one agent's API.
type Client struct {
	// BaseURL is the agent's address, e.g. https://login0.example:7443.
	BaseURL *url.URL
	Token   core.Secret
	// HTTP is the client used; nil means http.DefaultClient. Its TLS
	// configuration decides which agent certificates are trusted.
	HTTP *http.Client
}

// Error is an agent's answer to a call that failed: the agent was
// reached and refused or failed the operation. Any other error of a
// Client method means the agent did not answer (unreachable, timed out,
// or not an agent).
type Error struct {
	Status int // the HTTP status
	ErrorBody
}

func (e *Error) Error() string {
	s := fmt.Sprintf("agent: %d %s", e.Status, e.Code)
	if e.Command != "" {
		s += " (" + e.Command + ")"
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Status returns the node's visual service.
func (c *Client) Status(ctx context.Context, node string) (Status, error) {
	return c.call(ctx, http.MethodGet, node, "", nil)
}

// Start starts or reconfigures the node's visual service.
func (c *Client) Start(ctx context.Context, node string, req StartRequest) (Status, error) {
	return c.call(ctx, http.MethodPut, node, "/service", req)
}

// Stop stops the node's visual service.
func (c *Client) Stop(ctx context.Context, node string) (Status, error) {
	return c.call(ctx, http.MethodDelete, node, "/service", nil)
}

// SetPassword sets the node's visual-service password.
func (c *Client) SetPassword(ctx context.Context, node string, req PasswordRequest) (Status, error) {
	return c.call(ctx, http.MethodPut, node, "/password", req)
}

// maxAnswer bounds an answer's body.
const maxAnswer = 1 << 20

func (c *Client) call(ctx context.Context, method, node, suffix string, body any) (Status, error) {
	u := c.BaseURL.JoinPath("v1", "nodes", node)
	u.Path += suffix
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Status{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return Status{}, err
	}
	req.Header.Set("Authorization", "Bearer "+c.Token.Reveal())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Status{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return Status{}, err
	}
	if resp.StatusCode != http.StatusOK {
		e := &Error{Status: resp.StatusCode}
		if json.Unmarshal(b, &e.ErrorBody) != nil || e.Code == "" {
			// Not an agent's answer (a proxy, another server).
			return Status{}, fmt.Errorf("agent: unexpected answer %s", resp.Status)
		}
		return Status{}, e
	}
	var st Status
	if err := json.Unmarshal(b, &st); err != nil || st.Node != node {
		return Status{}, fmt.Errorf("agent: unexpected answer to %s %s", method, u.Path)
	}
	return st, nil
}
