package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestMappingCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := "microsoft:\n  tenant: contoso.example\n  client_id: 11111111-2222-3333-4444-555555555555\nstarface:\n  url: https://pbx.example.com\n  login: \"0001\"\n"
	tests := []struct {
		name, file string
		want       int
		stdout     []string
		stderr     []string
	}{
		{"the example file", "../mapping.example.yaml", ExitOK, []string{"is valid", "InACall", "All 12 tests of the file pass"}, nil},
		{"a failing test", write("failing.yaml", base+"tests:\n  - {availability: Busy, activity: InACall, expect: {dnd: off}}\n"),
			ExitPartial, []string{"FAIL", "failing.yaml:8", "expected dnd off, got on"}, []string{"1 of 1 mapping test failed"}},
		{"an unknown key", write("unknown.yaml", base+"teams_to_starface:\n  rulez: []\n"),
			ExitUsage, nil, []string{"unknown.yaml:8:3", "rulez"}},
		{"an unknown availability", write("avail.yaml", base+"teams_to_starface:\n  rules:\n    - when: {availability: [Bussy]}\n      dnd: on\n"),
			ExitUsage, nil, []string{"avail.yaml:9", "Bussy"}},
		{"a missing file", filepath.Join(dir, "nope.yaml"), ExitUsage, nil, []string{"nope.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, nil, "mapping", "check", tc.file)
			if code != tc.want {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tc.want, out, errs)
			}
			for _, s := range tc.stdout {
				if !strings.Contains(out, s) {
					t.Errorf("stdout lacks %q:\n%s", s, out)
				}
			}
			for _, s := range tc.stderr {
				if !strings.Contains(errs, s) {
					t.Errorf("stderr lacks %q:\n%s", s, errs)
				}
			}
		})
	}
}

func TestMappingCheckJSON(t *testing.T) {
	t.Parallel()
	code, out, _ := runCLI(t, nil, "mapping", "check", "-o", "json", "../mapping.example.yaml")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var res struct {
		Valid bool `json:"valid"`
		Table []struct {
			Availability, Activity, DND string
			Rule                        int
		} `json:"table"`
		Tests []struct{ Pass bool } `json:"tests"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range res.Table {
		if r.Availability == "Busy" && r.Activity == "InACall" {
			found = r.DND == "on" && r.Rule == 1
		}
	}
	if !res.Valid || !found || len(res.Tests) == 0 {
		t.Errorf("mapping check -o json = %+v", res)
	}
}

// mapping check warns about what would stop a run — a secret or certificate file that cannot be
// read — and keeps its exit code: it checks the rules, login --check the credentials. Secrets in
// environment variables are not looked at.
func TestMappingCheckWarnsAboutSecretFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	write := func(name, body string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // whatever the umask
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "s3cret\n", 0o600)
	empty := write("empty", "\n", 0o600)
	shared := write("shared", "s3cret\n", 0o644)
	missing := filepath.Join(dir, "missing")
	cfg := func(microsoft, starface string) string {
		return "microsoft:\n  tenant: fabrikam.onmicrosoft.com\n  client_id: 6f1c3e0a-1b2c-4d5e-8f90-123456789abc\n" + microsoft +
			"starface:\n  url: https://pbx.fabrikam.de\n  login: \"0001\"\n" + starface
	}
	tests := []struct {
		name, yaml string
		warn       []string // each in stderr; none: stderr is empty
	}{
		{"readable files", cfg("  client_secret_file: "+good+"\n", "  password_file: "+good+"\n  client_secret_file: "+good+"\n"), nil},
		{"environment variables, set or not", cfg("  client_secret_env: NOT_SET_ANYWHERE\n", "  password_env: NOT_SET_EITHER\n"), nil},
		{"a missing file", cfg("  client_secret_file: "+missing+"\n", ""), []string{"microsoft.client_secret_file: read secret: no such file"}},
		{"an empty file", cfg("", "  password_file: "+empty+"\n"), []string{"starface.password_file: empty secret file"}},
		{"the OAuth secret of a classic sign-in is not used", cfg("", "  auth: classic\n  client_secret_file: "+missing+"\n"), nil},
		{"the OAuth secret of auto is", cfg("", "  client_secret_file: "+missing+"\n"), []string{"starface.client_secret_file: read secret"}},
		{"a certificate that is not there", cfg("  auth: client-certificate\n  certificate_file: "+missing+"\n", ""), []string{"microsoft.certificate_file: ", "read certificate"}},
	}
	if runtime.GOOS != "windows" {
		tests = append(tests, struct {
			name, yaml string
			warn       []string
		}{"a file others can read", cfg("", "  password_file: "+shared+"\n"), []string{"starface.password_file: ", shared}})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			file := filepath.Join(t.TempDir(), "mapping.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			code, out, errs := runCLI(t, nil, "mapping", "check", file)
			if code != ExitOK || !strings.Contains(out, "is valid") {
				t.Fatalf("exit %d, want 0\n%s%s", code, out, errs)
			}
			if tc.warn == nil && errs != "" {
				t.Errorf("stderr is not empty:\n%s", errs)
			}
			for _, w := range tc.warn {
				if !strings.Contains(errs, w) || !strings.Contains(errs, "login --check") {
					t.Errorf("stderr lacks %q or the hint to login --check:\n%s", w, errs)
				}
			}
			if strings.Contains(errs, "s3cret") {
				t.Errorf("a secret is on stderr:\n%s", errs)
			}
		})
	}
}
