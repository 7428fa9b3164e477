package starface_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

var (
	alice = starface.UserRef{ID: 17, Login: "0003"}
	bob   = starface.UserRef{ID: 18, Login: "0004"}
)

const boxPIN = "PIN-4711-geheim"

// newRedirectServer is newServer with numbers, a group number and voicemail boxes: Alice (17)
// has 201 and 0049301234201, Bob (18) has 202, the Support group (Alice) has 800; Alice's box
// is 5, Bob's 7, Support's 6.
func newRedirectServer(t *testing.T) *starfacetest.Server {
	t.Helper()
	s := newServer(t)
	s.AddNumber(17, "201")
	s.AddNumber(17, "0049301234201")
	s.AddNumber(18, "202")
	s.AddGroupNumber(5, "800")
	s.AddVoicemailBox(starfacetest.VoicemailBox{ID: 5, Name: "Alice", Number: "5201", Password: boxPIN, UserIDs: []int{17}})
	s.AddVoicemailBox(starfacetest.VoicemailBox{ID: 6, Name: "Support", Number: "5800", Password: boxPIN + "-6", GroupIDs: []int{5}})
	s.AddVoicemailBox(starfacetest.VoicemailBox{ID: 7, Name: "Bob", Number: "5202", Password: boxPIN + "-7", UserIDs: []int{18}})
	return s
}

