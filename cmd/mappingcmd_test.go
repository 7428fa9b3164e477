package cmd

import (
	"encoding/json"
	"os"
	"path/filepath"
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
