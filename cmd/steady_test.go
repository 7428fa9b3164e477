package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

// stateFiles describes every file of the state directory by size, modification time and
// inode: equal descriptions mean nothing was written.
func (h *harness) stateFiles() map[string]string {
	h.t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(h.stateDir)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			h.t.Fatal(err)
		}
		out[e.Name()] = fmt.Sprintf("%d bytes, %s, inode %d", fi.Size(), fi.ModTime().Format(time.RFC3339Nano), inode(fi))
	}
	return out
}

func changedFiles(before, after map[string]string) []string {
	var out []string
	for name, a := range after {
		if before[name] != a {
			out = append(out, name)
		}
	}
	for name := range before {
		if _, ok := after[name]; !ok {
			out = append(out, name+" (removed)")
		}
	}
	slices.Sort(out)
	return out
}

// A steady pass writes nothing to the state directory, also when many users' Teams presence
// changed between states that decide the same; a pass with one change rewrites state.json
// once and leaves the match and the tokens alone.
func TestSteadyPassWritesNothing(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 40, "")
	for i := 0; i < 10; i++ {
		h.setPresence(i, "Busy", "InACall")
	}
	h.mustRun(ExitOK, "sync", "once")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	before := h.stateFiles()
	for _, name := range []string{"state.json", "match.json", "token-graph.json", "token-starface.json", "lock"} {
		if _, ok := before[name]; !ok {
			t.Fatalf("the state directory lacks %s: %v", name, before)
		}
	}
	// Presence changes that decide the same: in a call → in a conference call; available →
	// away (both leave DND off).
	for i := 0; i < 10; i++ {
		h.setPresence(i, "Busy", "InAConferenceCall")
	}
	for i := 10; i < 30; i++ {
		h.setPresence(i, "Away", "Away")
	}
	for pass := 0; pass < 3; pass++ {
		h.advance(10 * time.Second)
		h.mustRun(ExitOK, "sync", "once")
		if got := changedFiles(before, h.stateFiles()); len(got) != 0 {
			t.Fatalf("steady pass %d wrote %v", pass+1, got)
		}
	}
	// One change: state.json is rewritten once; the match and the token caches stay.
	h.setPresence(35, "Busy", "InACall")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	after := h.stateFiles()
	got := changedFiles(before, after)
	if !slices.Contains(got, "state.json") || slices.Contains(got, "match.json") || slices.Contains(got, "token-graph.json") || slices.Contains(got, "token-starface.json") {
		t.Errorf("a pass with one change wrote %v; want state.json (and the journal), not the match or the tokens", got)
	}
	raw, _ := os.ReadFile(filepath.Join(h.stateDir, "state.json"))
	if per := len(raw) / 40; per > 100 {
		t.Errorf("state.json holds %d bytes per user, want about 100 at most:\n%s", per, raw)
	}
}

