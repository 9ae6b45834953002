// Package blacklist refuses VNC logins from a source address that failed
// too often, as TigerVNC's Xvnc does with its UseBlacklist,
// BlacklistThreshold (5) and BlacklistTimeout (10 s) parameters
// (PRODUCT.md §10): once an address has failed to authenticate Threshold
// times, its next attempts are refused for Timeout; when the block is over
// the address may try once more, and a failure then blocks it again for
// twice as long as the block before. A successful login forgets the
// address. A refused client is told as Xvnc tells it: an RFB 3.3
// connection failure whose reason is "Too many security failures"
// (rfb.Refuse).
//
// Every surface where latchkey answers the RFB handshake asks a Guard
// before each attempt and tells it the outcome: the console gateway
// (console/gateway, which also covers `latchkey console`, a plain relay to
// the gateway) and the sim visual driver's listeners (visual/sim). Login
// nodes run by `latchkey agent` are protected by Xvnc's own blacklist.
//
// Where this differs from Xvnc, on purpose:
//   - Xvnc counts connections that have not (yet) authenticated; a Guard
//     counts failed authentications, so a port scan, a health check or a
//     viewer closed at the password prompt costs nothing. Attempts in
//     progress still count against the threshold, so that many
//     connections opened at once cannot try more passwords than a series
//     of single ones.
//   - Xvnc remembers every address for ever; a Guard keeps at most
//     MaxAddresses (the least recently seen is forgotten first), and a
//     block never lasts longer than MaxTimeout.
//
// A refused attempt is counted (Recorder) and audited (core.Auditor,
// action "VncLogin", result "TooManySecurityFailures"); an address
// becoming blocked is logged. Nothing here sees or records a password.
package blacklist
