package starfacetest

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/starface"
)

// newRedirectFixture: user 2 has 202, user 3 has 203, group 9 (user 2) has 809; box 5 is user
// 2's, box 6 group 9's.
func newRedirectFixture(t *testing.T) *fixture {
	f := newFixture(t)
	f.s.AddNumber(2, "202")
	f.s.AddNumber(3, "203")
	f.s.AddGroup(9, "Hotline", 2)
	f.s.AddGroupNumber(9, "809")
	f.s.AddVoicemailBox(VoicemailBox{ID: 5, Name: "User Two", Number: "5202", Password: "2222", UserIDs: []int{2}})
	f.s.AddVoicemailBox(VoicemailBox{ID: 6, Name: "Hotline", Number: "5809", Password: "9999", GroupIDs: []int{9}})
	return f
}

// raw sends a request and returns the status and the body as it came.
func (f *fixture) raw(method, path, token, body string) (int, []byte) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.s.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	req.Header.Set("X-Version", "2")
	req.Header.Set("authToken", token)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := f.s.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

func redirectIDs(t *testing.T, b []byte) []string {
	t.Helper()
	var list []struct{ ID string }
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	ids := []string{}
	for _, r := range list {
		ids = append(ids, r.ID)
	}
	return ids
}

func TestRedirectListAndActOnBehalfOf(t *testing.T) {
	f := newRedirectFixture(t)
	admin := f.login("0001", "admin")
	two := f.login("0002", "user")
	twos := []string{"202-ALWAYS", "202-BUSY", "202-TIMEOUT", "809-ALWAYS", "809-BUSY", "809-TIMEOUT"}
	tests := []struct {
		name   string
		form   BehalfForm
		token  string
		query  string
		status int
		ids    []string
	}{
		{"the administrator's own (none)", BehalfByID, admin, "", 200, []string{}},
		{"for user 2 by id", BehalfByID, admin, "?actOnBehalfOf=2", 200, twos},
		{"an id with leading zeros is read as a number", BehalfByID, admin, "?actOnBehalfOf=0002", 200, twos},
		{"for user 3", BehalfByID, admin, "?actOnBehalfOf=3", 200, []string{"203-ALWAYS", "203-BUSY", "203-TIMEOUT"}},
		{"not an id", BehalfByID, admin, "?actOnBehalfOf=alice", 400, nil},
		{"nobody", BehalfByID, admin, "?actOnBehalfOf=99", 404, nil},
		{"empty", BehalfByID, admin, "?actOnBehalfOf=", 400, nil},
		{"a user for herself", BehalfByID, two, "?actOnBehalfOf=2", 200, twos},
		{"a user for herself, no parameter", BehalfByID, two, "", 200, twos},
		{"a user for another", BehalfByID, two, "?actOnBehalfOf=3", 403, nil},
		{"login form: the login", BehalfByLogin, admin, "?actOnBehalfOf=0002", 200, twos},
		{"login form: an id", BehalfByLogin, admin, "?actOnBehalfOf=2", 404, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.s.SetActOnBehalfOf(tt.form)
			st, b := f.raw("GET", "/rest/redirects"+tt.query, tt.token, "")
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, b)
			}
			if st != 200 {
				var m map[string]any
				if json.Unmarshal(b, &m) != nil || !isError(m) {
					t.Errorf("error body %s is not {code,message}", b)
				}
				return
			}
			if got := redirectIDs(t, b); !reflect.DeepEqual(got, tt.ids) {
				t.Errorf("ids %v, want %v", got, tt.ids)
			}
		})
	}
}

