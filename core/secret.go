package core

// Secret is a plaintext secret in memory: a password or a secret key.
// It never prints, logs or marshals its value; code that needs the bytes
// calls Reveal, which makes every use of the plaintext easy to find.
type Secret struct{ v string }

// NewSecret wraps a plaintext value.
func NewSecret(v string) Secret { return Secret{v: v} }

// Reveal returns the plaintext.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// String implements fmt.Stringer without the value.
func (s Secret) String() string { return "[redacted]" }

// GoString implements fmt.GoStringer without the value.
func (s Secret) GoString() string { return "core.Secret{[redacted]}" }

// MarshalJSON renders the secret as "[redacted]": a Secret that reaches a
// JSON encoder by mistake leaks nothing.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"[redacted]"`), nil }

// LogValue keeps the value out of log/slog records.
func (s Secret) LogValue() any { return "[redacted]" }

// Sealed is a secret encrypted at rest under the master key (AES-256-GCM),
// for secrets that must be recovered: access key secrets and console
// passwords. See Sealer.
type Sealed []byte

// PasswordHash is an argon2id hash in PHC string form, for passwords that
// are only ever checked: guest administrators and cluster users.
type PasswordHash string

// Sealer encrypts and decrypts secrets at rest. The context string binds a
// ciphertext to its place (for example "ecs/i-123/vnc"), so a sealed value
// copied to another record does not open.
type Sealer interface {
	Seal(plain Secret, context string) (Sealed, error)
	Open(sealed Sealed, context string) (Secret, error)
}

// Hasher makes and checks one-way password hashes.
type Hasher interface {
	Hash(plain Secret) (PasswordHash, error)
	Verify(hash PasswordHash, plain Secret) bool
}

// AccessKeySealContext is where an access key's secret is sealed. Every
// writer and reader of a sealed secret must use the same context.
func AccessKeySealContext(id AccessKeyID) string { return "iam/accesskey/" + string(id) }

// VNCSealContext is where an ECS instance's console passwords (live and
// pending) are sealed.
func VNCSealContext(id InstanceID) string { return "ecs/" + string(id) + "/vnc" }
