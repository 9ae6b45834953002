package service

import (
	"fmt"
	"io"
	"strings"

	"github.com/latchkey/latchkey/core"
)

// randomUUID returns an upper-case version-4 UUID, the shape of E-HPC's
// TaskId and of RequestIds (alibaba-rpc.md §7).
func randomUUID(r io.Reader) (string, error) {
	var b [16]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", fmt.Errorf("random source: %w", err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])), nil
}

// randomVisualPassword returns the random password a new cluster's visual
// service starts with: 6 letters and digits with at least one of each, so
// it satisfies both policy editions' VNC Authentication use. Nobody knows
// it; the owner sets a password with ModifyVisualServicePasswd.
func randomVisualPassword(r io.Reader) (core.Secret, error) {
	for {
		s, err := randomString(r, mixedAlnum, 6)
		if err != nil {
			return core.Secret{}, err
		}
		if core.EHPCPasswordPolicy2025.ValidateVisualPasswd(core.NewSecret(s)) == nil {
			return core.NewSecret(s), nil
		}
	}
}
