package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// presenceHarness has three people who match by mail, one whose UPN differs from their mail,
// and one STARFACE user without e-mail (unmatched, so never shown).
func presenceHarness(t *testing.T) *harness {
	t.Helper()
	h := newHarness(t, 3, "")
	h.ss.AddUser(starfacetest.User{ID: 20, Login: "0020", Password: "x", FirstName: "Carol", FamilyName: "Upn",
		Email: "carol@contoso.example"})
	h.gs.AddUser(graphtest.User{ID: "00000000-0000-4000-8000-000000000020", DisplayName: "Carol",
		Mail: "carol@contoso.example", UserPrincipalName: "carol.upn@contoso.onmicrosoft.com",
		AccountEnabled: true, Availability: "Away", Activity: "Away"})
	h.ss.AddUser(starfacetest.User{ID: 21, Login: "0021", Password: "x", FirstName: "No", FamilyName: "Mail"})
	return h
}

func presenceByLogin(rows []presenceRow) map[string]presenceRow {
	m := map[string]presenceRow{}
	for _, r := range rows {
		m[r.Login] = r
	}
	return m
}

func TestPresenceGetEveryMatchedUser(t *testing.T) {
	t.Parallel()
	h := presenceHarness(t)
	h.setPresence(0, "Busy", "InACall")
	h.setPresence(1, "Available", "Available")
	h.setPresence(2, "PresenceUnknown", "PresenceUnknown")

	out, _ := h.mustRun(ExitOK, "presence", "get", "-o", "json")
	// The field names are the stable interface.
	raw := decodeJSON[[]map[string]any](t, out)
	for _, r := range raw {
		for _, k := range []string{"login", "upn", "availability", "activity", "dnd", "dnd_owned", "decision", "next_action", "reason"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %v lacks %q", r["login"], k)
			}
		}
	}
	rows := presenceByLogin(decodeJSON[[]presenceRow](t, out))
	if len(rows) != 4 {
		t.Fatalf("got %d users, want the 4 matched ones: %v", len(rows), rows)
	}
	if _, ok := rows["0021"]; ok {
		t.Error("an unmatched user is listed")
	}
	if _, ok := rows["0001"]; ok {
		t.Error("an excluded user is listed")
	}
	f := false
	want := map[string]presenceRow{
		"0002": {UPN: "user2@contoso.example", Availability: "Busy", Activity: "InACall", DND: &f, Decision: "on", NextAction: "switch DND on"},
		"0003": {UPN: "user3@contoso.example", Availability: "Available", Activity: "Available", DND: &f, Decision: "off", NextAction: "none"},
		"0004": {UPN: "user4@contoso.example", Availability: "PresenceUnknown", Activity: "PresenceUnknown", DND: &f, Decision: "keep", NextAction: "none"},
		"0020": {UPN: "carol.upn@contoso.onmicrosoft.com", Availability: "Away", Activity: "Away", DND: &f, Decision: "off", NextAction: "none"},
	}
	for login, w := range want {
		g := rows[login]
		if g.UPN != w.UPN || g.Availability != w.Availability || g.Activity != w.Activity || g.DND == nil || *g.DND ||
			g.DNDOwned || g.Decision != w.Decision || g.NextAction != w.NextAction || g.Error != "" {
			t.Errorf("%s = %+v, want %+v", login, g, w)
		}
		if g.Reason == "" && g.Decision != "keep" {
			t.Errorf("%s: no reason", login)
		}
	}
	// It reads and changes nothing: no writes, no state file.
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("presence get wrote %d phone configs", n)
	}
	if n := h.gs.CountRequests("POST", presencesByUser); n != 1 {
		t.Errorf("getPresencesByUserId requests = %d, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "state.json")); err == nil {
		t.Error("presence get created state.json")
	}
}

