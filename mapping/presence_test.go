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
		{Presence{"Busy", "InACall"}, DNDOn, 1, "rule 1: activity InACall"},
		{Presence{"Busy", "InAConferenceCall"}, DNDOn, 1, "rule 1: activity InAConferenceCall"},
		{Presence{"DoNotDisturb", "Presenting"}, DNDOn, 1, "rule 1: activity Presenting"},
		{Presence{"DoNotDisturb", "DoNotDisturb"}, DNDOn, 2, "rule 2: availability DoNotDisturb"},
		{Presence{"DoNotDisturb", "UrgentInterruptionsOnly"}, DNDOn, 2, "rule 2: availability DoNotDisturb"},
		{Presence{"Busy", "InAMeeting"}, DNDOn, 3, "rule 3: availability Busy"},
		{Presence{"BusyIdle", "Inactive"}, DNDOn, 3, "rule 3: availability BusyIdle"},
		{Presence{"Busy", "PresenceUnknown"}, DNDOn, 3, "rule 3: availability Busy"},
		{Presence{"Available", "Available"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{"Away", "Away"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{"Offline", "OffWork"}, DNDOff, 4, "rule 4: catch-all"},
		// Not knowing the presence is never a reason to act.
		{Presence{"PresenceUnknown", "PresenceUnknown"}, DNDKeep, 0, "presence unknown"},
		{Presence{"PresenceUnknown", "InACall"}, DNDKeep, 0, "presence unknown"},
		{Presence{"", ""}, DNDKeep, 0, "presence unknown"},
		// Values Microsoft adds later go through the rules like any other.
		{Presence{"Focusing", "DeepWork"}, DNDOff, 4, "rule 4: catch-all"},
		{Presence{"Busy", "InAHolographicCall"}, DNDOn, 3, "rule 3: availability Busy"},
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
		{Presence{"Busy", "InAMeeting"}, Decision{DNDOn, 1, "rule 1: availability Busy, activity InAMeeting"}},
		// Both listed fields must contain the value.
		{Presence{"Busy", "Busy"}, Decision{DNDKeep, 0, "no rule matched"}},
		{Presence{"DoNotDisturb", "InACall"}, Decision{DNDKeep, 0, "no rule matched"}},
		{Presence{"BeRightBack", "BeRightBack"}, Decision{DNDKeep, 2, "rule 2: availability BeRightBack"}},
		{Presence{"Available", "Available"}, Decision{DNDOff, 3, "rule 3: availability Available"}},
		// A future value with no catch-all keeps.
		{Presence{"Focusing", "Focusing"}, Decision{DNDKeep, 0, "no rule matched"}},
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
		p := Presence{r.Availability, r.Activity}
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
	for _, p := range []Presence{{"Available", "Available"}, {"Available", "OutOfOffice"}, {"Busy", "Busy"}, {"Busy", "InACall"},
		{"Busy", "InAMeeting"}, {"DoNotDisturb", "DoNotDisturb"}, {"DoNotDisturb", "Presenting"}, {"Away", "Away"},
		{"BeRightBack", "BeRightBack"}, {"Offline", "OffWork"}} {
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
