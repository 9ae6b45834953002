package gateway

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/coder/websocket"

	"github.com/latchkey/latchkey/console/blacklist"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// handshakeTimeout bounds a console connection's RFB handshake, from the
// WebSocket upgrade to the console's SecurityResult.
const handshakeTimeout = 30 * time.Second

// surface is how the gateway's attempts appear in the blacklist's metrics
// and audit records. Refused clients are refused before their ticket is
// redeemed, so the console they wanted is not known.
var surface = blacklist.Surface{Name: "gateway", Product: "latchkey", Resource: "console-gateway"}

// Handler serves the VNC WebSocket endpoint.
type Handler struct {
	Consoles core.Consoles
	Log      *slog.Logger
	// Guard refuses clients whose source address failed to authenticate
	// too often (package blacklist); nil admits every client. The source
	// address is the connection's peer: no header is trusted for it.
	Guard *blacklist.Guard
	// Origins are the server's own origins, such as
	// "https://127.0.0.1:8443", from which a browser page may open a
	// console, besides the origin of the listener the request came in on.
	Origins []string
	// OnConnect, if set, is called once per connection attempt with whether
	// a console was opened, for metrics.
	OnConnect func(ok bool)
}

// ServeHTTP opens a console for a WebSocket request at /vnc/?s=TICKET.
// In order:
//   - a request whose Origin is not one of the server's own is refused
//     with 403 (browsers send Origin; other clients, such as gateway.Dial
//     and `latchkey console`, send none and pass);
//   - a client whose address the Guard refuses gets the WebSocket and, on
//     it, Xvnc's refusal "Too many security failures"; its ticket is left
//     as it was;
//   - the ticket in the "s" query parameter is redeemed: an unknown, used
//     or expired one is refused with 403 before the upgrade;
//   - the WebSocket (subprotocol "binary" when offered, as noVNC and
//     websockify clients do) carries RFB to the console. The gateway
//     follows the handshake to learn whether the login succeeded, for the
//     Guard (VNC Authentication and VeNCrypt Plain, see rfb.RelayAuth),
//     then relays the session. A handshake it cannot follow is relayed
//     untouched, uncounted.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.originAllowed(r) {
		http.Error(w, "console WebSocket refused: the request's Origin is not this server", http.StatusForbidden)
		return
	}
	attempt := h.Guard.Admit(r.Context(), surface, peerAddr(r))
	if attempt == nil {
		h.refuse(w, r)
		return
	}
	defer attempt.Settle(blacklist.Abandoned)

	token := r.URL.Query().Get("s")
	console, err := h.Consoles.Redeem(r.Context(), token)
	if h.OnConnect != nil {
		h.OnConnect(err == nil)
	}
	if err != nil {
		if core.KindOf(err) != core.KindNotFound {
			h.log().Warn("console open failed", "err", err)
		}
		http.Error(w, "console ticket is invalid, used or expired", http.StatusForbidden)
		return
	}
	defer console.Close()
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		Subprotocols: []string{"binary"},
		// originAllowed has checked Origin against all of the server's
		// origins; the library alone knows only the request's own.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has answered the client
	}
	// The request's context lives as long as this handler and ends when
	// the server stops, so a shutdown closes open console sessions.
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	conn := websocket.NetConn(ctx, ws, websocket.MessageBinary)
	defer conn.Close()

	timer := time.AfterFunc(handshakeTimeout, func() {
		conn.Close()
		console.Close()
	})
	err = rfb.RelayAuth(conn, console)
	switch {
	case err == nil:
		attempt.Settle(blacklist.Succeeded)
	case errors.Is(err, rfb.ErrAuthFailed):
		attempt.Settle(blacklist.Failed)
	default:
		// Refused, broken, or a handshake the relay cannot follow
		// (ErrNotFollowed): no verdict to count.
		attempt.Settle(blacklist.Abandoned)
	}
	if !timer.Stop() || err != nil && !errors.Is(err, rfb.ErrNotFollowed) {
		return
	}
	pipe(conn, console)
}

// refuse upgrades the request and sends the RFB refusal of a blacklisted
// client on the WebSocket.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request) {
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{"binary"}, InsecureSkipVerify: true})
	if err != nil {
		return
	}
	conn := websocket.NetConn(r.Context(), ws, websocket.MessageBinary)
	defer conn.Close()
	_ = rfb.Refuse(conn, rfb.ReasonTooManyFailures)
}

// originAllowed reports whether r may open a console: it has no Origin
// (not a browser), or its Origin is the listener's own (scheme and Host of
// the request) or one of h.Origins. A page elsewhere, for example one that
// learned a console URL, cannot open the console from a user's browser.
func (h *Handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	scheme := "http://"
	if r.TLS != nil {
		scheme = "https://"
	}
	if strings.EqualFold(origin, scheme+r.Host) {
		return true
	}
	for _, o := range h.Origins {
		if strings.EqualFold(origin, o) {
			return true
		}
	}
	return false
}

// peerAddr is the address of the connection's peer; the invalid Addr
// when it is not an IP address.
func peerAddr(r *http.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