func TestPresenceGetTable(t *testing.T) {
	t.Parallel()
	h := presenceHarness(t)
	h.setPresence(0, "Busy", "InACall")
	out, _ := h.mustRun(ExitOK, "presence", "get", "0002")
	for _, want := range []string{"LOGIN", "AVAILABILITY", "DND", "OWNED", "NEXT", "0002", "Busy", "InACall", "switch DND on"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestPresenceGetResolvesUserArguments(t *testing.T) {
	t.Parallel()
	h := presenceHarness(t)
	tests := []struct {
		name string
		args []string
		want []string // logins, in argument order
	}{
		{"login", []string{"0003"}, []string{"0003"}},
		{"e-mail", []string{"user4@contoso.example"}, []string{"0004"}},
		{"e-mail any case", []string{"USER4@Contoso.Example"}, []string{"0004"}},
		{"upn", []string{"carol.upn@contoso.onmicrosoft.com"}, []string{"0020"}},
		{"e-mail differing from upn", []string{"carol@contoso.example"}, []string{"0020"}},
		{"entra object id", []string{"00000000-0000-4000-8000-000000000002"}, []string{"0002"}},
		{"several", []string{"0020", "user2@contoso.example"}, []string{"0020", "0002"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h.resetLogs()
			out, _ := h.mustRun(ExitOK, append([]string{"presence", "get", "-o", "json"}, tc.args...)...)
			rows := decodeJSON[[]presenceRow](t, out)
			var got []string
			for _, r := range rows {
				got = append(got, r.Login)
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("presence get %v = %v, want %v", tc.args, got, tc.want)
			}
			// Only the asked-for users' phones are read.
			if n := h.phoneRequests("GET"); n != len(tc.want) {
				t.Errorf("%d phone-config reads, want %d", n, len(tc.want))
			}
		})
	}
}

// An unknown USER is named on stderr, but the users that were found are listed all the same
// (issue 14: it used to stop at the first unknown one). The exit code says whether anyone was
// shown: 3 (partial) when some were, 1 ("not found", as kubectl and gh have it) when none was.
func TestPresenceGetUnknownUser(t *testing.T) {
	t.Parallel()
	h := presenceHarness(t)
	tests := []struct {
		args  []string
		code  int
		shown string // the login listed on stdout; "" = nothing on stdout
		want  []string
	}{
		{[]string{"0002", "nobody@contoso.example"}, ExitPartial, "0002", []string{`"nobody@contoso.example"`, "users match", "1 user not found"}},
		{[]string{"0002", "0099"}, ExitPartial, "0002", []string{`"0099"`}},
		{[]string{"0021", "0002"}, ExitPartial, "0002", []string{`"0021"`, "unmatched"}}, // in scope but not matched
		{[]string{"0002", "0001"}, ExitPartial, "0002", []string{`"0001"`, "excluded"}},
		{[]string{"0099"}, ExitFailure, "", []string{`"0099"`, "1 user not found"}},
		{[]string{"0001", "nobody@contoso.example"}, ExitFailure, "", []string{`"0001"`, `"nobody@contoso.example"`, "2 users not found"}},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			out, errs := h.mustRun(tc.code, append([]string{"presence", "get"}, tc.args...)...)
			for _, w := range tc.want {
				if !strings.Contains(errs, w) {
					t.Errorf("stderr lacks %s:\n%s", w, errs)
				}
			}
			switch {
			case tc.shown == "" && out != "":
				t.Errorf("stdout is not empty:\n%s", out)
			case tc.shown != "" && (!strings.Contains(out, tc.shown) || strings.Count(strings.TrimSpace(out), "\n") != 1):
				t.Errorf("the known user is not listed (alone):\n%s", out)
			}
		})
	}
}

func TestPresenceGetShowsOwnership(t *testing.T) {
	t.Parallel()
	h := presenceHarness(t)
	h.setPresence(0, "Busy", "InACall")    // 0002: switched on by the sync
	h.setPresence(1, "Available", "Away")  // 0003: DND pressed by hand while not in a call
	h.setPresence(2, "Busy", "InAMeeting") // 0004: DND pressed by hand before the sync saw the meeting
	h.ss.SetDND(h.people[1].sfID, true)
	h.ss.SetDND(h.people[2].sfID, true)
	out, _ := h.mustRun(ExitOK, "sync", "once", "-o", "json")
	if rep := decodePass(t, out); !hasAction(rep, "0002", pass.ActionSwitchOn) || !hasAction(rep, "0004", pass.ActionAlreadyOn) {
		t.Fatalf("sync changes = %+v", rep.Changes)
	}

	h.resetLogs()
	out, _ = h.mustRun(ExitOK, "presence", "get", "-o", "json", "0002", "0003", "0004")
	rows := presenceByLogin(decodeJSON[[]presenceRow](t, out))
	tests := []struct {
		login            string
		dnd, owned       bool
		decision, action string
	}{
		{"0002", true, true, "on", "none"},
		{"0003", true, false, "off", "none"}, // never cleared: not ours
		{"0004", true, false, "on", "none"},
	}
	for _, tc := range tests {
		r := rows[tc.login]
		if r.DND == nil || *r.DND != tc.dnd || r.DNDOwned != tc.owned || r.Decision != tc.decision || r.NextAction != tc.action {
			t.Errorf("%s: dnd %v owned %v decision %q next %q (%s); want dnd %v owned %v decision %q next %q",
				tc.login, onOff(r.DND), r.DNDOwned, r.Decision, r.NextAction, r.Reason, tc.dnd, tc.owned, tc.decision, tc.action)
		}
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("presence get wrote %d phone configs", n)
	}

	// The call ends: presence get says the next pass releases 0002's DND, and only that one.
	h.setPresence(0, "Available", "Available")
	h.setPresence(2, "Available", "Available")
	out, _ = h.mustRun(ExitOK, "presence", "get", "-o", "json")
	rows = presenceByLogin(decodeJSON[[]presenceRow](t, out))
	if r := rows["0002"]; r.Decision != "off" || !strings.Contains(r.NextAction, "release") {
		t.Errorf("0002 after the call: %+v, want a release", r)
	}
	if r := rows["0004"]; r.NextAction != "none" || r.DNDOwned {
		t.Errorf("0004 (hand-set) after the meeting: %+v, want nothing to do", r)
	}
	if !h.dnd(0) || h.phoneRequests("PUT") != 0 {
		t.Error("presence get changed a DND")
	}
}

func TestPresenceGetWithNobodyMatched(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 0, "")
	out, _ := h.mustRun(ExitOK, "presence", "get", "-o", "json")
	if rows := decodeJSON[[]presenceRow](t, out); len(rows) != 0 {
		t.Errorf("rows = %+v, want none", rows)
	}
	if n := h.gs.CountRequests("POST", presencesByUser); n != 0 {
		t.Errorf("asked Graph for the presence of nobody (%d requests)", n)
	}
}
