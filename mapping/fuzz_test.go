package mapping

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// FuzzParse feeds the configuration decoder arbitrary bytes: it must never panic, and every
// refusal must be a configuration error that names the file (exit 2 with a message an admin can
// act on, never a Go error or stack).
func FuzzParse(f *testing.F) {
	if example, err := os.ReadFile("../mapping.example.yaml"); err == nil {
		f.Add(example)
	}
	for _, seed := range []string{
		minimalYAML,
		minimalYAML + "teams_to_starface:\n  rules:\n    - when: {activity: [InACall]}\n      dnd: on\n",
		minimalYAML + "users:\n  max_drop: 10%\n  overrides: {\"0003\": a@b.c}\n",
		minimalYAML + "starface_to_teams:\n  enabled: true\n  on_dnd: {availability: Busy, activity: InACall}\n",
		"microsoft: [\n", "a: &x [*x]\n", "\t- x", "? [a]\n: b\n", "",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "fuzz.yaml")
		if err == nil {
			if c == nil {
				t.Fatal("no config and no error")
			}
			return
		}
		var ce *ConfigError
		var ces ConfigErrors
		if !errors.As(err, &ce) && !errors.As(err, &ces) {
			t.Fatalf("error %T is not a configuration error: %v", err, err)
		}
		if !strings.Contains(err.Error(), "fuzz.yaml") {
			t.Fatalf("error does not name the file: %v", err)
		}
	})
}
