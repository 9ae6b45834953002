// Package rfb speaks the Remote Framebuffer protocol (RFC 6143) on both
// sides of one connection: a server that puts a rendered screen behind VNC
// Authentication or VeNCrypt Plain, and a client that logs in to any VNC
// server and reads its screen.
//
// The server accepts protocol versions 3.3, 3.7 and 3.8. It sends only Raw
// rectangles and converts its RGBA framebuffer into whatever pixel format
// the client asks for, so that old clients such as vncsnapshot (RFB 3.3)
// work as well as noVNC or TigerVNC's viewer.
//
// Password semantics follow real VNC servers (see
// shared/reference/vnc-backends.md §1): VNC Authentication uses only the
// first 8 bytes of the password, VeNCrypt Plain checks the whole password,
// and the server never accepts an empty password.
//
// Nothing in this package logs, and no error it returns contains a
// password.
package rfb
