package mapping

import (
	"strings"
	"testing"
)

func TestOutOfOfficeRedirectValues(t *testing.T) {
	for _, tc := range []struct {
		value, want, err string
	}{
		{"", RedirectOff, ""},
		{"off", RedirectOff, ""},
		{"voicemail", RedirectVoicemail, ""},
		{"201", "201", ""},
		{`"0049301234567"`, "0049301234567", ""},
		{"0049301234567", "0049301234567", ""}, // unquoted: the loader reads its text, zeros kept
		{`"+49 30 1234567"`, "0049301234567", ""},
		{`"+49-30-123 4567"`, "0049301234567", ""},
		{"Voicemail", "", `"Voicemail" is not valid; use off, voicemail, or a number`},
		{`"+49 (30) 1234567"`, "", "is not valid"},
		{"mailbox", "", "is not valid"},
		{`"1"`, "", "is not valid"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			y := minimalYAML
			if tc.value != "" {
				y += "out_of_office:\n  redirect: " + tc.value + "\n"
			}
			c, err := Parse([]byte(y), "m.yaml")
			switch {
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("Parse = %v, want an error saying %q", err, tc.err)
			case tc.err != "" && !strings.Contains(err.Error(), "out_of_office.redirect"):
				t.Errorf("the error does not name the key: %v", err)
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err == "" && c.OutOfOffice.Redirect != tc.want:
				t.Errorf("redirect = %q, want %q", c.OutOfOffice.Redirect, tc.want)
			}
		})
	}
}

func TestDecideRedirect(t *testing.T) {
	on := OutOfOffice{Redirect: RedirectVoicemail}
	for _, tc := range []struct {
		name  string
		o     OutOfOffice
		p     Presence
		known bool
		want  RedirectWant
	}{
		{"automatic replies on while away", on, Presence{Availability: "Away", Activity: "Away", OutOfOffice: true}, true, RedirectOn},
		{"the activity alone says so (no outOfOfficeSettings)", on, Presence{Availability: "Offline", Activity: "OutOfOffice"}, true, RedirectOn},
		{"in the office", on, Presence{Availability: "Available", Activity: "Available"}, true, RedirectBack},
		{"presence unknown keeps", on, Presence{Availability: "PresenceUnknown", Activity: "PresenceUnknown", OutOfOffice: true}, true, RedirectKeep},
		{"not in Graph's answer keeps", on, Presence{}, false, RedirectKeep},
		{"redirects off: always back", OutOfOffice{Redirect: RedirectOff}, Presence{Availability: "Away", Activity: "Away", OutOfOffice: true}, true, RedirectBack},
	} {
		if got := tc.o.DecideRedirect(tc.p, tc.known); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestNeedsRedirects(t *testing.T) {
	for _, tc := range []struct {
		m    RedirectMemory
		want RedirectWant
		read bool
	}{
		{RedirectMemory{}, RedirectOn, true},
		{RedirectMemory{Applied: RedirectOn, Owned: 2}, RedirectOn, false}, // steady while away
		{RedirectMemory{Applied: RedirectOn, Owned: 2}, RedirectBack, true},
		{RedirectMemory{Applied: RedirectOn}, RedirectBack, false}, // all on by hand: nothing to put back
		{RedirectMemory{}, RedirectBack, false},                    // never away: no request at all
		{RedirectMemory{Owned: 1}, RedirectKeep, false},
	} {
		if got := tc.m.NeedsRedirects(tc.want); got != tc.read {
			t.Errorf("%+v.NeedsRedirects(%s) = %t, want %t", tc.m, tc.want, got, tc.read)
		}
	}
}

func TestPlanRedirect(t *testing.T) {
	own := RedirectFacts{Always: true}
	for _, tc := range []struct {
		name string
		want RedirectWant
		f    RedirectFacts
		step RedirectStep
	}{
		{"going on holiday switches the ALWAYS redirect on", RedirectOn, own, RedirectSwitchOn},
		{"one already on by hand is left alone", RedirectOn, RedirectFacts{Always: true, Enabled: true}, RedirectOnByHand},
		{"a busy redirect is never touched", RedirectOn, RedirectFacts{}, RedirectNothing},
		{"a group number is never touched", RedirectOn, RedirectFacts{Always: true, Group: true}, RedirectNothing},
		{"still away: an owned redirect holds", RedirectOn, RedirectFacts{Always: true, Enabled: true, Owned: true, ShowsOwn: true}, RedirectHolds},
		{"changed by hand while away: disowned, left", RedirectOn, RedirectFacts{Always: true, Enabled: true, Owned: true}, RedirectDisown},
		{"back: an owned redirect is put back", RedirectBack, RedirectFacts{Always: true, Enabled: true, Owned: true, ShowsOwn: true}, RedirectRestore},
		{"back, but switched off by hand meanwhile: disowned, left", RedirectBack, RedirectFacts{Always: true, Owned: true}, RedirectDisown},
		{"back: one on by hand stays on", RedirectBack, RedirectFacts{Always: true, Enabled: true}, RedirectNothing},
		{"presence unknown changes nothing", RedirectKeep, RedirectFacts{Always: true, Enabled: true, Owned: true, ShowsOwn: true}, RedirectNothing},
	} {
		if step := PlanRedirect(tc.want, tc.f); step != tc.step {
			t.Errorf("%s: step %d, want %d", tc.name, step, tc.step)
		}
	}
}

// A rule may ask whether the user is out of office, and a test may expect a redirect.
func TestOutOfOfficeRulesAndTests(t *testing.T) {
	c, err := Parse([]byte(minimalYAML+`teams_to_starface:
  rules:
    - when: {out_of_office: true}
      dnd: on
    - when: {}
      dnd: off
out_of_office:
  redirect: voicemail
tests:
  - {availability: Away, activity: Away, out_of_office: true, expect: {dnd: on, redirect: on}}
  - {availability: Offline, activity: OutOfOffice, expect: {dnd: on, redirect: on}}
  - {availability: Available, activity: Available, expect: {dnd: off, redirect: off}}
  - {availability: Available, activity: Available, expect: {dnd: off, redirect: on}}
`), "m.yaml")
	if err != nil {
		t.Fatal(err)
	}
	res := c.RunTests()
	for i, want := range []bool{true, true, true, false} {
		if res[i].Pass != want {
			t.Errorf("test %d: pass %t, want %t (%+v)", i+1, res[i].Pass, want, res[i])
		}
	}
	if d := c.Decide(Presence{Availability: "Away", Activity: "Away", OutOfOffice: true}); d.DND != DNDOn || !strings.Contains(d.Reason, "out of office") {
		t.Errorf("decision %+v", d)
	}
	if _, err := Parse([]byte(minimalYAML+"tests:\n  - {availability: Away, expect: {dnd: off, redirect: maybe}}\n"), "m.yaml"); err == nil ||
		!strings.Contains(err.Error(), "tests[1].expect.redirect") {
		t.Errorf("a bad redirect expectation: %v", err)
	}
}
