package starface_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/internal/testtls"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

func TestUsersAndGroups(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, nil)
	ctx := context.Background()
	users, err := c.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := starface.User{ID: 17, Login: "0003", Email: "alice@example.com", FirstName: "Alice", FamilyName: "Doe"}
	if len(users) != 3 || users[1] != want || users[1].Name() != "Alice Doe" {
		t.Errorf("users = %+v", users)
	}
	if n := (starface.User{Login: "0009"}).Name(); n != "0009" {
		t.Errorf("Name of a nameless user = %q", n)
	}
	groups, err := c.Groups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != 2 || groups[0].ID != 5 || groups[0].Name != "Support" || groups[0].InternalNumber == "" {
		t.Errorf("groups = %+v", groups)
	}
}

func TestManyUsers(t *testing.T) {
	s := starfacetest.NewServer()
	t.Cleanup(s.Close)
	s.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: adminPW, Admin: true})
	for i := 2; i <= 1500; i++ {
		s.AddUser(starfacetest.User{ID: i, Login: fmt.Sprintf("%04d", i), Email: fmt.Sprintf("u%d@example.com", i)})
	}
	c := newClient(t, s, nil)
	users, err := c.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 1500 || users[1499].Login != "1500" || users[1499].Email != "u1500@example.com" {
		t.Fatalf("got %d users, last %+v", len(users), users[len(users)-1])
	}
	if n := s.CountRequests("GET", "/rest/users"); n != 1 {
		t.Errorf("GET /rest/users sent %d times, want 1 (not paged)", n)
	}
}