// A Redirection carries every property of the Swagger schema; group numbers say so; a TIMEOUT
// trigger carries its seconds.
func TestRedirectJSON(t *testing.T) {
	f := newRedirectFixture(t)
	admin := f.login("0001", "admin")
	f.s.SetRedirect("202", starface.TriggerAlways, true, starface.MailboxDestination(5))
	st, b := f.raw("GET", "/rest/redirects?actOnBehalfOf=2", admin, "")
	if st != 200 {
		t.Fatal(st)
	}
	var list []map[string]any
	if err := json.Unmarshal(b, &list); err != nil || len(list) != 6 {
		t.Fatalf("%s: %v", b, err)
	}
	want := map[string]any{
		"id": "202-ALWAYS", "enabled": true, "phoneNumber": "202", "groupNumber": false,
		"redirectTrigger":            map[string]any{"redirectTriggerType": "ALWAYS"},
		"redirectDestination":        map[string]any{"redirectDestinationType": "MAILBOX", "mailboxId": "5"},
		"lastMailboxDestination":     map[string]any{"redirectDestinationType": "MAILBOX", "mailboxId": "5"},
		"lastPhoneNumberDestination": nil,
	}
	if !reflect.DeepEqual(list[0], want) {
		t.Errorf("202-ALWAYS = %v\nwant %v", list[0], want)
	}
	if tr := list[2]["redirectTrigger"]; !reflect.DeepEqual(tr, map[string]any{"redirectTriggerType": "TIMEOUT", "timeout": float64(20)}) {
		t.Errorf("TIMEOUT trigger %v", tr)
	}
	if list[3]["groupNumber"] != true || list[3]["phoneNumber"] != "809" {
		t.Errorf("group number's redirect %v", list[3])
	}
	if list[1]["redirectDestination"].(map[string]any)["phoneNumber"] != "" {
		t.Errorf("a redirect never set: %v", list[1])
	}
	st, b = f.raw("GET", "/rest/redirects/809-BUSY?actOnBehalfOf=2", admin, "")
	var one map[string]any
	if st != 200 || json.Unmarshal(b, &one) != nil || one["id"] != "809-BUSY" {
		t.Errorf("GET 809-BUSY: %d %s", st, b)
	}
	if st, _ := f.raw("GET", "/rest/redirects/202-BUSY?actOnBehalfOf=3", admin, ""); st != 404 {
		t.Errorf("another user's redirect: %d, want 404", st)
	}
}

func TestPutRedirectRules(t *testing.T) {
	const valid = `{"id":"202-ALWAYS","enabled":true,"phoneNumber":"202","groupNumber":false,` +
		`"redirectTrigger":{"redirectTriggerType":"ALWAYS"},"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"},` +
		`"lastMailboxDestination":null,"lastPhoneNumberDestination":null}`
	edit := func(kv ...string) string { // valid with fields replaced, or removed (value "")
		var m map[string]json.RawMessage
		_ = json.Unmarshal([]byte(valid), &m)
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = json.RawMessage(kv[i+1])
			}
		}
		b, _ := json.Marshal(m)
		return string(b)
	}
	phone := func(n string, on bool) string {
		b, _ := json.Marshal(n)
		return edit("redirectDestination", `{"redirectDestinationType":"PHONENUMBER","phoneNumber":`+string(b)+`}`, "enabled", strconv.FormatBool(on))
	}
	tests := []struct {
		name   string
		path   string // default 202-ALWAYS for user 2
		user   string // "" the administrator
		body   string
		plus   bool // SetRefusePlusNumbers
		status int
		msg    string
	}{
		{"valid", "", "", valid, false, 204, ""},
		{"minimal: only the required fields", "", "", `{"id":"202-ALWAYS","enabled":true,"redirectTrigger":{"redirectTriggerType":"ALWAYS"},` +
			`"redirectDestination":{"redirectDestinationType":"MAILBOX","mailboxId":"5"}}`, false, 204, ""},
		{"unknown field ignored", "", "", edit("ringTime", `{"a":1}`), false, 204, ""},
		{"no enabled", "", "", edit("enabled", ""), false, 400, "missing field enabled"},
		{"enabled null", "", "", edit("enabled", "null"), false, 400, "must not be null"},
		{"enabled a string", "", "", edit("enabled", `"true"`), false, 400, "wrong type"},
		{"no id", "", "", edit("id", ""), false, 400, "missing field id"},
		{"id changed", "", "", edit("id", `"202-BUSY"`), false, 400, "id of a redirection cannot change"},
		{"number changed", "", "", edit("phoneNumber", `"203"`), false, 400, "phoneNumber of a redirection cannot change"},
		{"groupNumber changed", "", "", edit("groupNumber", `true`), false, 400, "groupNumber of a redirection cannot change"},
		{"no trigger", "", "", edit("redirectTrigger", ""), false, 400, "missing field redirectTrigger"},
		{"trigger changed", "", "", edit("redirectTrigger", `{"redirectTriggerType":"BUSY"}`), false, 400, "trigger of a redirection cannot change"},
		{"trigger a string", "", "", edit("redirectTrigger", `"ALWAYS"`), false, 400, "wrong type"},
		{"no destination", "", "", edit("redirectDestination", ""), false, 400, "missing field redirectDestination"},
		{"destination without type", "", "", edit("redirectDestination", `{"mailboxId":"5"}`), false, 400, "needs a redirectDestinationType"},
		{"unknown destination type", "", "", edit("redirectDestination", `{"redirectDestinationType":"USER"}`), false, 400, "unknown redirectDestinationType"},
		{"unknown box", "", "", edit("redirectDestination", `{"redirectDestinationType":"MAILBOX","mailboxId":"99"}`), false, 400, "no voicemail box"},
		{"box id as a number", "", "", edit("redirectDestination", `{"redirectDestinationType":"MAILBOX","mailboxId":5}`), false, 400, "wrong type"},
		{"box without id", "", "", edit("redirectDestination", `{"redirectDestinationType":"MAILBOX"}`), false, 400, "needs a mailboxId"},
		{"a number", "", "", phone("0049301234", true), false, 204, ""},
		{"an internal number", "", "", phone("203", true), false, 204, ""},
		{"a number with +", "", "", phone("+49301234", true), false, 204, ""},
		{"a number with + where refused", "", "", phone("+49301234", true), true, 400, "must start with 00"},
		{"not a number", "", "", phone("0049 30 1234", true), false, 400, "invalid redirect target number"},
		{"an empty number, on", "", "", phone("", true), false, 400, "invalid redirect target number"},
		{"an empty number, off", "", "", phone("", false), false, 204, ""},
		{"last destination not an object", "", "", edit("lastMailboxDestination", `"5"`), false, 400, "must be a RedirectDestination object"},
		{"not an object", "", "", `[1]`, false, 400, "body must be a Redirection"},
		{"unknown redirect", "/rest/redirects/nope?actOnBehalfOf=2", "", strings.Replace(valid, "202-ALWAYS", "nope", 1), false, 404, "was not found"},
		{"another user's redirect", "/rest/redirects/202-ALWAYS?actOnBehalfOf=3", "", valid, false, 404, "was not found"},
		{"a group number's redirect by a member", "/rest/redirects/809-ALWAYS?actOnBehalfOf=2", "",
			strings.NewReplacer("202-ALWAYS", "809-ALWAYS", `"202"`, `"809"`, `"groupNumber":false`, `"groupNumber":true`).Replace(valid), false, 204, ""},
		{"a user for herself", "/rest/redirects/202-ALWAYS", "0002", valid, false, 204, ""},
		{"a user for another", "/rest/redirects/203-ALWAYS?actOnBehalfOf=3", "0002", strings.NewReplacer("202", "203").Replace(valid), false, 403, "administrative privileges"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newRedirectFixture(t)
			f.s.SetRefusePlusNumbers(tt.plus)
			tok := f.login("0001", "admin")
			if tt.user == "0002" {
				tok = f.login("0002", "user")
			}
			path := tt.path
			if path == "" {
				path = "/rest/redirects/202-ALWAYS?actOnBehalfOf=2"
			}
			before, _ := f.s.RedirectOf("202", starface.TriggerAlways)
			st, b := f.raw("PUT", path, tok, tt.body)
			if st != tt.status {
				t.Fatalf("status %d, want %d: %s", st, tt.status, b)
			}
			after, _ := f.s.RedirectOf("202", starface.TriggerAlways)
			if st != 204 {
				var m map[string]any
				if json.Unmarshal(b, &m) != nil || !isError(m) || !strings.Contains(m["message"].(string), tt.msg) {
					t.Errorf("error %s, want {code,message} with %q", b, tt.msg)
				}
				if !reflect.DeepEqual(after, before) {
					t.Errorf("a refused PUT changed the redirect: %+v", after)
				}
			}
		})
	}
}

