package starface_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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
	if _, err := c.ActOnBehalfOfForm(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	r, err := c.Redirect(t.Context(), alice, id)
	if err != nil || r.ID() != id {
		t.Fatalf("Redirect(%q) = %v, %v", id, r, err)
	}
	if err := c.PutRedirect(t.Context(), alice, r.WithTarget(true, starface.MailboxDestination(5))); err != nil {
		t.Fatal(err)
	}
	for _, req := range s.Requests() {
		if req.Path != "/rest/redirects/"+id || req.Query != "actOnBehalfOf=17" {
			t.Errorf("%s %s?%s, want the id as one path segment", req.Method, req.Path, req.Query)
		}
	}
	if st, _ := s.RedirectOf("201", starface.TriggerAlways); !st.Enabled {
		t.Error("the PUT did not reach the redirect")
	}
}

// behalfSent lists the actOnBehalfOf values of the redirect requests logged since the last
// call, "-" for none, with the answer's status; and empties the log.
func behalfSent(s *starfacetest.Server) []string {
	var out []string
	for _, r := range s.Requests() {
		if strings.HasPrefix(r.Path, "/rest/redirects") {
			q, _ := url.ParseQuery(r.Query)
			v := "-"
			if q.Has("actOnBehalfOf") {
				v = q.Get("actOnBehalfOf")
			}
			out = append(out, fmt.Sprintf("%s=%d", v, r.Status))
		}
	}
	s.ResetRequests()
	return out
}

// The form of actOnBehalfOf is probed once per client with the signed-in login (id 1, login
// 0001): its own list, then the same on behalf of its id and, if refused, of its login.
func TestActOnBehalfOfProbe(t *testing.T) {
	tests := []struct {
		name    string
		pbx     starfacetest.BehalfForm
		ownList bool     // the administrator has a number of its own, so the lists compared differ by user
		first   []string // the first call: the probe, then the call
		then    []string // the second call
		form    string
	}{
		{"the PBX takes ids", starfacetest.BehalfByID, true,
			[]string{"-=200", "1=200", "17=200"}, []string{"17=200"}, starface.BehalfID},
		{"the PBX takes logins", starfacetest.BehalfByLogin, true,
			[]string{"-=200", "1=404", "0001=200", "0003=200"}, []string{"0003=200"}, starface.BehalfLogin},
		// A dedicated API login has no number: its empty list proves nothing, so the form must
		// also be refused for nobody.
		{"ids, a login without numbers", starfacetest.BehalfByID, false,
			[]string{"-=200", "1=200", "2147483647=404", "17=200"}, []string{"17=200"}, starface.BehalfID},
		{"logins, a login without numbers", starfacetest.BehalfByLogin, false,
			[]string{"-=200", "1=404", "0001=200", "teamsface-probe-no-such-login=404", "0003=200"}, []string{"0003=200"}, starface.BehalfLogin},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRedirectServer(t)
			if tt.ownList {
				s.AddNumber(1, "200")
			}
			s.SetActOnBehalfOf(tt.pbx)
			c := newClient(t, s, nil)
			s.ResetRequests()
			for i, want := range [][]string{tt.first, tt.then} {
				rs, err := c.Redirects(t.Context(), alice)
				if err != nil || len(rs) != 9 {
					t.Fatalf("call %d: %d redirects, %v", i+1, len(rs), err)
				}
				if got := behalfSent(s); !reflect.DeepEqual(got, want) {
					t.Errorf("call %d sent %v, want %v", i+1, got, want)
				}
			}
			if form, err := c.ActOnBehalfOfForm(t.Context()); form != tt.form || err != nil {
				t.Errorf("form %s, %v; want %s", form, err, tt.form)
			}
			if n := s.CountRequests("", ""); n != 0 {
				t.Errorf("ActOnBehalfOfForm after the probe sent %d requests", n)
			}
		})
	}
}

