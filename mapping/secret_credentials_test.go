//go:build !windows

package mapping

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// systemd's LoadCredential= files show as 0440 (an ACL for the service user); inside the unit's
// $CREDENTIALS_DIRECTORY that is accepted, anywhere else it is refused as before.
func TestSecretFromSystemdCredentialsDirectory(t *testing.T) {
	creds := t.TempDir()
	other := t.TempDir()
	write := func(dir, name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("pbx-secret\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		file    string
		credDir string
		ok      bool
	}{
		{"0440 in the credentials directory", write(creds, "a", 0o440), creds, true},
		{"0400 in the credentials directory", write(creds, "b", 0o400), creds, true},
		{"0444 in the credentials directory", write(creds, "c", 0o444), creds, false},
		{"0440 elsewhere", write(other, "d", 0o440), creds, false},
		{"0440 without systemd", write(creds, "e", 0o440), "", false},
		{"relative credentials directory", write(creds, "f", 0o440), "relative", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &Config{Starface: Starface{PasswordFile: tc.file},
				Getenv: func(k string) string {
					if k == "CREDENTIALS_DIRECTORY" {
						return tc.credDir
					}
					return ""
				}}
			got, err := c.StarfacePassword()
			if tc.ok && (err != nil || got != "pbx-secret") {
				t.Fatalf("StarfacePassword = %q, %v; want the secret", got, err)
			}
			if !tc.ok && (err == nil || !strings.Contains(err.Error(), "chmod 600")) {
				t.Fatalf("StarfacePassword err = %v; want the loose-mode refusal", err)
			}
		})
	}
}
