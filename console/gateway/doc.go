// Package gateway is latchkey's VNC gateway: it accepts a WebSocket at
// /vnc/?s=TICKET, redeems the single-use console ticket that
// DescribeInstanceVncUrl (or BCC's VNC call) issued, and relays RFB bytes
// between the WebSocket and the console. Authentication to the console
// itself (VNC Authentication) happens end to end between the client and
// the console; the gateway never sees a password.
package gateway
