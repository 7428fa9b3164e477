package starfacetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/teamsface/teamsface/starface"
)

type fixture struct {
	t *testing.T
	s *Server
}

func newFixture(t *testing.T) *fixture {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: 1, Login: "0001", Password: "admin", Admin: true,
		Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 5, PrimaryPhoneID: 6}})
	s.AddUser(User{ID: 2, Login: "0002", Password: "user"})
	// A user without a phone: the PBX serves null ids.
	var noPhone starface.PhoneConfig
	if err := json.Unmarshal([]byte(`{"callWaiting":true,"displayNumberId":null,"doNotDisturb":false,"primaryPhoneId":null}`), &noPhone); err != nil {
		t.Fatal(err)
	}
	s.AddUser(User{ID: 3, Login: "0003", Password: "user3", Phone: noPhone})
	return &fixture{t: t, s: s}
}

// call sends a raw request with this authToken ("" for none); X-Version: 2 is set unless
// noVersion.
func (f *fixture) call(method, path, token string, body string, noVersion bool) (int, map[string]any) {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, f.s.URL+path, rd)
	if err != nil {
		f.t.Fatal(err)
	}
	if !noVersion {
		req.Header.Set("X-Version", "2")
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("authToken", token)
	}
	res, err := f.s.Client().Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m
}

func (f *fixture) nonce() string {
	f.t.Helper()
	st, m := f.call("GET", "/rest/login", "", "", false)
	if st != 200 || m["loginType"] != "Internal" {
		f.t.Fatalf("GET /rest/login: %d %v", st, m)
	}
	return m["nonce"].(string)
}

func (f *fixture) login(login, pw string) string {
	f.t.Helper()
	n := f.nonce()
	body, _ := json.Marshal(map[string]string{"loginType": "Internal", "nonce": n, "secret": starface.Secret(login, n, pw)})
	st, m := f.call("POST", "/rest/login", "", string(body), false)
	if st != 200 {
		f.t.Fatalf("login %s: %d %v", login, st, m)
	}
	return m["token"].(string)
}

func isError(m map[string]any) bool {
	_, c := m["code"].(string)
	_, msg := m["message"].(string)
	return c && msg
}

func TestLoginRules(t *testing.T) {
	f := newFixture(t)
	n := f.nonce()
	good, _ := json.Marshal(map[string]string{"loginType": "Internal", "nonce": n, "secret": starface.Secret("0001", n, "admin")})
	if st, _ := f.call("POST", "/rest/login", "", string(good), false); st != 200 {
		t.Fatalf("good login: %d", st)
	}
	if st, m := f.call("POST", "/rest/login", "", string(good), false); st != 400 || !isError(m) {
		t.Errorf("reused nonce: %d %v, want 400 {code,message}", st, m)
	}
	n = f.nonce()
	bad, _ := json.Marshal(map[string]string{"loginType": "Internal", "nonce": n, "secret": starface.Secret("0001", n, "wrong")})
	if st, _ := f.call("POST", "/rest/login", "", string(bad), false); st != 400 {
		t.Errorf("wrong password: %d, want 400", st)
	}
	if st, _ := f.call("POST", "/rest/login", "", `{"secret":"x"}`, false); st != 400 {
		t.Errorf("missing loginType/nonce: %d, want 400", st)
	}
	if f.s.Logins() != 1 {
		t.Errorf("Logins = %d, want 1", f.s.Logins())
	}
}