func TestRedirectsList(t *testing.T) {
	s := newRedirectServer(t)
	c := newClient(t, s, nil)
	rs, err := c.Redirects(t.Context(), alice)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rs {
		got = append(got, fmt.Sprintf("%s %s %s group=%t on=%t %s", r.ID(), r.PhoneNumber(), r.Trigger(), r.GroupNumber(), r.Enabled(), r.Destination()))
	}
	want := []string{
		"201-ALWAYS 201 ALWAYS group=false on=false number ",
		"201-BUSY 201 BUSY group=false on=false number ",
		"201-TIMEOUT 201 TIMEOUT group=false on=false number ",
		"0049301234201-ALWAYS 0049301234201 ALWAYS group=false on=false number ",
		"0049301234201-BUSY 0049301234201 BUSY group=false on=false number ",
		"0049301234201-TIMEOUT 0049301234201 TIMEOUT group=false on=false number ",
		"800-ALWAYS 800 ALWAYS group=true on=false number ",
		"800-BUSY 800 BUSY group=true on=false number ",
		"800-TIMEOUT 800 TIMEOUT group=true on=false number ",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Alice's redirects:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	reqs := s.Requests()
	last := reqs[len(reqs)-1]
	if last.Path != "/rest/redirects" || last.Query != "actOnBehalfOf=17" {
		t.Errorf("sent %s?%s, want /rest/redirects?actOnBehalfOf=17", last.Path, last.Query)
	}
	one, err := c.Redirect(t.Context(), alice, "800-ALWAYS")
	if err != nil || one.ID() != "800-ALWAYS" || !one.GroupNumber() {
		t.Errorf("Redirect(800-ALWAYS) = %v, %v", one, err)
	}
	_, err = c.Redirect(t.Context(), alice, "202-ALWAYS") // Bob's
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != 404 {
		t.Errorf("another user's redirect: %v, want a 404", err)
	}
}

// Switching a redirect on and putting it back: only enabled and the destination change, every
// other field goes back exactly as the PBX served it, and the PBX ends as it began.
func TestPutRedirectRoundTrip(t *testing.T) {
	s := newRedirectServer(t)
	s.SetRedirect("201", starface.TriggerAlways, false, starface.PhoneNumberDestination("0049301111"))
	s.SetRedirectExtra("201", starface.TriggerAlways, "ringTimeout", json.RawMessage(`{"seconds":[15,30],"note":"<a&b>"}`))
	orig, _ := s.RedirectOf("201", starface.TriggerAlways)
	c := newClient(t, s, nil)
	ctx := t.Context()
	always := func() starface.Redirect {
		t.Helper()
		rs, err := c.Redirects(ctx, alice)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rs {
			if r.PhoneNumber() == "201" && r.Trigger() == starface.TriggerAlways {
				return r
			}
		}
		t.Fatal("no ALWAYS redirect of 201")
		return starface.Redirect{}
	}
	before := always()
	served := lastResponseObject(t, s, "GET", "/rest/redirects", "201-ALWAYS")

	target := starface.MailboxDestination(5)
	on := before.WithTarget(true, target)
	if before.Enabled() || !on.Enabled() || !on.Destination().Equal(target) || !on.Shows(true, target) || on.SameTarget(before) {
		t.Fatalf("WithTarget: before %v, after %v", before, on)
	}
	if err := c.PutRedirect(ctx, alice, on); err != nil {
		t.Fatal(err)
	}
	put := lastRequestObject(t, s, "PUT")
	assertOnlyChanged(t, served, put, map[string]string{
		"enabled": "true", "redirectDestination": `{"mailboxId":"5","redirectDestinationType":"MAILBOX"}`})
	if st, _ := s.RedirectOf("201", starface.TriggerAlways); !st.Enabled || !st.Destination.Equal(target) {
		t.Fatalf("PBX holds %+v, want on → mailbox 5", st)
	}
	reqs := s.Requests()
	if q := reqs[len(reqs)-1].Query; q != "actOnBehalfOf=17" {
		t.Errorf("PUT query %q", q)
	}

	// What teamsface wrote is what the PBX shows; putting back the destination as read
	// restores the PBX.
	now := always()
	if !now.SameTarget(on) || !now.Shows(true, target) {
		t.Fatalf("read back %v, want it to show what was written (%v)", now, on)
	}
	if err := c.PutRedirect(ctx, alice, now.WithTarget(before.Enabled(), before.Destination())); err != nil {
		t.Fatal(err)
	}
	back := lastRequestObject(t, s, "PUT")
	if string(back["redirectDestination"]) != string(served["redirectDestination"]) {
		t.Errorf("restored destination %s, want as read %s", back["redirectDestination"], served["redirectDestination"])
	}
	st, _ := s.RedirectOf("201", starface.TriggerAlways)
	if st.Enabled != orig.Enabled || !st.Destination.Equal(orig.Destination) {
		t.Errorf("PBX holds %+v after the restore, want %+v", st, orig)
	}
	if !st.LastMailbox.Equal(target) {
		t.Errorf("last mailbox %v, want the PBX to remember %v", st.LastMailbox, target)
	}
	if !always().SameTarget(before) {
		t.Error("the restored redirect does not show the target read at first")
	}
}

// assertOnlyChanged: put holds every field of served with the same bytes, except the changed
// ones, which hold want.
func assertOnlyChanged(t *testing.T, served, put map[string]json.RawMessage, want map[string]string) {
	t.Helper()
	if len(put) != len(served) {
		t.Errorf("PUT has %d fields, the PBX served %d", len(put), len(served))
	}
	for k, v := range served {
		w, changed := want[k]
		switch {
		case changed && compact(put[k]) != w:
			t.Errorf("PUT %s = %s, want %s", k, put[k], w)
		case !changed && string(put[k]) != string(v):
			t.Errorf("PUT %s = %s, want it as served: %s", k, put[k], v)
		}
	}
}

func compact(raw json.RawMessage) string {
	var v any
	_ = json.Unmarshal(raw, &v)
	b, _ := json.Marshal(v)
	return string(b)
}

// lastResponseObject returns, from the last answer to method path, the array element with
// this id, field by field as served.
func lastResponseObject(t *testing.T, s *starfacetest.Server, method, path, id string) map[string]json.RawMessage {
	t.Helper()
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method != method || reqs[i].Path != path || reqs[i].Status != 200 {
			continue
		}
		var list []map[string]json.RawMessage
		if err := json.Unmarshal(reqs[i].Response, &list); err != nil {
			t.Fatal(err)
		}
		for _, m := range list {
			if string(m["id"]) == `"`+id+`"` {
				return m
			}
		}
	}
	t.Fatalf("no answer to %s %s with %s", method, path, id)
	return nil
}

func lastRequestObject(t *testing.T, s *starfacetest.Server, method string) map[string]json.RawMessage {
	t.Helper()
	reqs := s.Requests()
	for i := len(reqs) - 1; i >= 0; i-- {
		if reqs[i].Method == method {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(reqs[i].Body, &m); err != nil {
				t.Fatalf("%s body %q: %v", method, reqs[i].Body, err)
			}
			return m
		}
	}
	t.Fatalf("no %s request", method)
	return nil
}

