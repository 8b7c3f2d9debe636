package scanner_test

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/secretgate/secretgate/scanner"
)

// TestFingerprintRevealsNothing: a fingerprint cannot confirm a guess of
// the secret without the key, and a known value's fingerprint without a key
// does not depend on the value at all.
func TestFingerprintRevealsNothing(t *testing.T) {
	key := []byte("a-repository-key-0123456789")
	v1 := func(rule, path, secret string) string {
		s := sha256.Sum256([]byte(rule + "\x00" + path + "\x00" + secret))
		return hex.EncodeToString(s[:])[:16]
	}
	for _, tt := range []struct {
		name        string
		a, b        string // fingerprints that must be equal or differ
		wantEqual   bool
		description string
	}{
		{"keyed values differ", scanner.Fingerprint(key, "known:PIN", "a.txt", "123456"), scanner.Fingerprint(key, "known:PIN", "a.txt", "654321"), false, "a new secret is a new finding"},
		{"keys differ", scanner.Fingerprint(key, "github-pat", "a.txt", "x"), scanner.Fingerprint([]byte("another-key-0123456789"), "github-pat", "a.txt", "x"), false, "the key is in it"},
		{"unkeyed known value", scanner.Fingerprint(nil, "known:PIN", "a.txt", "123456"), scanner.Fingerprint(nil, "known:PIN", "a.txt", "654321"), true, "no value in it"},
		{"unkeyed rule finding", scanner.Fingerprint(nil, "github-pat", "a.txt", "x"), scanner.Fingerprint(nil, "github-pat", "a.txt", "y"), false, "a new token is a new finding"},
		{"not v1", scanner.Fingerprint(nil, "github-pat", "a.txt", "x"), v1("github-pat", "a.txt", "x"), false, "a bare SHA-256 confirms guesses"},
		{"stable", scanner.Fingerprint(key, "github-pat", "a.txt", "x"), scanner.Fingerprint(key, "github-pat", "a.txt", "x"), true, "runs agree"},
	} {
		if got := tt.a == tt.b; got != tt.wantEqual {
			t.Errorf("%s: equal = %v, want %v (%s)", tt.name, got, tt.wantEqual, tt.description)
		}
		if len(tt.a) != 16 {
			t.Errorf("%s: fingerprint %q, want 16 hex digits", tt.name, tt.a)
		}
	}
}
