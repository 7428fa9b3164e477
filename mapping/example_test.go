package mapping

import (
	"path/filepath"
	"testing"
)

// The shipped example must stay valid and its tests must pass.
func TestExampleFile(t *testing.T) {
	c, err := Load(filepath.Join("..", "mapping.example.yaml"))
	if err != nil {
		t.Fatalf("load example: %v", err)
	}
	if len(c.Tests) < 5 {
		t.Fatalf("example has %d tests, want a real tests section", len(c.Tests))
	}
	for _, r := range c.RunTests() {
		if !r.Pass {
			t.Errorf("example test at line %d: %s/%s got %s (%s), want %s", r.Test.Line, r.Test.Availability, r.Test.Activity, r.Got.DND, r.Got.Reason, r.Test.Expect.DND)
		}
	}
	// The example's rules are the defaults.
	def, err := Parse([]byte(minimalYAML), "min.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range def.DecisionTable() {
		got := c.Decide(Presence{Availability: row.Availability, Activity: row.Activity})
		if got.DND != row.Decision.DND || got.Rule != row.Decision.Rule {
			t.Errorf("%s/%s: example decides %+v, defaults %+v", row.Availability, row.Activity, got, row.Decision)
		}
	}
}