// What the double refuses reaches the caller as an *Error with the PBX's status and message.
func TestPutRedirectRefused(t *testing.T) {
	tests := []struct {
		name   string
		target starface.Destination
		enable bool
		status int
		msg    string
	}{
		{"a box the PBX does not have", starface.MailboxDestination(99), true, 400, `no voicemail box "99"`},
		{"a number that is none", starface.PhoneNumberDestination("call me"), true, 400, "invalid redirect target number"},
		{"an empty number switched on", starface.PhoneNumberDestination(""), true, 400, "invalid redirect target number"},
		{"an unknown kind", starface.Destination{Kind: "USER", PhoneNumber: "0003"}, true, 400, `unknown redirectDestinationType "USER"`},
		{"an empty number switched off", starface.PhoneNumberDestination(""), false, 0, ""},
		{"the group's number", starface.MailboxDestination(6), true, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRedirectServer(t)
			c := newClient(t, s, nil)
			rs, err := c.Redirects(t.Context(), alice)
			if err != nil {
				t.Fatal(err)
			}
			r := rs[0]
			if tt.name == "the group's number" {
				r = rs[6]
			}
			err = c.PutRedirect(t.Context(), alice, r.WithTarget(tt.enable, tt.target))
			if tt.status == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *starface.Error
			if !errors.As(err, &se) || se.Status != tt.status || !strings.Contains(se.Message, tt.msg) {
				t.Fatalf("err = %v, want %d %q", err, tt.status, tt.msg)
			}
			if !strings.HasPrefix(err.Error(), `starface: put redirect "201-ALWAYS" of 0003: 400 Bad Request`) {
				t.Errorf("message %q", err)
			}
		})
	}
	s := newRedirectServer(t)
	if err := newClient(t, s, nil).PutRedirect(t.Context(), alice, starface.Redirect{}); err == nil {
		t.Error("a redirect not read from the PBX was put")
	}
	if n := s.CountRequests("PUT", ""); n != 0 {
		t.Errorf("%d PUTs of a zero redirect", n)
	}
}

// Ids are opaque: one with characters that mean something in a URL reaches the PBX intact.
func TestRedirectIDEscaped(t *testing.T) {
	s := newRedirectServer(t)
	const id = "a/b?c=1#d %e+f"
	s.SetRedirectID("201", starface.TriggerAlways, id)
	c := newClient(t, s, nil)
	r, err := c.Redirect(t.Context(), alice, id)
	if err != nil || r.ID() != id {
		t.Fatalf("Redirect(%q) = %v, %v", id, r, err)
	}
	if err := c.PutRedirect(t.Context(), alice, r.WithTarget(true, starface.MailboxDestination(5))); err != nil {
		t.Fatal(err)
	}
	for _, req := range s.Requests() {
		if req.Path == "/rest/login" {
			continue
		}
		if req.Path != "/rest/redirects/"+id || req.Query != "actOnBehalfOf=17" {
			t.Errorf("%s %s?%s, want the id as one path segment", req.Method, req.Path, req.Query)
		}
	}
	if st, _ := s.RedirectOf("201", starface.TriggerAlways); !st.Enabled {
		t.Error("the PUT did not reach the redirect")
	}
}