// A PUT changes enabled and the destination, and the PBX remembers the last destination of
// each kind; the hooks see what the API does and the API what the hooks do.
func TestRedirectState(t *testing.T) {
	f := newRedirectFixture(t)
	admin := f.login("0001", "admin")
	body := func(on bool, dest string) string {
		b, _ := json.Marshal(map[string]any{"id": "202-ALWAYS", "enabled": on, "redirectTrigger": map[string]any{"redirectTriggerType": "ALWAYS"},
			"redirectDestination": json.RawMessage(dest)})
		return string(b)
	}
	if st, b := f.raw("PUT", "/rest/redirects/202-ALWAYS?actOnBehalfOf=2", admin, body(true, `{"redirectDestinationType":"MAILBOX","mailboxId":"5"}`)); st != 204 {
		t.Fatalf("PUT: %d %s", st, b)
	}
	st, _ := f.s.RedirectOf("202", starface.TriggerAlways)
	if !st.Enabled || !st.Destination.Equal(starface.MailboxDestination(5)) || !st.LastMailbox.Equal(starface.MailboxDestination(5)) || !st.LastPhoneNumber.IsZero() {
		t.Errorf("after the PUT: %+v", st)
	}
	f.s.SetRedirect("202", starface.TriggerAlways, false, starface.PhoneNumberDestination("0049301"))
	st, _ = f.s.RedirectOf("202", starface.TriggerAlways)
	if st.Enabled || !st.Destination.Equal(starface.PhoneNumberDestination("0049301")) || !st.LastMailbox.Equal(starface.MailboxDestination(5)) ||
		!st.LastPhoneNumber.Equal(starface.PhoneNumberDestination("0049301")) {
		t.Errorf("after SetRedirect: %+v", st)
	}
	_, b := f.raw("GET", "/rest/redirects/202-ALWAYS?actOnBehalfOf=2", admin, "")
	if !strings.Contains(string(b), `"enabled":false`) || !strings.Contains(string(b), `"phoneNumber":"0049301"`) {
		t.Errorf("the API does not show the hand-set redirect: %s", b)
	}
	if other, _ := f.s.RedirectOf("202", starface.TriggerBusy); other.Enabled {
		t.Error("the BUSY redirect changed")
	}
	f.s.SetRedirectExtra("202", starface.TriggerAlways, "ringTime", json.RawMessage(`{"s":15}`))
	_, b = f.raw("GET", "/rest/redirects/202-ALWAYS?actOnBehalfOf=2", admin, "")
	if !strings.Contains(string(b), `"ringTime":{"s":15}`) {
		t.Errorf("extra field not served: %s", b)
	}
	f.s.SetRedirectID("202", starface.TriggerAlways, "a/b c")
	if st, b := f.raw("GET", "/rest/redirects/a%2Fb%20c?actOnBehalfOf=2", admin, ""); st != 200 || !strings.Contains(string(b), `"id":"a/b c"`) {
		t.Errorf("renamed redirect: %d %s", st, b)
	}
	if _, ok := f.s.RedirectOf("999", starface.TriggerAlways); ok {
		t.Error("RedirectOf an unknown number")
	}
	n := f.s.CountRequests("", "/rest/redirects")
	if n != 4 {
		t.Errorf("CountRequests = %d, want 4", n)
	}
}

