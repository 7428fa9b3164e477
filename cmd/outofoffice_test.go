package cmd

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
	"github.com/teamsface/teamsface/state"
)

const oooYAML = "out_of_office:\n  redirect: voicemail\n"

// holiday gives person i (REST id i+2) an internal and an external number, membership of a group
// with a number of its own, and a voicemail box of their own (id 100+i); person i's internal
// ALWAYS redirect points at a colleague's number, off, as a user might have left it.
func (h *harness) holiday(i int) (internal, external string) {
	p := h.people[i]
	internal, external = "2"+p.login[1:], "00493011"+p.login
	h.ss.AddNumber(p.sfID, internal)
	h.ss.AddNumber(p.sfID, external)
	h.ss.SetRedirect(internal, starface.TriggerAlways, false, starface.PhoneNumberDestination("2999"))
	h.ss.SetRedirectExtra(internal, starface.TriggerAlways, "futureField", json.RawMessage(`{"kept":[1,"x"]}`))
	h.ss.AddVoicemailBox(starfacetest.VoicemailBox{ID: 100 + i, Name: "box " + p.login, Number: "8" + p.login[1:],
		Password: "pin-" + p.login + "-never-logged", UserIDs: []int{p.sfID}})
	return internal, external
}

func (h *harness) outOfOffice(i int, on bool) { h.gs.SetUserOutOfOffice(h.people[i].entraID, on) }

func (h *harness) redirectRequests() int {
	return h.ss.CountRequests("", "/rest/redirects") + h.ss.CountRequests("", "/rest/voicemailboxes")
}

func (h *harness) redirectOf(number string, tr starface.Trigger) starfacetest.RedirectState {
	h.t.Helper()
	r, ok := h.ss.RedirectOf(number, tr)
	if !ok {
		h.t.Fatalf("no %s redirect for %s", tr, number)
	}
	return r
}

// checkPutsKeepEverythingElse holds every redirect PUT since the last reset against the object
// the last list before it served: only enabled and redirectDestination may differ, every other
// member byte for byte.
func (h *harness) checkPutsKeepEverythingElse() (puts int) {
	h.t.Helper()
	served := map[string]map[string]json.RawMessage{}
	for _, r := range h.ss.Requests() {
		switch {
		case r.Method == "GET" && r.Path == "/rest/redirects" && r.Status == 200:
			var list []map[string]json.RawMessage
			if err := json.Unmarshal(r.Response, &list); err != nil {
				h.t.Fatalf("list: %v", err)
			}
			for _, o := range list {
				var id string
				_ = json.Unmarshal(o["id"], &id)
				served[id] = o
			}
		case r.Method == "PUT" && strings.HasPrefix(r.Path, "/rest/redirects/"):
			puts++
			var put map[string]json.RawMessage
			if err := json.Unmarshal(r.Body, &put); err != nil {
				h.t.Fatalf("PUT body: %v", err)
			}
			var id string
			_ = json.Unmarshal(put["id"], &id)
			was := served[id]
			if was == nil {
				h.t.Fatalf("PUT %s without a list before it", id)
			}
			for k, v := range was {
				if k == "enabled" || k == "redirectDestination" {
					continue
				}
				if !bytes.Equal(compact(v), compact(put[k])) {
					h.t.Errorf("PUT %s changed %s: %s → %s", id, k, v, put[k])
				}
			}
			if len(put) != len(was) {
				h.t.Errorf("PUT %s has %d members, the object read %d", id, len(put), len(was))
			}
		}
	}
	return puts
}

// listReadsFor counts the reads of person i's redirects since the last reset.
func (h *harness) listReadsFor(i int) int {
	n := 0
	for _, r := range h.ss.Requests() {
		q, _ := url.ParseQuery(r.Query)
		if r.Method == "GET" && r.Path == "/rest/redirects" && q.Get("actOnBehalfOf") == strconv.Itoa(h.people[i].sfID) {
			n++
		}
	}
	return n
}

func compact(b []byte) []byte {
	var out bytes.Buffer
	_ = json.Compact(&out, b)
	return out.Bytes()
}