// actOnBehalfOf: the id first; when the PBX refuses it, the login once; the form that worked
// is remembered for the PBX, across runs through the cache directory, and a remembered form
// that stops working falls back the same way.
func TestActOnBehalfOfFallback(t *testing.T) {
	s := newRedirectServer(t)
	dir := t.TempDir()
	withCache := func(o *starface.Options) { o.TokenCacheDir = dir }
	behalfSent := func() []string {
		var out []string
		for _, r := range s.Requests() {
			if strings.HasPrefix(r.Path, "/rest/redirects") {
				q, _ := url.ParseQuery(r.Query)
				out = append(out, fmt.Sprintf("%s=%d", q.Get("actOnBehalfOf"), r.Status))
			}
		}
		s.ResetRequests()
		return out
	}
	steps := []struct {
		name  string
		pbx   starfacetest.BehalfForm
		fresh bool // a new client (a new run) on the same cache directory
		want  []string
		form  string
	}{
		{"id taken", starfacetest.BehalfByID, false, []string{"17=200"}, starface.BehalfID},
		{"login only: id refused, login tried", starfacetest.BehalfByLogin, false, []string{"17=404", "0003=200"}, starface.BehalfLogin},
		{"remembered", starfacetest.BehalfByLogin, false, []string{"0003=200"}, starface.BehalfLogin},
		{"remembered across runs", starfacetest.BehalfByLogin, true, []string{"0003=200"}, starface.BehalfLogin},
		// "0003" read as an id names user 3, whom the PBX does not have.
		{"the PBX changed back", starfacetest.BehalfByID, false, []string{"0003=404", "17=200"}, starface.BehalfID},
		{"forgotten across runs", starfacetest.BehalfByID, true, []string{"17=200"}, starface.BehalfID},
	}
	c := newClient(t, s, withCache)
	for _, st := range steps {
		if st.fresh {
			c = newClient(t, s, withCache)
		}
		s.SetActOnBehalfOf(st.pbx)
		s.ResetRequests()
		rs, err := c.Redirects(t.Context(), alice)
		if err != nil || len(rs) != 9 {
			t.Fatalf("%s: %d redirects, %v", st.name, len(rs), err)
		}
		if got := behalfSent(); !reflect.DeepEqual(got, st.want) {
			t.Errorf("%s: sent %v, want %v", st.name, got, st.want)
		}
		if got := c.ActOnBehalfOfForm(); got != st.form {
			t.Errorf("%s: form %s, want %s", st.name, got, st.form)
		}
	}
	// The cache file holds the form only while it is not the default, and never a password.
	b, err := os.ReadFile(filepath.Join(dir, starface.CacheFileName))
	if err != nil || strings.Contains(string(b), "act_on_behalf_of") || strings.Contains(string(b), adminPW) {
		t.Errorf("cache file: %s, %v", b, err)
	}
}

func TestActOnBehalfOfForms(t *testing.T) {
	tests := []struct {
		name   string
		pbx    starfacetest.BehalfForm
		user   starface.UserRef
		login  string // the client's login; "" the administrator
		sent   []string
		status int // the *Error's status, 0 for success
	}{
		{"login only", starfacetest.BehalfByLogin, starface.UserRef{Login: "0003"}, "", []string{"0003"}, 0},
		{"id only", starfacetest.BehalfByID, starface.UserRef{ID: 17}, "", []string{"17"}, 0},
		{"id only, the PBX takes logins", starfacetest.BehalfByLogin, starface.UserRef{ID: 17}, "", []string{"17"}, 404},
		{"nobody", starfacetest.BehalfByID, starface.UserRef{ID: 99, Login: "0099"}, "", []string{"99", "0099"}, 404},
		{"a non-administrator for another user", starfacetest.BehalfByID, bob, "0003", []string{"18", "0004"}, 403},
		{"a non-administrator for herself", starfacetest.BehalfByID, alice, "0003", []string{"17"}, 0},
		{"no user", starfacetest.BehalfByID, starface.UserRef{}, "", nil, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRedirectServer(t)
			s.SetActOnBehalfOf(tt.pbx)
			c := newClient(t, s, func(o *starface.Options) {
				if tt.login != "" {
					o.Login, o.Password = tt.login, alicePW
				}
			})
			_, err := c.Redirects(t.Context(), tt.user)
			var sent []string
			for _, r := range s.Requests() {
				if r.Path == "/rest/redirects" {
					q, _ := url.ParseQuery(r.Query)
					sent = append(sent, q.Get("actOnBehalfOf"))
				}
			}
			if !reflect.DeepEqual(sent, tt.sent) {
				t.Errorf("sent %v, want %v", sent, tt.sent)
			}
			var se *starface.Error
			switch {
			case tt.status == 0 && err != nil:
				t.Fatal(err)
			case tt.status > 0 && (!errors.As(err, &se) || se.Status != tt.status):
				t.Fatalf("err = %v, want status %d", err, tt.status)
			case tt.status < 0 && err == nil:
				t.Fatal("no error")
			}
			if len(tt.sent) == 2 && tt.status > 0 && !strings.Contains(err.Error(), "with actOnBehalfOf as login ("+tt.user.Login+") instead") {
				t.Errorf("error %q does not tell both answers", err)
			}
		})
	}
}

