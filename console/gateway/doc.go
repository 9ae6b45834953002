// Package gateway is latchkey's VNC gateway: it accepts a WebSocket at
// /vnc/?s=TICKET, redeems the single-use console ticket that
// DescribeInstanceVncUrl (or BCC's VNC call) issued, and relays RFB bytes
// between the WebSocket and the console. Authentication to the console
// itself (VNC Authentication, VeNCrypt Plain) happens end to end between
// the client and the console; the gateway keeps no password (VeNCrypt
// Plain's crosses it in the clear, streamed through). It follows the
// handshake far enough to see the console's verdict, so that a source
// address that fails too often is refused for a while, as Xvnc refuses it
// (package blacklist), whichever console it aims at. Browser pages may
// open consoles only from the server's own origins.
//
// Relay serves classic TCP VNC clients by opening one gateway WebSocket
// per client (`latchkey console`); it authenticates nothing itself, and
// the gateway judges its clients by the relay's address.
package gateway