func TestRequestRules(t *testing.T) {
	f := newFixture(t)
	tok := f.login("0001", "admin")
	userTok := f.login("0002", "user")
	full := `{"callWaiting":false,"displayNumberId":7,"doNotDisturb":true,"primaryPhoneId":8}`
	tests := []struct {
		name      string
		method    string
		path      string
		token     string
		body      string
		noVersion bool
		status    int
	}{
		{"no X-Version", "GET", "/rest/users", tok, "", true, 400},
		{"no token", "GET", "/rest/users", "", "", false, 401},
		{"unknown token", "GET", "/rest/users", "nope", "", false, 401},
		{"users", "GET", "/rest/users", tok, "", false, 200},
		{"me", "GET", "/rest/users/me", userTok, "", false, 200},
		{"unknown user", "GET", "/rest/users/99", tok, "", false, 404},
		{"unknown group", "GET", "/rest/groups/99", tok, "", false, 404},
		{"put missing field", "PUT", "/rest/users/2/phoneconfig", tok, `{"callWaiting":false,"doNotDisturb":true,"primaryPhoneId":8}`, false, 400},
		{"put string id", "PUT", "/rest/users/2/phoneconfig", tok, `{"callWaiting":false,"displayNumberId":"7","doNotDisturb":true,"primaryPhoneId":8}`, false, 400},
		{"put float id", "PUT", "/rest/users/2/phoneconfig", tok, `{"callWaiting":false,"displayNumberId":7.5,"doNotDisturb":true,"primaryPhoneId":8}`, false, 400},
		{"put null where the PBX holds a value", "PUT", "/rest/users/2/phoneconfig", tok, `{"callWaiting":null,"displayNumberId":7,"doNotDisturb":true,"primaryPhoneId":8}`, false, 400},
		{"put null where the PBX serves null", "PUT", "/rest/users/3/phoneconfig", tok, `{"callWaiting":true,"displayNumberId":null,"doNotDisturb":true,"primaryPhoneId":null}`, false, 204},
		{"put null id where the PBX serves null on the other", "PUT", "/rest/users/3/phoneconfig", tok, `{"callWaiting":null,"displayNumberId":null,"doNotDisturb":true,"primaryPhoneId":null}`, false, 400},
		{"non-admin on another user", "PUT", "/rest/users/1/phoneconfig", userTok, full, false, 403},
		{"admin on another user", "PUT", "/rest/users/2/phoneconfig", tok, full, false, 204},
		{"unknown route", "GET", "/rest/presence", tok, "", false, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, m := f.call(tt.method, tt.path, tt.token, tt.body, tt.noVersion)
			if st != tt.status {
				t.Fatalf("status %d, want %d (%v)", st, tt.status, m)
			}
			if st >= 400 && !isError(m) {
				t.Errorf("error body %v is not {code,message}", m)
			}
		})
	}
	if got := f.s.PhoneConfigOf(2); got.DisplayNumberID != 7 || !got.DoNotDisturb || got.PrimaryPhoneID != 8 {
		t.Errorf("user 2 config = %v", got)
	}
	if f.s.PhoneConfigOf(1).DoNotDisturb {
		t.Error("403 PUT changed user 1")
	}
	// The null sent back is kept: the PBX goes on serving null there.
	st, m := f.call("GET", "/rest/users/3/phoneconfig", tok, "", false)
	if v, ok := m["primaryPhoneId"]; st != 200 || !ok || v != nil || m["doNotDisturb"] != true {
		t.Errorf("user 3 after a PUT with nulls: %d %v", st, m)
	}
}

func TestTokenLifetime(t *testing.T) {
	f := newFixture(t)
	now := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	f.s.SetClock(func() time.Time { return now })
	tok := f.login("0001", "admin")
	now = now.Add(4*time.Hour - time.Second)
	if st, _ := f.call("GET", "/rest/groups", tok, "", false); st != 200 {
		t.Fatalf("token before 4h: %d", st)
	}
	now = now.Add(time.Second)
	if st, _ := f.call("GET", "/rest/groups", tok, "", false); st != 401 {
		t.Fatalf("token at 4h: %d, want 401", st)
	}
	tok = f.login("0001", "admin")
	if st, _ := f.call("DELETE", "/rest/login", tok, "", false); st != 204 {
		t.Fatalf("logout: %d", st)
	}
	if st, _ := f.call("GET", "/rest/groups", tok, "", false); st != 401 {
		t.Fatalf("token after logout: %d, want 401", st)
	}
}