func TestRedirectHooksPanic(t *testing.T) {
	f := newRedirectFixture(t)
	for name, hook := range map[string]func(){
		"AddNumber of an unknown user":       func() { f.s.AddNumber(99, "299") },
		"AddNumber of a number in use":       func() { f.s.AddNumber(3, "202") },
		"AddGroupNumber of an unknown group": func() { f.s.AddGroupNumber(99, "899") },
		"SetRedirect of an unknown number":   func() { f.s.SetRedirect("999", starface.TriggerAlways, true, starface.Destination{}) },
		"SetRedirectID to an id in use":      func() { f.s.SetRedirectID("202", starface.TriggerAlways, "202-BUSY") },
		"SetRedirectExtra of an unknown one": func() { f.s.SetRedirectExtra("202", "WEEKLY", "x", json.RawMessage(`1`)) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s did not panic", name)
				}
			}()
			hook()
		}()
	}
}

func TestVoicemailBoxes(t *testing.T) {
	f := newRedirectFixture(t)
	f.s.AddVoicemailBox(VoicemailBox{ID: 7, Name: "Three", Number: "5203", Password: "3333", UserIDs: []int{3}})
	admin := f.login("0001", "admin")
	two := f.login("0002", "user")
	list := func(tok string) []int {
		st, b := f.raw("GET", "/rest/voicemailboxes", tok, "")
		var items []struct {
			ID            int
			AssignedUsers []string `json:"assignedusers"`
		}
		if st != 200 || json.Unmarshal(b, &items) != nil {
			t.Fatalf("list: %d %s", st, b)
		}
		ids := []int{}
		for _, it := range items {
			ids = append(ids, it.ID)
		}
		return ids
	}
	if got := list(admin); !reflect.DeepEqual(got, []int{5, 6, 7}) {
		t.Errorf("the administrator sees %v", got)
	}
	if got := list(two); !reflect.DeepEqual(got, []int{5, 6}) {
		t.Errorf("user 2 sees %v, want her box and her group's", got)
	}
	st, b := f.raw("GET", "/rest/voicemailboxes/5", two, "")
	var d struct {
		ID             int
		Password       string
		VoicemailUsers []struct{ AccountID int } `json:"voicemailUsers"`
	}
	if st != 200 || json.Unmarshal(b, &d) != nil || d.ID != 5 || d.Password != "2222" || len(d.VoicemailUsers) != 1 || d.VoicemailUsers[0].AccountID != 2 {
		t.Errorf("detail of box 5: %d %s", st, b)
	}
	for _, tt := range []struct {
		path, tok string
		status    int
	}{
		{"/rest/voicemailboxes/7", two, 403},
		{"/rest/voicemailboxes/99", admin, 404},
		{"/rest/voicemailboxes/x", admin, 404},
		{"/rest/voicemailboxes/6", two, 200},
	} {
		st, b := f.raw("GET", tt.path, tt.tok, "")
		if st != tt.status {
			t.Errorf("GET %s: %d, want %d", tt.path, st, tt.status)
		}
		var m map[string]any
		if st != 200 && (json.Unmarshal(b, &m) != nil || !isError(m)) {
			t.Errorf("GET %s: error %s is not {code,message}", tt.path, b)
		}
	}
}
