package mapping

import (
	"slices"
	"testing"
)

func mustParse(t *testing.T, y string) *Config {
	t.Helper()
	c, err := Parse([]byte(y), "t.yaml")
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return c
}

func TestDecideDefaultRules(t *testing.T) {
	c := mustParse(t, minimalYAML)
	tests := []struct {
		p      Presence
		dnd    DND
		rule   int
		reason string
	}{
		{Presence{Availability: "Busy", Activity: "InACall"}, DNDOn, 1, "rule 1: activity InACall"},
		{Presence{Availability: "Busy", Activity: "InAConferenceCall"}, DNDOn, 1, "rule 1: activity InAConferenceCall"},
		{Presence{Availability: "DoNotDisturb", Activity: "Presenting"}, DNDOn, 1, "rule 1: activity Presenting"},
		{Presence{Availability: "DoNotDisturb", Activity: "DoNotDisturb"}, DNDOn, 2, "rule 2: availability DoNotDisturb"},
		{Presence{Availability: "DoNotDisturb", Activity: "UrgentInterruptionsOnly"}, DNDOn, 2, "rule 2: availability DoNotDisturb"},
		{Presence{Availability: "Busy", Activity: "InAMeeting"}, DNDOn, 3, "rule 3: availability Busy"},
		{Presence{Availability: "BusyIdle", Activity: "Inactive"}, DNDOn, 3, "rule 3: availability BusyIdle"},
		{Presence{Availability: "Busy", Activity: "PresenceUnknown"}, DNDOn, 3, "rule 3: availability Busy"},
		{Presence{Availability: "Available", Activity: "Available"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{Availability: "Away", Activity: "Away"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{Availability: "Offline", Activity: "OffWork"}, DNDOff, 4, "rule 4: catch-all"},
		// Not knowing the presence is never a reason to act.
		{Presence{Availability: "PresenceUnknown", Activity: "PresenceUnknown"}, DNDKeep, 0, "presence unknown"},
		{Presence{Availability: "PresenceUnknown", Activity: "InACall"}, DNDKeep, 0, "presence unknown"},
		{Presence{Availability: "", Activity: ""}, DNDKeep, 0, "presence unknown"},
		// Values Microsoft adds later go through the rules like any other.
		{Presence{Availability: "Focusing", Activity: "DeepWork"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{Availability: "Busy", Activity: "InAHolographicCall"}, DNDOn, 3, "rule 3: availability Busy"},
	}
	for _, tc := range tests {
		got := c.Decide(tc.p)
		want := Decision{DND: tc.dnd, Rule: tc.rule, Reason: tc.reason}
		if got != want {
			t.Errorf("Decide(%v) = %+v, want %+v", tc.p, got, want)
		}
	}
}

func TestDecideCustomRules(t *testing.T) {
	c := mustParse(t, minimalYAML+`teams_to_starface:
  rules:
    - when: {availability: [Busy], activity: [InACall, InAMeeting]}
      dnd: on
    - when: {availability: [Away, BeRightBack]}
      dnd: keep
    - when: {availability: [Available]}
      dnd: off
`)
	tests := []struct {
		p    Presence
		want Decision
	}{
		{Presence{Availability: "Busy", Activity: "InAMeeting"}, Decision{DNDOn, 1, "rule 1: availability Busy, activity InAMeeting"}},
		// Both listed fields must contain the value.
		{Presence{Availability: "Busy", Activity: "Busy"}, Decision{DNDKeep, 0, "no rule matched"}},
		{Presence{Availability: "DoNotDisturb", Activity: "InACall"}, Decision{DNDKeep, 0, "no rule matched"}},
		{Presence{Availability: "BeRightBack", Activity: "BeRightBack"}, Decision{DNDKeep, 2, "rule 2: availability BeRightBack"}},
		{Presence{Availability: "Available", Activity: "Available"}, Decision{DNDOff, 3, "rule 3: availability Available"}},
		// A future value with no catch-all keeps.
		{Presence{Availability: "Focusing", Activity: "Focusing"}, Decision{DNDKeep, 0, "no rule matched"}},
	}
	for _, tc := range tests {
		if got := c.Decide(tc.p); got != tc.want {
			t.Errorf("Decide(%v) = %+v, want %+v", tc.p, got, tc.want)
		}
	}
}

// The built-in rules must pass the same validation as rules from a file.
func TestDefaultRulesValid(t *testing.T) {
	d := &decoder{file: "x", pos: map[string]position{"teams_to_starface.rules": {}}, bad: map[string]bool{}}
	for i := range DefaultRules() {
		d.pos[index("teams_to_starface.rules", i)+".when"] = position{}
	}
	d.rules(DefaultRules())
	if err := d.errs.err(); err != nil {
		t.Fatal(err)
	}
}

func TestDecisionTable(t *testing.T) {
	c := mustParse(t, minimalYAML)
	rows := c.DecisionTable()
	seenAv, seenAc := map[string]bool{}, map[string]bool{}
	pairs := map[Presence]bool{}
	for _, r := range rows {
		p := Presence{Availability: r.Availability, Activity: r.Activity}
		if pairs[p] {
			t.Errorf("pair %v listed twice", p)
		}
		pairs[p] = true
		seenAv[r.Availability], seenAc[r.Activity] = true, true
		if r.Decision != c.Decide(p) {
			t.Errorf("row %v: %+v, Decide says %+v", p, r.Decision, c.Decide(p))
		}
		if !slices.Contains(Availabilities, r.Availability) || !slices.Contains(Activities, r.Activity) {
			t.Errorf("row %v uses an undocumented value", p)
		}
	}
	// Every documented value appears, so every rule a file can write shows up.
	for _, a := range Availabilities {
		if !seenAv[a] {
			t.Errorf("availability %s missing from the table", a)
		}
	}
	for _, a := range Activities {
		if !seenAc[a] {
			t.Errorf("activity %s missing from the table", a)
		}
	}
	// Microsoft's table of Teams states is in it.
	for _, p := range []Presence{{Availability: "Available", Activity: "Available"}, {Availability: "Available", Activity: "OutOfOffice"}, {Availability: "Busy", Activity: "Busy"}, {Availability: "Busy", Activity: "InACall"},
		{Availability: "Busy", Activity: "InAMeeting"}, {Availability: "DoNotDisturb", Activity: "DoNotDisturb"}, {Availability: "DoNotDisturb", Activity: "Presenting"}, {Availability: "Away", Activity: "Away"},
		{Availability: "BeRightBack", Activity: "BeRightBack"}, {Availability: "Offline", Activity: "OffWork"}} {
		if !pairs[p] {
			t.Errorf("Teams state %v missing", p)
		}
	}
	// Grouped by availability in the documented order.
	last := -1
	for _, r := range rows {
		i := slices.Index(Availabilities, r.Availability)
		if i < last {
			t.Errorf("row %s/%s out of order", r.Availability, r.Activity)
		}
		last = i
	}
	if r := rows[len(rows)-1]; r.Availability != "PresenceUnknown" || r.Decision.DND != DNDKeep {
		t.Errorf("PresenceUnknown row = %+v", r)
	}
}

func TestRunTests(t *testing.T) {
	c := mustParse(t, minimalYAML+`tests:
  - {availability: Busy, activity: InACall, expect: {dnd: on}}
  - {availability: Away, activity: Away, expect: {dnd: on}}
  - {availability: PresenceUnknown, expect: {dnd: keep}}
`)
	res := c.RunTests()
	if len(res) != 3 {
		t.Fatalf("%d results", len(res))
	}
	want := []struct {
		pass bool
		got  DND
		line int
	}{{true, DNDOn, 8}, {false, DNDOff, 9}, {true, DNDKeep, 10}}
	for i, w := range want {
		r := res[i]
		if r.Pass != w.pass || r.Got.DND != w.got || r.Test.Line != w.line {
			t.Errorf("test %d: pass %v got %s line %d, want %v %s %d", i+1, r.Pass, r.Got.DND, r.Test.Line, w.pass, w.got, w.line)
		}
	}
	if res[1].Got.Reason != "rule 4: catch-all" {
		t.Errorf("failing test's reason = %q", res[1].Got.Reason)
	}
}

func TestSetPresencePairs(t *testing.T) {
	for _, p := range SetPresencePairs {
		if !ValidSetPresencePair(p) || !slices.Contains(Availabilities, p.Availability) || !slices.Contains(Activities, p.Activity) {
			t.Errorf("pair %v", p)
		}
	}
	for _, p := range []Pair{{"Busy", "Busy"}, {"DoNotDisturb", "DoNotDisturb"}, {"Busy", "InAMeeting"}, {"Away", "OutOfOffice"}, {"", ""}} {
		if ValidSetPresencePair(p) {
			t.Errorf("%v accepted", p)
		}
	}
}
