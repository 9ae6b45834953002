package gateway

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/coder/websocket"

	"github.com/latchkey/latchkey/core"
)

// Handler serves the VNC WebSocket endpoint.
type Handler struct {
	Consoles core.Consoles
	Log      *slog.Logger
	// OnConnect, if set, is called once per connection attempt with whether
	// a console was opened, for metrics.
	OnConnect func(ok bool)
}

// ServeHTTP redeems the ticket in the "s" query parameter, then upgrades
// to a WebSocket carrying binary RFB frames. An unknown, used or expired
// ticket is refused with 403 before the upgrade. The subprotocol "binary"
// is selected when offered (noVNC and websockify clients ask for it).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
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
		// The ticket is the credential; browsers load consoles from pages
		// on other origins (the cloud console's VNC page).
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

	pipe(conn, console)
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}
