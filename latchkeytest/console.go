package latchkeytest

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"time"

	"github.com/latchkey/latchkey/console/gateway"
	"github.com/latchkey/latchkey/console/rfb"
	"github.com/latchkey/latchkey/core"
)

// consoleCheckTimeout bounds one CheckConsolePassword: a ticket, the
// WebSocket and the RFB handshake.
const consoleCheckTimeout = time.Minute

// CheckConsolePassword reports whether password opens the console of an
// ECS or BCC instance, which must be Running. It logs in the way a user's
// console client does: it gets a single-use console ticket for the
// instance's account, as DescribeInstanceVncUrl (BCC: GET
// /v2/instance/{id}/vnc) hands out, opens the wss:// console URL through
// latchkey's VNC gateway on the HTTPS listener and answers the console's
// VNC Authentication with password (whose first 8 characters count, as
// in VNC). It returns false and no error when the console refuses the
// password, and an error when the check could not be made: an unknown or
// stopped instance, an account whose state refuses console calls (in
// debt, or without the product), or a fault rule on open-console.
func (s *Server) CheckConsolePassword(instanceID, password string) (bool, error) {
	var res struct {
		Kind    core.ResourceKind `json:"kind"`
		Account core.AccountID    `json:"account"`
		Region  core.RegionID     `json:"region"`
	}
	if err := s.Admin("GET", "resources/"+url.PathEscape(instanceID), nil, &res); err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), consoleCheckTimeout)
	defer cancel()
	// The account's root, as the signer of the console URL request.
	caller := core.Caller{Principal: core.Principal{AccountID: res.Account}, SourceIP: netip.AddrFrom4([4]byte{127, 0, 0, 1}), Secure: true}
	var tok *core.VNCToken
	var err error
	switch res.Kind {
	case core.InstanceKind:
		tok, err = s.app.ECS.DescribeInstanceVncURL(ctx, caller, core.InstanceRef{RegionID: res.Region, InstanceID: core.InstanceID(instanceID)})
	case core.BCCInstanceKind:
		tok, err = s.app.BCC.GetInstanceVNC(ctx, caller, core.BCCRef{RegionID: res.Region, InstanceID: core.BCCInstanceID(instanceID)})
	default:
		return false, fmt.Errorf("%s is a %s, not an ECS or BCC instance", instanceID, res.Kind)
	}
	if err != nil {
		return false, fmt.Errorf("console ticket for %s: %w", instanceID, err)
	}
	conn, err := gateway.Dial(ctx, s.app.ConsoleURL(tok.Token), s.client)
	if err != nil {
		return false, fmt.Errorf("open the console of %s: %w", instanceID, err)
	}
	defer conn.Close()
	c, err := rfb.Login(ctx, conn, password)
	if errors.Is(err, rfb.ErrAuthFailed) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("log in to the console of %s: %w", instanceID, err)
	}
	c.Close()
	return true, nil
}