// A version-1 state.json from an earlier teamsface is upgraded by the first run: ownership
// survives, the match moves to match.json.
func TestUpgradeOfAVersion1StateFile(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	if err := os.MkdirAll(h.stateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	v1 := `{
  "version": 1,
  "users": {
    "0002": {"starface_id": 2, "entra_id": "00000000-0000-4000-8000-000000000002", "upn": "user2@contoso.example",
             "availability": "Busy", "activity": "InACall", "applied": "on", "written": true, "owned": true,
             "dnd": true, "dnd_read_at": "2026-11-23T08:59:50Z"}
  },
  "last_pass": "2026-11-23T08:59:50Z"
}
`
	if err := os.WriteFile(filepath.Join(h.stateDir, "state.json"), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	h.ss.SetDND(2, true) // what that teamsface switched on
	h.mustRun(ExitOK, "sync", "once")
	raw, _ := os.ReadFile(filepath.Join(h.stateDir, "state.json"))
	if !strings.HasPrefix(string(raw), `{"version":3,`) {
		t.Fatalf("state.json not upgraded:\n%s", raw)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "match.json")); err != nil {
		t.Errorf("no match.json after the upgrade: %v", err)
	}
	// The upgraded state still owns 0002's DND: the call is over, so it is released.
	if h.dnd(0) {
		t.Error("the DND owned under version 1 was not released")
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if u := st.User("0002"); u == nil || u.Owned() || u.Applied() != "off" {
		t.Errorf("after the upgrade and release: %+v", u)
	}
}

// A state.json from a newer teamsface is refused, not half-read.
func TestNewerStateFileIsRefused(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "")
	os.MkdirAll(h.stateDir, 0o700)
	os.WriteFile(filepath.Join(h.stateDir, "state.json"), []byte(`{"version":9,"users":{}}`), 0o600)
	_, errs := h.mustRun(ExitFailure, "sync", "once")
	if !strings.Contains(errs, "newer teamsface") {
		t.Errorf("stderr:\n%s", errs)
	}
}

// unmatch gives person i's Entra user another address, so that no STARFACE user matches it;
// their Teams presence stays what it was.
func (h *harness) unmatch(i int) {
	p := h.people[i]
	gone := fmt.Sprintf("gone%d@elsewhere.example", i)
	a, act := h.gs.PresenceOf(p.entraID)
	h.gs.AddUser(graphtest.User{ID: p.entraID, DisplayName: "Gone", Mail: gone, UserPrincipalName: gone,
		AccountEnabled: true, Availability: a, Activity: act})
}

// One bad directory answer must not release and forget everyone (rule 8): a refreshed match
// that drops more than users.max_drop is held, the run exits 1 naming the count; a small drop
// is applied; --accept-drop applies a large one once.
func TestDropGuard(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 40, "")
	for i := 0; i < 40; i++ {
		h.setPresence(i, "Busy", "InACall")
	}
	h.mustRun(ExitOK, "sync", "once")
	// Two leave Entra: 2 of 40 is within 10% (at least 5): applied, their DND released.
	h.unmatch(0)
	h.unmatch(1)
	h.advance(10 * time.Second)
	out, _ := h.mustRun(ExitOK, "sync", "once", "--refresh-users", "-o", "json")
	if rep := decodePass(t, out); rep.Summary.Matched != 38 || rep.Summary.Released != 2 {
		t.Fatalf("small drop: summary %+v, want 38 matched and 2 released", rep.Summary)
	}
	// Twelve more vanish at once (say a group was emptied): held.
	for i := 2; i < 14; i++ {
		h.unmatch(i)
	}
	h.resetLogs()
	h.advance(10 * time.Second)
	out, errs := h.mustRun(ExitFailure, "sync", "once", "--refresh-users", "-o", "json")
	if !strings.Contains(errs, "would drop 12 of 38 users") || !strings.Contains(errs, "--accept-drop") {
		t.Errorf("stderr does not name the drop and the way out:\n%s", errs)
	}
	if rep := decodePass(t, out); rep.Summary.Matched != 38 || rep.Summary.Released != 0 {
		t.Errorf("held drop: summary %+v, want the old 38 kept and nothing released", rep.Summary)
	}
	if n := h.phoneRequests("PUT"); n != 0 || !h.dnd(5) {
		t.Errorf("held drop released %d DNDs", n)
	}
	// The next run within users.refresh works with the old match and exits 0.
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	// Accepted once: applied, the twelve released.
	h.advance(10 * time.Second)
	out, _ = h.mustRun(ExitOK, "sync", "once", "--accept-drop", "-o", "json")
	if rep := decodePass(t, out); rep.Summary.Matched != 26 || rep.Summary.Released != 12 {
		t.Errorf("accepted drop: summary %+v, want 26 matched and 12 released", rep.Summary)
	}
}

// A Retry-After is honoured in full and across runs (rule 5): a run waits for one that ends
// within 10 s; a longer one ends the run at once with exit 3 saying until when, the runs before
// that time send Graph nothing, and reading resumes after it.
func TestRetryAfterAcrossRuns(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		retryAfter string
		wait       time.Duration
		until      string
	}{
		{"12", 12 * time.Second, "09:00:22 UTC"},
		{"90", 90 * time.Second, "09:01:40 UTC"}, // not cut to 60 s
	} {
		t.Run(tc.retryAfter+"s", func(t *testing.T) {
			h := newHarness(t, 3, "")
			h.mustRun(ExitOK, "sync", "once") // the match and the tokens are cached
			const presence = "/v1.0/communications/getPresencesByUserId"
			h.gs.AddFault(graphtest.Fault{Method: "POST", Path: presence, Status: 429, RetryAfter: tc.retryAfter, Times: 1})
			h.resetLogs()
			h.advance(10 * time.Second) // 09:00:10
			_, errs := h.mustRun(ExitPartial, "sync", "once")
			if !strings.Contains(errs, "until "+tc.until) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("stderr, want one line saying until %s:\n%s", tc.until, errs)
			}
			if n := h.gs.CountRequests("POST", presence); n != 1 {
				t.Errorf("the throttled run sent %d presence requests, want 1", n)
			}
			// Runs inside the window send Graph nothing at all, and say so in one line.
			h.resetLogs()
			for left := tc.wait - 2*time.Second; left > 0; left -= 10 * time.Second {
				h.advance(min(left, 10*time.Second))
				_, errs := h.mustRun(ExitPartial, "sync", "once")
				if n := len(h.gs.Requests()); n != 0 {
					t.Fatalf("a run inside the Retry-After window sent Graph %d requests", n)
				}
				if !strings.Contains(errs, "until "+tc.until) {
					t.Errorf("stderr:\n%s", errs)
				}
			}
			h.advance(3 * time.Second) // past the window
			h.setPresence(0, "Busy", "InACall")
			h.mustRun(ExitOK, "sync", "once")
			if n := h.gs.CountRequests("POST", presence); n != 1 || !h.dnd(0) {
				t.Errorf("after the window: %d presence requests, DND %v; want reading to resume", n, h.dnd(0))
			}
		})
	}
}