// A failing PBX is not a refused user: no fallback, the GET retries as any other.
func TestActOnBehalfOfNoFallbackOnServerError(t *testing.T) {
	s := newRedirectServer(t)
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/redirects", Status: 503})
	c := newClient(t, s, nil)
	if _, err := c.Redirects(t.Context(), alice); err == nil {
		t.Fatal("no error")
	}
	for _, r := range s.Requests() {
		if r.Path == "/rest/redirects" && r.Query != "actOnBehalfOf=17" {
			t.Errorf("sent %s after a 503", r.Query)
		}
	}
	if n := s.CountRequests("GET", "/rest/redirects"); n != 3 {
		t.Errorf("%d GETs, want 3 (two retries)", n)
	}
	if c.ActOnBehalfOfForm() != starface.BehalfID {
		t.Error("a 503 changed the form")
	}
}

func TestVoicemailBoxes(t *testing.T) {
	s := newRedirectServer(t)
	ctx := t.Context()
	boxes, err := newClient(t, s, nil).VoicemailBoxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []starface.VoicemailBox{
		{ID: 5, Name: "Alice", Number: "5201", UserIDs: []int{17}},
		{ID: 6, Name: "Support", Number: "5800", GroupIDs: []int{5}},
		{ID: 7, Name: "Bob", Number: "5202", UserIDs: []int{18}},
	}
	if !reflect.DeepEqual(boxes, want) {
		t.Errorf("boxes = %+v\nwant %+v", boxes, want)
	}
	if own := starface.BoxesOf(boxes, 17); len(own) != 1 || own[0].ID != 5 {
		t.Errorf("Alice's boxes: %+v", own)
	}
	if own := starface.BoxesOf(boxes, 1); len(own) != 0 {
		t.Errorf("the administrator's boxes: %+v", own)
	}
	// A non-administrator sees her own box and her group's.
	boxes, err = newClient(t, s, func(o *starface.Options) { o.Login, o.Password = "0003", alicePW }).VoicemailBoxes(ctx)
	if err != nil || len(boxes) != 2 || boxes[0].ID != 5 || boxes[1].ID != 6 {
		t.Errorf("Alice sees %+v, %v", boxes, err)
	}
	// A box deleted between the list and its detail is left out; another failure fails.
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/voicemailboxes/6", Status: 404, Times: 1})
	boxes, err = newClient(t, s, nil).VoicemailBoxes(ctx)
	if err != nil || len(boxes) != 2 || boxes[1].ID != 7 {
		t.Errorf("with box 6 gone: %+v, %v", boxes, err)
	}
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/voicemailboxes/7", Status: 403, Times: 1})
	_, err = newClient(t, s, nil).VoicemailBoxes(ctx)
	if err == nil || !strings.Contains(err.Error(), "starface: get voicemail box 7: 403") {
		t.Errorf("a refused detail: %v", err)
	}
}

// The box password the detail carries reaches no log line, no value the client returns, no
// error and no file.
func TestVoicemailPasswordNeverKept(t *testing.T) {
	s := newRedirectServer(t)
	var logs syncBuffer
	dir := t.TempDir()
	c := newClient(t, s, func(o *starface.Options) { o.Logger = debugLogger(&logs); o.TokenCacheDir = dir })
	boxes, err := c.VoicemailBoxes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	box, err := c.VoicemailBox(t.Context(), 5)
	if err != nil {
		t.Fatal(err)
	}
	served := 0
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Response), boxPIN) {
			served++
		}
	}
	if served != 4 {
		t.Fatalf("the double served the password %d times, want 4: the test proves nothing", served)
	}
	enc, _ := json.Marshal(boxes)
	files, _ := os.ReadDir(dir)
	var cached []byte
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(dir, f.Name()))
		cached = append(cached, b...)
	}
	for what, text := range map[string]string{
		"debug log": logs.String(), "%+v": fmt.Sprintf("%+v %+v", boxes, box), "%#v": fmt.Sprintf("%#v %#v", boxes, box),
		"JSON": string(enc), "cache directory": string(cached),
	} {
		if strings.Contains(text, "PIN-4711") {
			t.Errorf("the password shows in the %s: %s", what, text)
		}
	}
	if !strings.Contains(logs.String(), "/rest/voicemailboxes/5") {
		t.Errorf("the debug log lacks the detail request: %s", logs.String())
	}
}
