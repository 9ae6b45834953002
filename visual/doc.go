// Package visual is the home of E-HPC's node boundary: the drivers that
// run the remote-visualization (VNC) service of cluster login nodes behind
// core.VisualDriver (PRODUCT.md §3 and §5).
//
// Subpackage sim is the built-in driver: every login node's visual service
// is an RFB server inside latchkey, listening on the node's own loopback
// address. Subpackage tigervnc drives real login nodes: `latchkey agent`
// on each node runs Xvnc and replaces its -rfbauth file atomically
// (vnc-backends.md §2), and for full-length passwords offers VeNCrypt
// Plain checked by PAM.
//
// # Password length and the two policies
//
// VNC Authentication keys DES with the first 8 bytes of the password and
// ignores the rest (vnc-backends.md §1). The 2025 policy's passwords are 6
// characters, so VNC Authentication checks all of them. The 2024 policy
// allows 8 to 30 characters; there the visual service also offers
// VeNCrypt with the Plain subtype, which sends the user name and the whole
// password and checks every character, as TigerVNC's Plain/PAM does. The
// trade-off: a classic client that only speaks VNC Authentication still
// logs in, on the first 8 characters, so for such clients two passwords
// that share their first 8 characters are the same password; and Plain
// sends the password in clear, so it belongs on a trusted network or
// behind TLS (noVNC through an HTTPS gateway, for instance). Clients that
// speak VeNCrypt (noVNC 1.3, TigerVNC's viewer) prefer it and get the
// full-length check.
package visual