// presence get honours Graph's Retry-After as the passes do: throttled, it says until when (exit
// 3) instead of failing; inside a window an earlier run was given, it asks Graph nothing.
func TestPresenceGetHonoursRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.mustRun(ExitOK, "sync", "once")
	const presence = "/v1.0/communications/getPresencesByUserId"
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: presence, Status: 429, RetryAfter: "30", Times: 1})
	_, errs := h.mustRun(ExitPartial, "presence", "get")
	if !strings.Contains(errs, "Graph asked to wait until") {
		t.Errorf("stderr:\n%s", errs)
	}
	// A sync run remembers it; presence get inside the window sends Graph nothing.
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: presence, Status: 429, RetryAfter: "60", Times: 1})
	h.advance(time.Second)
	h.mustRun(ExitPartial, "sync", "once")
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitPartial, "presence", "get")
	if n := len(h.gs.Requests()); n != 0 {
		t.Errorf("presence get sent Graph %d requests inside the Retry-After window", n)
	}
}

// Every command honours a Retry-After an earlier run was given (DESIGN.md "Every command runs the
// same protocol"): inside the window none sends Graph a request; those that only read say until
// when and exit 3, as a pass does.
func TestEveryCommandHonoursARememberedRetryAfter(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "starface_to_teams: {enabled: true}\n")
	h.mustRun(ExitOK, "sync", "once")
	h.gs.AddFault(graphtest.Fault{Method: "POST", Path: "/v1.0/communications/getPresencesByUserId", Status: 429, RetryAfter: "600", Times: 1})
	h.advance(10 * time.Second)
	h.mustRun(ExitPartial, "sync", "once") // remembers it: until 09:10:10
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"users", "match"}, ExitPartial},
		{[]string{"presence", "get"}, ExitPartial},
		{[]string{"login", "--check"}, ExitPartial},
		{[]string{"sync", "once", "--dry-run"}, ExitPartial},
		{[]string{"sync", "once"}, ExitPartial},
		{[]string{"release", "--dry-run"}, ExitOK}, // nothing to clear: it needs no Graph request
	} {
		h.resetLogs()
		h.advance(time.Second)
		code, out, errs := h.run(tc.args...)
		name := strings.Join(tc.args, " ")
		if code != tc.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", name, code, tc.code, out, errs)
		}
		if n := h.gs.CountRequests("", "/v1.0/"); n != 0 {
			t.Errorf("%s sent Graph %d requests inside the Retry-After window", name, n)
		}
		if tc.code == ExitPartial && !strings.Contains(errs, "Graph asked to wait until 09:10:10 UTC") {
			t.Errorf("%s: stderr does not say until when:\n%s", name, errs)
		}
	}
}

// Without a cached match (match.json lost or unreadable) the users remembered stand for the
// old match: a bad directory answer still cannot release and forget everyone.
func TestDropGuardWithoutACachedMatch(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 20, "")
	for i := 0; i < 20; i++ {
		h.setPresence(i, "Busy", "InACall")
	}
	h.mustRun(ExitOK, "sync", "once")
	if err := os.Remove(filepath.Join(h.stateDir, "match.json")); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 20; i++ {
		h.unmatch(i) // Entra answers with nobody matching (an emptied group, say)
	}
	h.resetLogs()
	h.advance(10 * time.Second)
	_, errs := h.mustRun(ExitFailure, "sync", "once")
	if !strings.Contains(errs, "would drop 20 of 20 users") {
		t.Errorf("stderr:\n%s", errs)
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("%d DNDs released on a bad directory answer", n)
	}
	if st, _, _ := state.ReadOnly(h.stateDir); st.Len() != 20 {
		t.Errorf("%d users remembered, want 20", st.Len())
	}
}

// A user who fails pass after pass is counted, but does not rewrite the state every pass: only
// the start and the end of the failures are saved (with the time they started).
func TestPersistentFailureWritesOnlyWhenItStartsAndEnds(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.mustRun(ExitOK, "sync", "once")
	h.setPresence(0, "Busy", "InACall")
	h.ss.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/2/phoneconfig", Status: 404})
	h.advance(10 * time.Second)
	h.mustRun(ExitPartial, "sync", "once") // the failures start: saved
	before := h.stateFiles()
	for pass := 0; pass < 3; pass++ {
		h.advance(10 * time.Second)
		h.mustRun(ExitPartial, "sync", "once")
	}
	if got := changedFiles(before, h.stateFiles()); len(got) != 0 {
		t.Errorf("passes that only failed again wrote %v", got)
	}
	st, _, _ := state.ReadOnly(h.stateDir)
	if u := st.User("0002"); u.FailingSince().IsZero() || u.LastError() == "" {
		t.Errorf("the failures' start is not saved: %+v", u)
	}
	h.ss.ClearFaults()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	st, _, _ = state.ReadOnly(h.stateDir)
	if u := st.User("0002"); u.Failures() != 0 || !u.FailingSince().IsZero() || !h.dnd(0) {
		t.Errorf("after the failures ended: %+v, DND %v", u, h.dnd(0))
	}
}
