// Package vault protects latchkey's secrets at rest: it seals recoverable
// secrets with AES-256-GCM under the master key (core.Sealer), hashes
// check-only passwords with argon2id (core.Hasher), and loads or creates
// the master key file.
//
// Nothing in this package logs, prints or wraps a plaintext or a key in an
// error: every error text names the failing step, never the data.
package vault
