package gateway

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"

	"github.com/coder/websocket"
)

// Dial opens the console behind a VNC URL (as DescribeInstanceVncUrl
// returns it, percent-encoded or not) and returns the RFB byte stream.
// client may carry the TLS configuration that trusts latchkey's CA; nil
// means http.DefaultClient.
func Dial(ctx context.Context, vncURL string, client *http.Client) (net.Conn, error) {
	if u, err := url.QueryUnescape(vncURL); err == nil && len(u) < len(vncURL) {
		vncURL = u
	}
	ws, _, err := websocket.Dial(ctx, vncURL, &websocket.DialOptions{
		HTTPClient:   client,
		Subprotocols: []string{"binary"},
	})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(-1) // framebuffer updates are large
	// The stream outlives the dialing context; closing the conn ends it.
	return websocket.NetConn(context.Background(), ws, websocket.MessageBinary), nil
}

// Relay accepts classic VNC clients (TigerVNC's viewer, vncsnapshot) on ln
// and connects each to a console through open, until ctx ends. Console
// tickets are single-use, so open is called once per accepted client.
func Relay(ctx context.Context, ln net.Listener, open func(ctx context.Context) (net.Conn, error)) error {
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go func() {
			defer c.Close()
			console, err := open(ctx)
			if err != nil {
				return
			}
			defer console.Close()
			pipe(c, console)
		}()
	}
}

// pipe copies both ways until either side ends; the caller then closes
// both, which ends the other copy.
func pipe(a, b io.ReadWriter) {
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(a, b); done <- struct{}{} }()
	go func() { _, _ = io.Copy(b, a); done <- struct{}{} }()
	<-done
}
