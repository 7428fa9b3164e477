package mapping

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func writeSecret(t *testing.T, content string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // WriteFile's mode is subject to umask
		t.Fatal(err)
	}
	return p
}

func TestReadSecretEnv(t *testing.T) {
	t.Setenv("TF_TEST_SECRET", "s3cr3t value")
	got, err := ReadSecret("", "TF_TEST_SECRET", "microsoft.client_secret_env")
	if err != nil || got != "s3cr3t value" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestReadSecretEnvMissing(t *testing.T) {
	t.Setenv("TF_TEST_EMPTY", "")
	for _, tc := range []struct{ env, want string }{
		{"TF_TEST_UNSET_" + strings.Repeat("X", 8), "microsoft.client_secret_env: environment variable TF_TEST_UNSET_XXXXXXXX is not set; export it or name a file with microsoft.client_secret_file"},
		{"TF_TEST_EMPTY", "microsoft.client_secret_env: environment variable TF_TEST_EMPTY is empty"},
		{"", "microsoft.client_secret_env: no environment variable or file set for this secret"},
	} {
		_, err := ReadSecret("", tc.env, "microsoft.client_secret_env")
		var ce *ConfigError
		if !errors.As(err, &ce) || err.Error() != tc.want {
			t.Errorf("env %q: got %v, want *ConfigError %q", tc.env, err, tc.want)
		}
	}
}

func TestReadSecretFile(t *testing.T) {
	t.Setenv("TF_TEST_SECRET", "from-env")
	p := writeSecret(t, "file-secret\n", 0o600)
	got, err := ReadSecret(p, "TF_TEST_SECRET", "starface.password_env")
	if err != nil || got != "file-secret" {
		t.Fatalf("file wins over env and loses its newline: got %q, %v", got, err)
	}
	p = writeSecret(t, "crlf\r\n", 0o400)
	if got, err := ReadSecret(p, "", "starface.password_env"); err != nil || got != "crlf" {
		t.Errorf("crlf: got %q, %v", got, err)
	}
	p = writeSecret(t, "\n", 0o600)
	if _, err := ReadSecret(p, "", "starface.password_env"); err == nil || !strings.Contains(err.Error(), "empty secret file") {
		t.Errorf("empty file: %v", err)
	}
	_, err = ReadSecret(filepath.Join(t.TempDir(), "nope"), "", "starface.password_env")
	var ce *ConfigError
	if !errors.As(err, &ce) || !errors.Is(err, fs.ErrNotExist) || ce.Field != "starface.password_file" {
		t.Errorf("missing file: %#v", err)
	}
}

func TestReadSecretFileLooseMode(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes do not describe access on Windows")
	}
	for _, mode := range []os.FileMode{0o644, 0o640, 0o604, 0o660, 0o602} {
		p := writeSecret(t, "do-not-print-me\n", mode)
		_, err := ReadSecret(p, "", "microsoft.client_secret_env")
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("mode %o: want *ConfigError, got %v", mode, err)
		}
		msg := err.Error()
		for _, want := range []string{p + ": microsoft.client_secret_file: ", "chmod 600 " + p} {
			if !strings.Contains(msg, want) {
				t.Errorf("mode %o: %q lacks %q", mode, msg, want)
			}
		}
		if strings.Contains(msg, "do-not-print-me") {
			t.Errorf("secret leaked into %q", msg)
		}
	}
}

func TestConfigSecrets(t *testing.T) {
	c := mustParse(t, minimalYAML)
	t.Setenv("TEAMSFACE_CLIENT_SECRET", "cs")
	t.Setenv("STARFACE_PASSWORD", "pw")
	if s, err := c.ClientSecret(); err != nil || s != "cs" {
		t.Errorf("ClientSecret() = %q, %v", s, err)
	}
	if s, err := c.StarfacePassword(); err != nil || s != "pw" {
		t.Errorf("StarfacePassword() = %q, %v", s, err)
	}
	os.Unsetenv("STARFACE_PASSWORD")
	_, err := c.StarfacePassword()
	if want := "t.yaml: starface.password_env: environment variable STARFACE_PASSWORD is not set"; err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("unset password: %v, want prefix %q", err, want)
	}
	p := writeSecret(t, "filepw", 0o600)
	c = mustParse(t, msYAML+"starface:\n  url: https://pbx\n  login: \"0001\"\n  password_file: "+p+"\n")
	if s, err := c.StarfacePassword(); err != nil || s != "filepw" {
		t.Errorf("password_file: %q, %v", s, err)
	}
}

func TestStarfaceClientSecret(t *testing.T) {
	good := writeSecret(t, "file-secret\n", 0o600)
	open := writeSecret(t, "file-secret\n", 0o644)
	tests := []struct {
		name string
		yaml string // appended to the starface section
		env  map[string]string
		want string
		err  string // "" = no error
	}{
		{"classic reads nothing", "  auth: classic\n", map[string]string{"STARFACE_CLIENT_SECRET": "x"}, "", ""},
		{"auto, default variable unset: no secret", "", nil, "", ""},
		{"auto, default variable blank: no secret", "", map[string]string{"STARFACE_CLIENT_SECRET": " "}, "", ""},
		{"auto, default variable set", "", map[string]string{"STARFACE_CLIENT_SECRET": "env-secret"}, "env-secret", ""},
		{"auto, own variable unset", "  client_secret_env: PBX_SECRET\n", nil, "", "starface.client_secret_env: environment variable PBX_SECRET is not set"},
		{"auto, own variable", "  client_secret_env: PBX_SECRET\n", map[string]string{"PBX_SECRET": "own"}, "own", ""},
		{"auto, file", "  client_secret_file: " + good + "\n", nil, "file-secret", ""},
		{"auto, file readable by others", "  client_secret_file: " + open + "\n", nil, "", "starface.client_secret_file"},
		{"oauth, default variable unset", "  auth: oauth\n", nil, "", "environment variable STARFACE_CLIENT_SECRET is not set; export it or name a file with starface.client_secret_file"},
		{"oauth, default variable set", "  auth: oauth\n", map[string]string{"STARFACE_CLIENT_SECRET": "env-secret"}, "env-secret", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(msYAML+sfYAML+tt.yaml), "m.yaml")
			if err != nil {
				t.Fatal(err)
			}
			c.Getenv = func(k string) string { return tt.env[k] }
			got, err := c.StarfaceClientSecret()
			if tt.err == "" {
				if err != nil || got != tt.want {
					t.Errorf("got %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("err = %v, want a *ConfigError saying %q", err, tt.err)
			}
			if got != "" || (err != nil && strings.Contains(err.Error(), "file-secret")) {
				t.Errorf("secret leaked: %q / %v", got, err)
			}
		})
	}
}