// One user goes on holiday and comes back: exactly the ALWAYS redirects of their own numbers go
// to their own voicemail box and come back as they were; busy and timeout redirects and the
// group's number are untouched; a pass while nothing changes makes no redirect request.
func TestOutOfOfficeGoAndReturn(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, oooYAML)
	internal, external := h.holiday(0)
	h.holiday(1)
	h.ss.AddGroup(10, "Sales", h.people[0].sfID)
	h.ss.AddGroupNumber(10, "300")
	before := map[string]starfacetest.RedirectState{}
	for _, n := range []string{internal, external, "300"} {
		for _, tr := range []starface.Trigger{starface.TriggerAlways, starface.TriggerBusy, starface.TriggerTimeout} {
			before[n+string(tr)] = h.redirectOf(n, tr)
		}
	}
	h.mustRun(ExitOK, "sync", "once")
	if n := h.redirectRequests(); n != 0 {
		t.Fatalf("in the office: %d redirect requests, want none", n)
	}

	h.outOfOffice(0, true)
	h.resetLogs()
	h.advance(10 * time.Second)
	out, errs := h.mustRun(ExitOK, "sync", "once")
	for _, n := range []string{internal, external} {
		if r := h.redirectOf(n, starface.TriggerAlways); !r.Enabled || !r.Destination.Equal(starface.MailboxDestination(100)) {
			t.Errorf("%s ALWAYS after going: %+v", n, r)
		}
	}
	for k, b := range before {
		if strings.HasSuffix(k, "ALWAYS") && !strings.HasPrefix(k, "300") {
			continue
		}
		n, tr := k[:len(k)-len("ALWAYS")], starface.TriggerAlways
		for _, t2 := range []starface.Trigger{starface.TriggerBusy, starface.TriggerTimeout, starface.TriggerAlways} {
			if strings.HasSuffix(k, string(t2)) {
				n, tr = k[:len(k)-len(t2)], t2
			}
		}
		if got := h.redirectOf(n, tr); got.Enabled != b.Enabled || !got.Destination.Equal(b.Destination) {
			t.Errorf("%s %s was touched: %+v", n, tr, got)
		}
	}
	// Going costs one list read and a PUT per redirect written (the boxes once per match, and
	// the client's one check of the actOnBehalfOf form per run).
	if puts, reads := h.checkPutsKeepEverythingElse(), h.listReadsFor(0); puts != 2 || reads != 1 {
		t.Errorf("going: %d PUTs, %d list reads; want 2 and 1", puts, reads)
	}
	if !strings.Contains(out, "redirect-on") || !strings.Contains(errs, "2 redirects on") {
		t.Errorf("sync once does not say so:\n%s%s", out, errs)
	}
	if strings.Contains(out+errs, "never-logged") {
		t.Error("a voicemail box password was printed")
	}

	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once") // still away
	if n := h.redirectRequests(); n != 0 {
		t.Errorf("still away: %d redirect requests, want none", n)
	}

	h.outOfOffice(0, false)
	h.resetLogs()
	h.advance(10 * time.Second)
	_, errs = h.mustRun(ExitOK, "sync", "once")
	for k, b := range before {
		n, tr := k, starface.Trigger("")
		for _, t2 := range []starface.Trigger{starface.TriggerAlways, starface.TriggerBusy, starface.TriggerTimeout} {
			if strings.HasSuffix(k, string(t2)) {
				n, tr = strings.TrimSuffix(k, string(t2)), t2
			}
		}
		if got := h.redirectOf(n, tr); got.Enabled != b.Enabled || !got.Destination.Equal(b.Destination) {
			t.Errorf("%s %s after the return: %+v, was %+v", n, tr, got, b)
		}
	}
	if puts := h.checkPutsKeepEverythingElse(); puts != 2 || !strings.Contains(errs, "2 restored") {
		t.Errorf("coming back: %d PUTs; stderr %s", puts, errs)
	}
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.redirectRequests(); n != 0 {
		t.Errorf("back: %d redirect requests, want none", n)
	}
}

// login --check says, by reading only, whether the account may read redirects and voicemail boxes.
func TestOutOfOfficeLoginCheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, oooYAML)
	h.holiday(0)
	h.holiday(1)
	out, errs := h.mustRun(ExitOK, "login", "--check", "-o", "json")
	rows := checks(t, out)
	for _, k := range []string{"starface/act on behalf of other users", "starface/read redirects", "starface/read voicemail boxes"} {
		wantCheck(t, rows, k, "ok")
	}
	if d := rows["starface/read voicemail boxes"].Detail; !strings.Contains(d, "2 voicemail boxes") || !strings.Contains(d, "0002 has 1 of their own") {
		t.Errorf("voicemail row: %q", d)
	}
	if n := h.ss.CountRequests("PUT", "/rest/"); n != 0 {
		t.Errorf("login --check wrote %d times", n)
	}
	if strings.Contains(out+errs, "never-logged") {
		t.Error("a voicemail box password was printed")
	}
}

