package bce

import (
	"errors"
	"strings"
	"testing"

	sdkbcc "github.com/baidubce/bce-sdk-go/services/bcc/api"

	"github.com/latchkey/latchkey/core"
)

// The vectors of shared/reference/bce-rest.md §2.2, checked there with
// openssl enc -aes-128-ecb.
func TestAdminPassVectors(t *testing.T) {
	sk := core.NewSecret("0123456789abcdef0123456789abcdef")
	for _, tc := range []struct{ password, hex string }{
		{"Passw0rd!", "2a71397f8c035255981a317d5b4ebd8d"},
		{"0123456789abcdef", "72727e881edcfd0100a718687909b565377222e061a924c591cd9c27ea163ed4"},
	} {
		got, err := EncryptAdminPass(core.NewSecret(tc.password), sk)
		if err != nil || got != tc.hex {
			t.Errorf("EncryptAdminPass(vector %d chars) = %q, %v; want %q", len(tc.password), got, err, tc.hex)
		}
		for _, h := range []string{tc.hex, strings.ToUpper(tc.hex)} {
			pw, err := DecryptAdminPass(h, sk)
			if err != nil || pw.Reveal() != tc.password {
				t.Errorf("DecryptAdminPass(vector of %d chars) failed: %v", len(tc.password), err)
			}
		}
	}
}

// TestAdminPassSDKOracle decrypts what bce-sdk-go's own encryption
// produces, for passwords of every padding length and non-ASCII text.
func TestAdminPassSDKOracle(t *testing.T) {
	sk := "ab12cd34ef56ab78cd90ef12ab34cd56"
	passwords := []string{"", "x", "Passw0rd!", "中文密码Aa1!", strings.Repeat("p", 32), strings.Repeat("q", 33)}
	for n := 1; n <= 17; n++ {
		passwords = append(passwords, strings.Repeat("a", n))
	}
	for _, p := range passwords {
		enc, err := sdkbcc.Aes128EncryptUseSecreteKey(sk, p)
		if err != nil {
			t.Fatal(err)
		}
		mine, err := EncryptAdminPass(core.NewSecret(p), core.NewSecret(sk))
		if err != nil || mine != enc {
			t.Errorf("password of %d bytes: EncryptAdminPass differs from the SDK", len(p))
		}
		got, err := DecryptAdminPass(enc, core.NewSecret(sk))
		if err != nil || got.Reveal() != p {
			t.Errorf("password of %d bytes: SDK ciphertext did not decrypt: %v", len(p), err)
		}
	}
}

func TestAdminPassFailures(t *testing.T) {
	sk := core.NewSecret("0123456789abcdef0123456789abcdef")
	other := core.NewSecret("fedcba9876543210fedcba9876543210")
	// Find a password that, encrypted under another key, does not happen
	// to decrypt to valid padding under sk (the odds are about 1 in 256).
	var wrongKey string
	for _, p := range []string{"Passw0rd!", "Another1!", "Third3rd#", "Fourth4$!"} {
		h, _ := EncryptAdminPass(core.NewSecret(p), other)
		if _, err := DecryptAdminPass(h, sk); err != nil {
			wrongKey = h
			break
		}
	}
	notUTF8, _ := EncryptAdminPass(core.NewSecret("\xff\xfe"), sk)
	for _, tc := range []struct {
		name, value string
		key         core.Secret
		want        AdminPassFailure
	}{
		{"short key", "2a71397f8c035255981a317d5b4ebd8d", core.NewSecret("0123456789abcde"), AdminPassKeyTooShort},
		{"not hex", "2a71397f8c035255981a317d5b4ebd8z", sk, AdminPassNotHex},
		{"odd hex", "2a7", sk, AdminPassNotHex},
		{"plain password", "Passw0rd!", sk, AdminPassNotHex},
		{"empty", "", sk, AdminPassBadLength},
		{"partial block", "2a71397f8c035255", sk, AdminPassBadLength},
		{"wrong key", wrongKey, sk, AdminPassBadPadding},
		{"truncated", "72727e881edcfd0100a718687909b565", sk, AdminPassBadPadding},
		{"not utf-8", notUTF8, sk, AdminPassNotUTF8},
	} {
		_, err := DecryptAdminPass(tc.value, tc.key)
		var ae *AdminPassError
		if !errors.As(err, &ae) || ae.Failure != tc.want {
			t.Errorf("%s: got %v, want failure %d", tc.name, err, tc.want)
			continue
		}
		if tc.value != "" && strings.Contains(err.Error(), tc.value) {
			t.Errorf("%s: error text contains the value", tc.name)
		}
	}
	if wrongKey == "" {
		t.Fatal("no ciphertext under another key failed to decrypt")
	}
}