// A PBX that ignores actOnBehalfOf would list the login's own (empty) redirects for anyone, and a
// write would change the wrong redirects: the probe finds out, and nothing is read or written.
func TestActOnBehalfOfIgnoredIsRefused(t *testing.T) {
	s := newRedirectServer(t)
	s.SetActOnBehalfOf(starfacetest.BehalfIgnored)
	c := newClient(t, s, nil)
	rs, err := c.Redirects(t.Context(), alice)
	if err == nil || !strings.Contains(err.Error(), "does not tell users apart by actOnBehalfOf") || len(rs) != 0 {
		t.Fatalf("redirects through a PBX that ignores actOnBehalfOf: %v, %v", rs, err)
	}
	if n := s.CountRequests("PUT", ""); n != 0 {
		t.Errorf("%d writes", n)
	}
}

// A user's refused id never falls back to the login: on a PBX that takes ids, the login "0003"
// is the id 3, someone else.
func TestActOnBehalfOfNeverAnotherUser(t *testing.T) {
	s := newRedirectServer(t)
	s.AddUser(starfacetest.User{ID: 3, Login: "0009"})
	s.AddNumber(3, "209")
	c := newClient(t, s, nil)
	gone := starface.UserRef{ID: 40, Login: "0003"} // deleted since the user list was read
	rs, err := c.Redirects(t.Context(), gone)
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != 404 || len(rs) != 0 {
		t.Fatalf("redirects of a deleted user: %v, %v", rs, err)
	}
	for _, r := range s.Requests() {
		if strings.Contains(r.Query, "0003") {
			t.Errorf("sent %s?%s: user 3's redirects taken for %s's", r.Path, r.Query, gone)
		}
	}
}

// The probe's failures: nothing is remembered, the next call probes again.
func TestActOnBehalfOfProbeFails(t *testing.T) {
	tests := []struct {
		name string
		rt   func(base http.RoundTripper) http.RoundTripper
		err  string
	}{
		{"both forms refused", func(base http.RoundTripper) http.RoundTripper {
			return answerBehalf(base, func(string) (int, string) { return 400, `{"code":"400","message":"invalid actOnBehalfOf"}` })
		}, "the PBX refuses both the id and the login of 0001: 400 Bad Request: invalid actOnBehalfOf; 400 Bad Request"},
		{"another user's list", func(base http.RoundTripper) http.RoundTripper {
			return answerBehalf(base, func(v string) (int, string) {
				return 200, `[{"id":"x","enabled":false,"phoneNumber":"9","groupNumber":false}]`
			})
		}, "with actOnBehalfOf=1 (the id of 0001) the PBX lists other redirects than 0001's own"},
		{"the PBX fails", func(base http.RoundTripper) http.RoundTripper {
			return answerBehalf(base, func(string) (int, string) { return 503, `{"code":"503","message":"busy"}` })
		}, "503 Service Unavailable: busy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newRedirectServer(t)
			c := newClient(t, s, func(o *starface.Options) {
				o.HTTPClient = &http.Client{Transport: tt.rt(s.Client().Transport)}
			})
			_, err := c.Redirects(t.Context(), alice)
			if err == nil || !strings.Contains(err.Error(), "starface: list redirects of 0003: find the form of actOnBehalfOf: ") ||
				!strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %v, want %q", err, tt.err)
			}
			before := s.CountRequests("GET", "/rest/users/me")
			if _, err := c.Redirects(t.Context(), alice); err == nil {
				t.Fatal("the second call succeeded")
			}
			if s.CountRequests("GET", "/rest/users/me") != before+1 {
				t.Error("a failed probe was remembered")
			}
		})
	}
}

// answerBehalf answers every request carrying actOnBehalfOf itself, as a PBX of another kind
// would; the rest goes to the double.
func answerBehalf(base http.RoundTripper, answer func(value string) (int, string)) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if !r.URL.Query().Has("actOnBehalfOf") {
			return base.RoundTrip(r)
		}
		status, body := answer(r.URL.Query().Get("actOnBehalfOf"))
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// Concurrent first calls share one probe.
func TestActOnBehalfOfOneProbe(t *testing.T) {
	s := newRedirectServer(t)
	c := newClient(t, s, nil)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := c.Redirects(t.Context(), alice)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := s.CountRequests("GET", "/rest/users/me"); n != 1 {
		t.Errorf("%d probes, want 1", n)
	}
}