// A redirect on by hand is never written nor owned; one changed by hand while teamsface owns it
// is not overwritten when the user returns; PresenceUnknown changes nothing meanwhile.
func TestOutOfOfficeLeavesWhatWasSetByHand(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, oooYAML)
	internal, external := h.holiday(0)
	h.ss.SetRedirect(external, starface.TriggerAlways, true, starface.PhoneNumberDestination("0301234567")) // on by hand
	h.outOfOffice(0, true)
	h.mustRun(ExitOK, "sync", "once")
	if r := h.redirectOf(external, starface.TriggerAlways); !r.Destination.Equal(starface.PhoneNumberDestination("0301234567")) {
		t.Fatalf("the redirect on by hand was written: %+v", r)
	}
	if n := h.ss.CountRequests("PUT", "/rest/redirects/"+external); n != 0 {
		t.Errorf("%d PUTs of the redirect on by hand", n)
	}
	// Away, the user points the internal redirect at a colleague by hand.
	h.ss.SetRedirect(internal, starface.TriggerAlways, true, starface.PhoneNumberDestination("2005"))
	h.gs.SetUserPresence(h.people[0].entraID, "PresenceUnknown", "PresenceUnknown")
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.redirectRequests(); n != 0 {
		t.Errorf("PresenceUnknown: %d redirect requests", n)
	}
	h.outOfOffice(0, false)
	h.setPresence(0, "Available", "Available")
	h.resetLogs()
	h.advance(10 * time.Second)
	out, errs := h.mustRun(ExitOK, "sync", "once")
	if n := h.ss.CountRequests("PUT", "/rest/redirects/"); n != 0 {
		t.Errorf("back: %d PUTs; a redirect changed by hand was overwritten", n)
	}
	if r := h.redirectOf(internal, starface.TriggerAlways); !r.Enabled || !r.Destination.Equal(starface.PhoneNumberDestination("2005")) {
		t.Errorf("the redirect changed by hand: %+v", r)
	}
	if !strings.Contains(out, "redirect-disowned") || !strings.Contains(errs, "changed by hand") {
		t.Errorf("the return does not say so:\n%s%s", out, errs)
	}
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.redirectRequests(); n != 0 {
		t.Errorf("after the return: %d redirect requests", n)
	}
}

// A number target, written the way STARFACE takes external numbers (00, not +).
func TestOutOfOfficeToANumber(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, "out_of_office:\n  redirect: \"+49 30 1234567\"\n")
	internal, _ := h.holiday(0)
	h.ss.SetRefusePlusNumbers(true)
	h.outOfOffice(0, true)
	h.mustRun(ExitOK, "sync", "once")
	if r := h.redirectOf(internal, starface.TriggerAlways); !r.Enabled || !r.Destination.Equal(starface.PhoneNumberDestination("0049301234567")) {
		t.Errorf("redirect to a number: %+v", r)
	}
	if n := h.ss.CountRequests("", "/rest/voicemailboxes"); n != 0 {
		t.Errorf("a number target read the voicemail boxes %d times", n)
	}
}

// A user without a voicemail box of their own fails alone (exit 3, retried) and is never sent to
// another user's box; the others are redirected. The failure stops only the redirect: the Teams
// call still puts their phone on DND. The box the admin then creates is found with the next
// user match (the boxes cost a request each, so a failing user does not read them every pass):
// at once with --refresh-users, as the error says.
func TestOutOfOfficeWithoutOwnVoicemailBoxFailsAlone(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, oooYAML)
	h.holiday(0)
	p := h.people[1]
	h.ss.AddNumber(p.sfID, "2003")
	h.outOfOffice(0, true)
	h.outOfOffice(1, true)
	h.setPresence(1, "Busy", "InACall") // out of office, and in a Teams call all the same
	_, errs := h.mustRun(ExitPartial, "sync", "once")
	if !strings.Contains(errs, "no voicemail box of 0003's own") {
		t.Errorf("stderr:\n%s", errs)
	}
	if r := h.redirectOf("2003", starface.TriggerAlways); r.Enabled {
		t.Errorf("0003 was redirected: %+v", r)
	}
	if r := h.redirectOf("2002", starface.TriggerAlways); !r.Enabled {
		t.Error("0002 was not redirected")
	}
	if !h.dnd(1) {
		t.Error("0003's Teams call did not put their phone on DND: the redirect's failure held it back")
	}
	out, _ := h.mustRun(ExitOK, "presence", "get", "0003")
	if !strings.Contains(out, "no voicemail box of 0003's own") || !strings.Contains(out, "on ") {
		t.Errorf("presence get does not show both the DND and the redirect's failure:\n%s", out)
	}
	h.ss.AddVoicemailBox(starfacetest.VoicemailBox{ID: 300, UserIDs: []int{p.sfID}})
	h.advance(10 * time.Second)
	h.resetLogs()
	h.mustRun(ExitPartial, "sync", "once") // the boxes are cached with the match: still none
	if n := h.ss.CountRequests("GET", "/rest/voicemailboxes"); n != 0 {
		t.Errorf("the retry read the voicemail boxes again (%d requests)", n)
	}
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once", "--refresh-users")
	if r := h.redirectOf("2003", starface.TriggerAlways); !r.Enabled || !r.Destination.Equal(starface.MailboxDestination(300)) {
		t.Errorf("0003 once the box is there: %+v", r)
	}
	if n := h.phoneRequests("PUT"); n != 0 {
		t.Errorf("the DND already on was written again (%d PUTs)", n)
	}
}