func TestFaultsAndLog(t *testing.T) {
	f := newFixture(t)
	tok := f.login("0001", "admin")
	f.s.ResetRequests()
	f.s.AddFault(Fault{Method: "GET", Path: "/rest/users", Status: 503, Times: 1})
	if st, m := f.call("GET", "/rest/users", tok, "", false); st != 503 || !isError(m) {
		t.Fatalf("faulted call: %d %v", st, m)
	}
	if st, _ := f.call("GET", "/rest/users", tok, "", false); st != 200 {
		t.Fatalf("after Times ran out: %d", st)
	}
	f.s.AddFault(Fault{Path: "/rest/groups", Status: 500})
	for range 2 {
		if st, _ := f.call("GET", "/rest/groups", tok, "", false); st != 500 {
			t.Fatalf("Times 0 fault: %d", st)
		}
	}
	f.s.ClearFaults()
	if st, _ := f.call("GET", "/rest/groups", tok, "", false); st != 200 {
		t.Fatalf("after ClearFaults: %d", st)
	}
	reqs := f.s.Requests()
	if len(reqs) != 5 || reqs[0].Status != 503 || reqs[1].Status != 200 || !bytes.Contains(reqs[1].Response, []byte(`"login":"0002"`)) {
		t.Errorf("log: %d requests, first %+v", len(reqs), reqs[0])
	}
	if n := f.s.CountRequests("GET", "/rest/groups"); n != 3 {
		t.Errorf("CountRequests = %d, want 3", n)
	}
}

func TestGroupDetail(t *testing.T) {
	f := newFixture(t)
	f.s.AddGroup(4, "Office", 2)
	tok := f.login("0001", "admin")
	st, m := f.call("GET", "/rest/groups/4", tok, "", false)
	if st != 200 || m["name"] != "Office" {
		t.Fatalf("%d %v", st, m)
	}
	au := m["assignableUsers"].([]any)
	assigned := map[float64]bool{}
	for _, u := range au {
		um := u.(map[string]any)
		assigned[um["id"].(float64)] = um["assigned"].(bool)
	}
	if len(assigned) != 3 || assigned[1] || !assigned[2] || assigned[3] {
		t.Errorf("assignableUsers = %v", au)
	}
}

// A fault answers in STARFACE's error shape with the given code and Retry-After; the log
// records the query and the answer.
func TestFaultShape(t *testing.T) {
	f := newFixture(t)
	tok := f.login("0001", "admin")
	f.s.ResetRequests()
	f.s.AddFault(Fault{Method: "GET", Path: "/rest/users", Status: 503, RetryAfter: "7", Code: "MAINTENANCE", Times: 1})
	req, _ := http.NewRequest("GET", f.s.URL+"/rest/users?searchTerm=al", nil)
	req.Header.Set("X-Version", "2")
	req.Header.Set("authToken", tok)
	res, err := f.s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 503 || res.Header.Get("Retry-After") != "7" || string(body) != `{"code":"MAINTENANCE","message":"injected fault"}` {
		t.Errorf("answer %d, Retry-After %q, body %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	f.s.AddFault(Fault{Method: "GET", Path: "/rest/groups", Status: 500, Times: 1})
	if st, m := f.call("GET", "/rest/groups", tok, "", false); st != 500 || m["code"] != "500" {
		t.Errorf("default code: %d %v", st, m)
	}
	reqs := f.s.Requests()
	if len(reqs) != 2 || reqs[0].Query != "searchTerm=al" || reqs[0].Header.Get("authToken") != tok || reqs[0].Status != 503 || !bytes.Equal(reqs[0].Response, body) {
		t.Errorf("log = %+v", reqs)
	}
}

// A Delay ends as soon as the client gives up: the handler does not hold the connection for
// the rest of the hour.
func TestDelayEndsWhenClientLeaves(t *testing.T) {
	f := newFixture(t)
	tok := f.login("0001", "admin")
	f.s.ResetRequests()
	f.s.AddFault(Fault{Method: "GET", Path: "/rest/users", Delay: time.Hour})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", f.s.URL+"/rest/users", nil)
		req.Header.Set("X-Version", "2")
		req.Header.Set("authToken", tok)
		res, err := f.s.Client().Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	waitUntil(t, "the request reaches the double", func() bool { return f.s.MaxInFlight() == 1 })
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("client: %v, want context.Canceled", err)
	}
	waitUntil(t, "the handler to end", func() bool { return len(f.s.Requests()) == 1 })
	if r := f.s.Requests()[0]; r.Status != 0 {
		t.Errorf("an abandoned request logged with status %d, want 0", r.Status)
	}
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}
