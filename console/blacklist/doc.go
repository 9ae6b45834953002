// Package blacklist refuses VNC logins from a source that failed too
// often, as TigerVNC's Xvnc does with its UseBlacklist,
// BlacklistThreshold (5) and BlacklistTimeout (10 s) parameters
// (PRODUCT.md §10): once a source has failed to authenticate Threshold
// times, its next attempts are refused for Timeout; when the block is over
// the source may try once more, and a failure then blocks it again for
// twice as long as the block before. A successful login forgets the
// source. A refused client is told as Xvnc tells it: an RFB 3.3
// connection failure whose reason is "Too many security failures"
// (rfb.Refuse).
//
// A source is an IPv4 address (an IPv4-mapped IPv6 address is its IPv4
// address) or an IPv6 /64 (Source). The counts live in a Ledger: Store
// keeps them in latchkey's store, so that every replica sharing it
// refuses a source blocked through any of them.
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
//   - Xvnc counts by address; a Guard counts an IPv6 client by its /64,
//     so that rotating addresses within it gains nothing.
//   - Xvnc remembers every address for ever; a Store forgets a source
//     idle for ForgetAfter and keeps at most MaxAddresses (the least
//     recently seen is forgotten first), both enforced when it sweeps, at
//     most once a minute per process; a block never lasts longer than
//     MaxTimeout.
//
// A refused attempt is counted (Recorder) and audited (core.Auditor,
// action "VncLogin", result "TooManySecurityFailures"); an address
// becoming blocked is logged. Nothing here sees or records a password.
package blacklist