func TestGroupMembers(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, nil)
	tests := []struct {
		name string
		want []int
		err  string
	}{
		{"Support", []int{17}, ""},
		{"support", []int{17}, ""},
		{"SALES", []int{1, 18}, ""},
		{"Sale", nil, `starface: group "Sale" not found; existing groups: Sales, Support`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.GroupMembers(context.Background(), tt.name)
			if tt.err != "" {
				var ge *starface.GroupNotFoundError
				if !errors.As(err, &ge) || err.Error() != tt.err {
					t.Fatalf("err = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("members = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func fields(p starface.PhoneConfig) [4]any {
	return [4]any{p.CallWaiting, p.DisplayNumberID, p.DoNotDisturb, p.PrimaryPhoneID}
}

// Fields a newer STARFACE adds to the phone config are sent back as they were read.
func TestPhoneConfigKeepsUnknownFields(t *testing.T) {
	s := newServer(t)
	s.AddUser(starfacetest.User{ID: 30, Login: "0030", Phone: starface.PhoneConfig{
		DisplayNumberID: 7, PrimaryPhoneID: 8,
		Extra: map[string]json.RawMessage{"ringTone": json.RawMessage(`"classic"`)},
	}})
	c := newClient(t, s, nil)
	if err := switchDND(context.Background(), c, 30, true); err != nil {
		t.Fatal(err)
	}
	var put map[string]any
	for _, r := range s.Requests() {
		if r.Method == "PUT" {
			_ = json.Unmarshal(r.Body, &put)
		}
	}
	want := map[string]any{"callWaiting": false, "displayNumberId": 7.0, "doNotDisturb": true, "primaryPhoneId": 8.0, "ringTone": "classic"}
	if !reflect.DeepEqual(put, want) {
		t.Errorf("PUT body = %v, want %v", put, want)
	}
}

// A field the PBX serves as null is sent back as null (not 0) when DND is switched, and the
// double, like a PBX that accepts what it serves, takes it.
func TestPhoneConfigNullRoundTrip(t *testing.T) {
	s := newServer(t)
	var noPhone starface.PhoneConfig
	if err := json.Unmarshal([]byte(`{"callWaiting":true,"displayNumberId":null,"doNotDisturb":false,"primaryPhoneId":null}`), &noPhone); err != nil {
		t.Fatal(err)
	}
	s.AddUser(starfacetest.User{ID: 31, Login: "0031", Phone: noPhone})
	c := newClient(t, s, nil)
	ctx := context.Background()
	for _, on := range []bool{true, false} {
		if err := switchDND(ctx, c, 31, on); err != nil {
			t.Fatalf("switch DND to %v: %v", on, err)
		}
		reqs := s.Requests()
		put := reqs[len(reqs)-1]
		want := fmt.Sprintf(`{"callWaiting":true,"displayNumberId":null,"doNotDisturb":%t,"primaryPhoneId":null}`, on)
		if put.Method != "PUT" || put.Status != 204 || string(put.Body) != want {
			t.Errorf("PUT %s → %d, body %s; want 204 and %s", put.Path, put.Status, put.Body, want)
		}
		got, err := c.PhoneConfig(ctx, 31)
		if err != nil {
			t.Fatal(err)
		}
		if b, _ := json.Marshal(got); string(b) != want {
			t.Errorf("the PBX now serves %s, want %s", b, want)
		}
	}
}

func TestPhoneConfigJSON(t *testing.T) {
	tests := []struct{ in, out string }{
		{`{"callWaiting":true,"displayNumberId":3,"doNotDisturb":false,"primaryPhoneId":4}`,
			`{"callWaiting":true,"displayNumberId":3,"doNotDisturb":false,"primaryPhoneId":4}`},
		{`{"callWaiting":false,"displayNumberId":null,"doNotDisturb":true,"primaryPhoneId":null,"x":[1]}`,
			`{"callWaiting":false,"displayNumberId":null,"doNotDisturb":true,"primaryPhoneId":null,"x":[1]}`},
	}
	for _, tt := range tests {
		var pc starface.PhoneConfig
		if err := json.Unmarshal([]byte(tt.in), &pc); err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(pc)
		if err != nil || string(b) != tt.out {
			t.Errorf("round trip of %s = %s, %v", tt.in, b, err)
		}
	}
	var pc starface.PhoneConfig
	if err := json.Unmarshal([]byte(`{"doNotDisturb":"yes"}`), &pc); err == nil {
		t.Error("a string doNotDisturb decoded without error")
	}
}

func TestNonAdminWrite(t *testing.T) {
	s := newServer(t)
	c := newClient(t, s, func(o *starface.Options) { o.Login, o.Password = "0003", alicePW })
	ctx := context.Background()
	err := c.CheckWrite(ctx, 1)
	var se *starface.Error
	if !errors.As(err, &se) || se.Status != http.StatusForbidden || se.Method != "PUT" || se.Path != "/rest/users/1/phoneconfig" {
		t.Fatalf("CheckWrite on another user: err = %v, want *Error 403", err)
	}
	if !strings.HasPrefix(err.Error(), "starface: check write access with user 1: 403 Forbidden") {
		t.Errorf("message = %q", err)
	}
	on := s.PhoneConfigOf(1)
	on.DoNotDisturb = true
	if err := c.PutPhoneConfig(ctx, 1, on); !errors.As(err, &se) || se.Status != 403 {
		t.Errorf("PutPhoneConfig on another user: %v", err)
	}
	if s.PhoneConfigOf(1).DoNotDisturb {
		t.Error("the PBX changed after a 403")
	}
	if err := c.CheckWrite(ctx, 17); err != nil {
		t.Errorf("CheckWrite on own config: %v", err)
	}
	if s.CountRequests("PUT", "/rest/users/17/") != 1 {
		t.Error("own config not written back")
	}
}

// The client no longer bounds the requests in flight (its caller does, with errgroup), so
// Options.Concurrency 1 lets several requests reach the PBX at once. In a synctest bubble the
// double's minute of delay is held until every request that can arrive has arrived.
func TestConcurrencyIsTheCallersJob(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := newServer(t)
		c := newClient(t, s, func(o *starface.Options) { o.Concurrency, o.HTTPClient = 1, testtls.InMemory(t, s.Server) })
		if _, err := c.Users(context.Background()); err != nil { // log in first
			t.Fatal(err)
		}
		s.ResetRequests()
		s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/", Delay: time.Minute})
		ctx, cancel := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for _, id := range []int{1, 17, 18, 1} {
			wg.Go(func() { _, _ = c.PhoneConfig(ctx, id) })
		}
		synctest.Wait() // every request is in the double's delay, or held back by the client
		if n := s.MaxInFlight(); n != 4 {
			t.Errorf("%d requests in flight, want 4", n)
		}
		cancel()
		wg.Wait()
	})
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    starfacetest.Fault
		call     func(*starface.Client) error
		method   string
		wantSent int
		status   int             // 0: success
		waits    []time.Duration // between the attempts
	}{
		{"GET 503 twice then ok", starfacetest.Fault{Method: "GET", Path: "/rest/users", Status: 503, Times: 2},
			func(c *starface.Client) error { _, err := c.Users(context.Background()); return err },
			"GET", 3, 0, []time.Duration{250 * time.Millisecond, time.Second}},
		{"GET 500 gives up after two retries", starfacetest.Fault{Method: "GET", Path: "/rest/users", Status: 500},
			func(c *starface.Client) error { _, err := c.Users(context.Background()); return err },
			"GET", 3, 500, []time.Duration{250 * time.Millisecond, time.Second}},
		{"GET 404 not retried", starfacetest.Fault{Method: "GET", Path: "/rest/users/17", Status: 404},
			func(c *starface.Client) error { _, err := c.PhoneConfig(context.Background(), 17); return err },
			"GET", 1, 404, nil},
		{"PUT 503 not retried", starfacetest.Fault{Method: "PUT", Path: "/rest/users/17", Status: 503},
			func(c *starface.Client) error {
				return c.PutPhoneConfig(context.Background(), 17, starface.PhoneConfig{DisplayNumberID: 12, DoNotDisturb: true, PrimaryPhoneID: 22})
			},
			"PUT", 1, 503, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// In a synctest bubble the client waits between retries as it would in production,
			// and the bubble's clock says when each attempt went out.
			synctest.Test(t, func(t *testing.T) {
				s := newServer(t)
				s.AddFault(tt.fault)
				sent := &testtls.SendTimes{Base: testtls.InMemory(t, s.Server).Transport, Method: tt.method, Path: tt.fault.Path}
				c := newClient(t, s, func(o *starface.Options) { o.Sleep, o.HTTPClient = nil, &http.Client{Transport: sent} })
				err := tt.call(c)
				var se *starface.Error
				if tt.status == 0 && err != nil || tt.status != 0 && (!errors.As(err, &se) || se.Status != tt.status) {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				if n := s.CountRequests(tt.method, tt.fault.Path); n != tt.wantSent {
					t.Errorf("%s sent %d times, want %d", tt.method, n, tt.wantSent)
				}
				if waits := sent.Gaps(); !reflect.DeepEqual(waits, tt.waits) {
					t.Errorf("waits between the attempts %v, want %v", waits, tt.waits)
				}
			})
		})
	}
}

func TestErrorMessage(t *testing.T) {
	s := newServer(t)
	s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/17/phoneconfig", Status: 500})
	c := newClient(t, s, func(o *starface.Options) { o.MaxRetries = -1 })
	_, err := c.PhoneConfig(context.Background(), 17)
	if got, want := fmt.Sprint(err), "starface: get phone config of user 17: 500 Internal Server Error: injected fault"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	e := &starface.Error{Status: 500, Code: "INTERNAL", Message: "boom"}
	if got := e.Error(); got != "500 Internal Server Error: boom (code INTERNAL)" {
		t.Errorf("Error() = %q", got)
	}
}

// Every request carries X-Version and, past the login, the token; the debug log has one line
// per request and no secret.
func TestHeadersAndLogs(t *testing.T) {
	s := newServer(t)
	var logs syncBuffer
	c := newClient(t, s, func(o *starface.Options) { o.Logger = debugLogger(&logs); o.UserAgent = "teamsface/test" })
	ctx := context.Background()
	if _, err := c.Users(ctx); err != nil {
		t.Fatal(err)
	}
	if err := switchDND(ctx, c, 17, true); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx); err != nil {
		t.Fatal(err)
	}
	var secrets []string
	for _, r := range s.Requests() {
		if r.Header.Get("X-Version") != "2" || r.Header.Get("User-Agent") != "teamsface/test" {
			t.Errorf("%s %s: X-Version %q, User-Agent %q", r.Method, r.Path, r.Header.Get("X-Version"), r.Header.Get("User-Agent"))
		}
		if len(r.Body) > 0 && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s %s: Content-Type %q", r.Method, r.Path, r.Header.Get("Content-Type"))
		}
		isLogin := r.Path == "/rest/login" && r.Method != "DELETE"
		if tok := r.Header.Get("authToken"); (tok == "") != isLogin {
			t.Errorf("%s %s: authToken present = %v", r.Method, r.Path, tok != "")
		} else if tok != "" {
			secrets = append(secrets, tok)
		}
		if r.Method == "POST" {
			var b struct{ Secret string }
			_ = json.Unmarshal(r.Body, &b)
			secrets = append(secrets, b.Secret, strings.SplitN(b.Secret, ":", 2)[1])
		}
	}
	out := logs.String()
	for _, sec := range append(secrets, adminPW) {
		if sec != "" && strings.Contains(out, sec) {
			t.Errorf("log contains a secret %q", sec)
		}
	}
	if n := strings.Count(out, "msg=\"starface request\""); n != len(s.Requests()) {
		t.Errorf("%d request log lines for %d requests:\n%s", n, len(s.Requests()), out)
	}
	if !strings.Contains(out, "method=PUT path=/rest/users/17/phoneconfig status=204") {
		t.Errorf("log lacks the PUT line:\n%s", out)
	}
}

func TestNetworkErrorRetried(t *testing.T) {
	s := newServer(t)
	url := s.URL
	s.Close() // nothing listens there any more: connection refused
	var sleeps int
	c := newClient(t, s, func(o *starface.Options) {
		o.URL = url
		o.Sleep = func(context.Context, time.Duration) error { sleeps++; return nil }
	})
	_, err := c.Users(context.Background())
	if err == nil || !strings.HasPrefix(err.Error(), "starface: list users: log in as 0001: ") || strings.Contains(err.Error(), "Get \"") {
		t.Fatalf("err = %v", err)
	}
	if st := c.Stats(); st.Requests != 3 || st.Retries != 2 || sleeps != 2 {
		t.Errorf("stats %+v, sleeps %d; want 3 requests, 2 retries", st, sleeps)
	}
}