// With out_of_office.redirect off (the default) not one redirect request is made, out of office
// or not.
func TestOutOfOfficeOffMakesNoRedirectRequest(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.holiday(0)
	h.outOfOffice(0, true)
	for range 3 {
		h.mustRun(ExitOK, "sync", "once")
		h.advance(10 * time.Second)
	}
	h.mustRun(ExitOK, "presence", "get")
	h.mustRun(ExitOK, "release")
	if n := h.redirectRequests(); n != 0 {
		t.Errorf("%d redirect requests with out_of_office.redirect off", n)
	}
}

// --dry-run plans the redirects without writing them; release puts back what teamsface owns.
func TestOutOfOfficeDryRunAndRelease(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, oooYAML)
	internal, _ := h.holiday(0)
	before := h.redirectOf(internal, starface.TriggerAlways)
	h.outOfOffice(0, true)
	out, _ := h.mustRun(ExitOK, "sync", "once", "--dry-run")
	if !strings.Contains(out, "redirect-on") || h.ss.CountRequests("PUT", "/rest/") != 0 {
		t.Errorf("dry run: %d PUTs\n%s", h.ss.CountRequests("PUT", "/rest/"), out)
	}
	// A plan that only redirects changes something all the same (CI).
	if _, errs := h.mustRun(ExitChanges, "sync", "once", "--dry-run", "--detailed-exitcode"); !strings.Contains(errs, "the plan makes 2 writes (2 to STARFACE)") {
		t.Errorf("--detailed-exitcode:\n%s", errs)
	}
	h.mustRun(ExitOK, "sync", "once")
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once", "--dry-run", "--detailed-exitcode")
	out, _ = h.mustRun(ExitOK, "presence", "get")
	if !strings.Contains(out, "(teamsface's)") {
		t.Errorf("presence get does not show the owned redirect:\n%s", out)
	}
	h.resetLogs()
	out, errs := h.mustRun(ExitOK, "release", "--dry-run")
	if h.ss.CountRequests("PUT", "/rest/") != 0 || !strings.Contains(out, "redirect-back") {
		t.Errorf("release --dry-run:\n%s%s", out, errs)
	}
	if _, errs := h.mustRun(ExitOK, "release"); !strings.Contains(errs, "put back 2 redirects") {
		t.Errorf("release does not count the redirects it put back:\n%s", errs)
	}
	if r := h.redirectOf(internal, starface.TriggerAlways); r.Enabled != before.Enabled || !r.Destination.Equal(before.Destination) {
		t.Errorf("after release: %+v, was %+v", r, before)
	}
	if _, err := os.Stat(filepath.Join(h.stateDir, "state.json")); err == nil {
		st, _, _ := state.ReadOnly(h.stateDir)
		if st.Len() != 0 {
			t.Errorf("release left %v remembered", st.Logins())
		}
	}
}

// A PBX whose actOnBehalfOf takes only logins: the client finds it out once and the go and
// return work the same.
func TestOutOfOfficeActOnBehalfOfByLogin(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 1, oooYAML)
	internal, _ := h.holiday(0)
	h.ss.SetActOnBehalfOf(starfacetest.BehalfByLogin)
	h.outOfOffice(0, true)
	h.mustRun(ExitOK, "sync", "once")
	if r := h.redirectOf(internal, starface.TriggerAlways); !r.Enabled {
		t.Errorf("not redirected through the login form: %+v", r)
	}
	for _, r := range h.ss.Requests() {
		if strings.HasPrefix(r.Path, "/rest/redirects/") && r.Method == "PUT" && !strings.Contains(r.Query, "actOnBehalfOf=0002") {
			t.Errorf("PUT %s?%s does not act for the login", r.Path, r.Query)
		}
	}
	h.outOfOffice(0, false)
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if r := h.redirectOf(internal, starface.TriggerAlways); r.Enabled {
		t.Errorf("not put back: %+v", r)
	}
}
