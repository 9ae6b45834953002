// Package hostile holds tests only: the documented input limits checked
// through the official SDKs, and a suite of malformed and hostile
// requests sent to a whole latchkey on every surface it serves.
package hostile