func TestActOnBehalfOfForms(t *testing.T) {
	tests := []struct {
		name  string
		pbx   starfacetest.BehalfForm
		user  starface.UserRef
		login string // the client's login; "" the administrator
		sent  []string
		err   string
	}{
		{"login only, the PBX takes logins", starfacetest.BehalfByLogin, starface.UserRef{Login: "0003"}, "", []string{"0003=200"}, ""},
		{"id only, the PBX takes ids", starfacetest.BehalfByID, starface.UserRef{ID: 17}, "", []string{"17=200"}, ""},
		{"id only, the PBX takes logins", starfacetest.BehalfByLogin, starface.UserRef{ID: 17}, "", nil, "no login to act for"},
		{"login only, the PBX takes ids", starfacetest.BehalfByID, starface.UserRef{Login: "0003"}, "", nil, "no id to act for"},
		{"nobody", starfacetest.BehalfByID, starface.UserRef{ID: 99, Login: "0099"}, "", []string{"99=404"}, "404 Not Found"},
		{"a non-administrator for another user", starfacetest.BehalfByID, bob, "0003", []string{"18=403"}, "403 Forbidden"},
		{"a non-administrator for herself", starfacetest.BehalfByID, alice, "0003", []string{"17=200"}, ""},
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
			if _, err := c.ActOnBehalfOfForm(t.Context()); err != nil {
				t.Fatal(err)
			}
			s.ResetRequests()
			_, err := c.Redirects(t.Context(), tt.user)
			if got := behalfSent(s); !reflect.DeepEqual(got, tt.sent) {
				t.Errorf("sent %v, want %v", got, tt.sent)
			}
			if (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("err = %v, want %q", err, tt.err)
			}
		})
	}
}

// A failing PBX is not a refused user: the GET retries as any other, and fails.
func TestRedirectsServerError(t *testing.T) {
	s := newRedirectServer(t)
	c := newClient(t, s, nil)
	if _, err := c.ActOnBehalfOfForm(t.Context()); err != nil {
		t.Fatal(err)
	}
	s.ResetRequests()
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/redirects", Status: 503})
	_, err := c.Redirects(t.Context(), alice)
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != 503 {
		t.Fatalf("err = %v", err)
	}
	if got := behalfSent(s); !reflect.DeepEqual(got, []string{"17=503", "17=503", "17=503"}) {
		t.Errorf("sent %v, want three tries with the id", got)
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
	if own := starface.OwnBoxes(boxes); !reflect.DeepEqual(own, map[int][]int{17: {5}, 18: {7}}) {
		t.Errorf("own boxes: %v, want Alice (17) box 5 and Bob (18) box 7; the group's box is nobody's own", own)
	}
	twice := []starface.VoicemailBox{{ID: 5, UserIDs: []int{17, 17}}, {ID: 8, UserIDs: []int{17}}}
	if own := starface.OwnBoxes(twice); !reflect.DeepEqual(own, map[int][]int{17: {5, 8}}) {
		t.Errorf("a user listed twice in one box: %v, want boxes 5 and 8", own)
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

// The details of many boxes are read Options.Concurrency at a time, not one after the other, and
// come back in the list's order.
func TestVoicemailBoxesReadConcurrently(t *testing.T) {
	s := newRedirectServer(t)
	for id := 100; id < 120; id++ {
		s.AddVoicemailBox(starfacetest.VoicemailBox{ID: id, Name: "box", Number: strconv.Itoa(id), UserIDs: []int{17}})
	}
	// Each detail takes a moment, so that the reads overlap when they can.
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/voicemailboxes/1", Delay: 20 * time.Millisecond})
	boxes, err := newClient(t, s, func(o *starface.Options) { o.Concurrency = 3 }).VoicemailBoxes(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(boxes) != 23 || !slices.IsSortedFunc(boxes, func(a, b starface.VoicemailBox) int { return a.ID - b.ID }) {
		t.Errorf("%d boxes, in order %v", len(boxes), slices.IsSortedFunc(boxes, func(a, b starface.VoicemailBox) int { return a.ID - b.ID }))
	}
	if n := s.MaxInFlight(); n != 3 {
		t.Errorf("%d detail reads in flight at most, want 3 (Options.Concurrency)", n)
	}
}
