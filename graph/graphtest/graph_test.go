package graphtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// call sends a raw request to the double and decodes the JSON answer (nil for an empty body).
func call(t *testing.T, s *Server, method, path, token string, hdr map[string]string, body string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if len(data) == 0 {
		return resp.StatusCode, nil
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s %s: answer is not JSON: %q", method, path, data)
	}
	return resp.StatusCode, m
}

func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func idsBody(n int) string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%08d-0000-4000-8000-000000000000", i)
	}
	b, _ := json.Marshal(map[string]any{"ids": ids})
	return string(b)
}

var allPerms = []string{"User.Read.All", "GroupMember.Read.All", "Presence.Read.All", "Presence.ReadWrite.All"}

func TestRefusals(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1", UserPrincipalName: "alice@contoso.com"})
	s.AddGroup("g1", "u1")
	tok := s.IssueToken(allPerms, false, time.Hour)
	expired := s.IssueToken(allPerms, false, -time.Minute)
	noPresence := s.IssueToken([]string{"User.Read.All"}, false, time.Hour)
	cl := map[string]string{"ConsistencyLevel": "eventual"}
	const members = "/v1.0/groups/g1/transitiveMembers/microsoft.graph.user"
	const setP = "/v1.0/users/u1/presence/setPresence"

	tests := []struct {
		name, method, path, token string
		hdr                       map[string]string
		body                      string
		status                    int
		code                      string
	}{
		{"top 1000", "GET", "/v1.0/users?$top=1000", tok, nil, "", 400, "Request_UnsupportedQuery"},
		{"top 0", "GET", "/v1.0/users?$top=0", tok, nil, "", 400, "Request_UnsupportedQuery"},
		{"skip", "GET", "/v1.0/users?$skip=1", tok, nil, "", 400, "Request_UnsupportedQuery"},
		{"unknown select", "GET", "/v1.0/users?$select=id,shoeSize", tok, nil, "", 400, "BadRequest"},
		{"users count without consistency", "GET", "/v1.0/users?$count=true", tok, nil, "", 400, "Request_BadRequest"},
		{"bad skiptoken", "GET", "/v1.0/users?$skiptoken=nope", tok, nil, "", 400, "Directory_ExpiredPageToken"},
		{"651 ids", "POST", "/v1.0/communications/getPresencesByUserId", tok, nil, idsBody(651), 400, "BadRequest"},
		{"no ids", "POST", "/v1.0/communications/getPresencesByUserId", tok, nil, `{"userIds":["u1"]}`, 400, "BadRequest"},
		{"empty ids", "POST", "/v1.0/communications/getPresencesByUserId", tok, nil, `{"ids":[]}`, 400, "BadRequest"},
		{"presence without permission", "POST", "/v1.0/communications/getPresencesByUserId", noPresence, nil, idsBody(1), 403, "Forbidden"},
		{"no token", "POST", "/v1.0/communications/getPresencesByUserId", "", nil, idsBody(1), 401, "InvalidAuthenticationToken"},
		{"expired token", "GET", "/v1.0/users", expired, nil, "", 401, "InvalidAuthenticationToken"},
		{"unknown token", "GET", "/v1.0/users", "abc.def.ghi", nil, "", 401, "InvalidAuthenticationToken"},
		{"members without consistency", "GET", members + "?$count=true", tok, nil, "", 400, "Request_UnsupportedQuery"},
		{"members without count", "GET", members, tok, cl, "", 400, "Request_UnsupportedQuery"},
		{"unknown group", "GET", "/v1.0/groups/nope/transitiveMembers/microsoft.graph.user?$count=true", tok, cl, "", 404, "Request_ResourceNotFound"},
		{"unknown user", "GET", "/v1.0/users/bob@contoso.com", tok, nil, "", 404, "Request_ResourceNotFound"},
		{"bad pair", "POST", setP, tok, nil, `{"sessionId":"app","availability":"Busy","activity":"Presenting"}`, 400, "BadRequest"},
		{"dnd busy pair", "POST", setP, tok, nil, `{"sessionId":"app","availability":"DoNotDisturb","activity":"DoNotDisturb"}`, 400, "BadRequest"},
		{"expiration too short", "POST", setP, tok, nil, `{"sessionId":"app","availability":"Away","activity":"Away","expirationDuration":"PT4M"}`, 400, "BadRequest"},
		{"expiration too long", "POST", setP, tok, nil, `{"sessionId":"app","availability":"Away","activity":"Away","expirationDuration":"PT4H1M"}`, 400, "BadRequest"},
		{"expiration not iso", "POST", setP, tok, nil, `{"sessionId":"app","availability":"Away","activity":"Away","expirationDuration":"15m"}`, 400, "BadRequest"},
		{"no session id", "POST", setP, tok, nil, `{"availability":"Away","activity":"Away"}`, 400, "BadRequest"},
		{"set without write permission", "POST", setP, noPresence, nil, `{"sessionId":"app","availability":"Away","activity":"Away"}`, 403, "Forbidden"},
		{"set unknown user", "POST", "/v1.0/users/nobody/presence/setPresence", tok, nil, `{"sessionId":"app","availability":"Away","activity":"Away"}`, 404, "Request_ResourceNotFound"},
		{"clear unknown session", "POST", "/v1.0/users/u1/presence/clearPresence", tok, nil, `{"sessionId":"app"}`, 404, "NotFound"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, m := call(t, s, tt.method, tt.path, tt.token, tt.hdr, tt.body)
			if status != tt.status || errorCode(m) != tt.code {
				t.Fatalf("got %d %q, want %d %q (%v)", status, errorCode(m), tt.status, tt.code, m)
			}
			inner, _ := m["error"].(map[string]any)["innerError"].(map[string]any)
			if id, _ := inner["request-id"].(string); id == "" {
				t.Errorf("error without innerError.request-id: %v", m)
			}
		})
	}
	if got := s.Sessions("u1"); len(got) != 0 {
		t.Errorf("refused setPresence calls left sessions: %v", got)
	}
}

func TestAccepted(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1", UserPrincipalName: "alice@contoso.com"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	for _, tt := range []struct{ name, method, path, body string }{
		{"top 999", "GET", "/v1.0/users?$top=999", ""},
		{"top 1", "GET", "/v1.0/users?$top=1", ""},
		{"650 ids", "POST", "/v1.0/communications/getPresencesByUserId", idsBody(650)},
		{"by upn", "GET", "/v1.0/users/ALICE@contoso.com", ""},
		{"DoNotDisturb/Presenting for 4h", "POST", "/v1.0/users/u1/presence/setPresence", `{"sessionId":"app","availability":"DoNotDisturb","activity":"Presenting","expirationDuration":"PT240M"}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if status, m := call(t, s, tt.method, tt.path, tok, nil, tt.body); status != 200 {
				t.Fatalf("got %d %v, want 200", status, m)
			}
		})
	}
}

func TestPagingAndSelect(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	for i := range 5 {
		s.AddUser(User{ID: fmt.Sprintf("u%d", i), DisplayName: fmt.Sprintf("User %d", i), AccountEnabled: true,
			ProxyAddresses: []string{fmt.Sprintf("SMTP:u%d@contoso.com", i)}})
	}
	s.SetPageSize(2)
	tok := s.IssueToken([]string{"User.Read.All"}, false, time.Hour)

	next := "/v1.0/users?$select=id,accountEnabled,proxyAddresses&$top=999"
	var ids []string
	pages := 0
	for next != "" {
		status, m := call(t, s, "GET", next, tok, nil, "")
		if status != 200 {
			t.Fatalf("page %d: %d %v", pages+1, status, m)
		}
		pages++
		for _, v := range m["value"].([]any) {
			u := v.(map[string]any)
			if len(u) != 3 || u["accountEnabled"] != true || u["proxyAddresses"] == nil {
				t.Errorf("$select not honoured: %v", u)
			}
			ids = append(ids, u["id"].(string))
		}
		link, _ := m["@odata.nextLink"].(string)
		if link == "" {
			break
		}
		if !strings.HasPrefix(link, s.URL+"/v1.0/users?") || !strings.Contains(link, "$skiptoken=") || !strings.Contains(link, "$select=id,accountEnabled,proxyAddresses") {
			t.Fatalf("nextLink %q: want an absolute URL keeping $select, with $skiptoken", link)
		}
		next = strings.TrimPrefix(link, s.URL)
	}
	if pages != 3 || strings.Join(ids, ",") != "u0,u1,u2,u3,u4" {
		t.Errorf("got %d pages with %v, want 3 pages with u0..u4", pages, ids)
	}

	// Without $select Graph's default set has neither accountEnabled nor proxyAddresses.
	_, m := call(t, s, "GET", "/v1.0/users/u0", tok, nil, "")
	if _, ok := m["accountEnabled"]; ok || m["displayName"] != "User 0" {
		t.Errorf("default property set: %v", m)
	}
	// With User.ReadBasic.All only, non-basic properties come back null.
	basic := s.IssueToken([]string{"User.ReadBasic.All"}, true, time.Hour)
	_, m = call(t, s, "GET", "/v1.0/users/u0?$select=id,displayName,accountEnabled", basic, nil, "")
	if v, ok := m["accountEnabled"]; !ok || v != nil || m["displayName"] != "User 0" {
		t.Errorf("basic profile: %v", m)
	}
}

func TestTransitiveMembers(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	for _, id := range []string{"a", "b", "c", "d", "outsider"} {
		s.AddUser(User{ID: id})
	}
	s.AddGroup("top", "a", "inner", "b")
	s.AddGroup("inner", "c", "a", "deeper", "top") // cycle back to top
	s.AddGroup("deeper", "d", "ghost")
	s.SetPageSize(3)
	tok := s.IssueToken([]string{"GroupMember.Read.All"}, false, time.Hour)
	cl := map[string]string{"ConsistencyLevel": "eventual"}

	_, m := call(t, s, "GET", "/v1.0/groups/top/transitiveMembers/microsoft.graph.user?$count=true&$select=id", tok, cl, "")
	var first []string
	for _, v := range m["value"].([]any) {
		first = append(first, v.(map[string]any)["id"].(string))
	}
	// Nested members resolved, each once, the unknown "ghost" and the cycle ignored.
	if m["@odata.count"] != float64(4) || strings.Join(first, ",") != "a,c,d" {
		t.Fatalf("first page: %v", m)
	}
	next := strings.TrimPrefix(m["@odata.nextLink"].(string), s.URL)
	_, m = call(t, s, "GET", next, tok, cl, "")
	if v := m["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != "b" || m["@odata.nextLink"] != nil {
		t.Fatalf("last page: %v", m)
	}
}

func TestPresenceModel(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	t0 := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	at := func(d time.Duration) { s.SetClock(func() time.Time { return t0.Add(d) }) }
	at(0)
	s.AddUser(User{ID: "u1"})
	s.SetClearLag(2 * time.Minute)
	tok := s.IssueToken(allPerms, false, 24*time.Hour)
	set := func(sid, a, b, exp string) {
		t.Helper()
		body := fmt.Sprintf(`{"sessionId":%q,"availability":%q,"activity":%q`, sid, a, b)
		if exp != "" {
			body += fmt.Sprintf(`,"expirationDuration":%q`, exp)
		}
		if status, m := call(t, s, "POST", "/v1.0/users/u1/presence/setPresence", tok, nil, body+"}"); status != 200 || m != nil {
			t.Fatalf("setPresence: %d %v (want 200 with no body)", status, m)
		}
	}
	clear := func(sid string) {
		t.Helper()
		if status, _ := call(t, s, "POST", "/v1.0/users/u1/presence/clearPresence", tok, nil, fmt.Sprintf(`{"sessionId":%q}`, sid)); status != 200 {
			t.Fatalf("clearPresence: %d", status)
		}
	}
	want := func(step, a, b string) {
		t.Helper()
		if ga, gb := s.PresenceOf("u1"); ga != a || gb != b {
			t.Errorf("%s: PresenceOf = %s/%s, want %s/%s", step, ga, gb, a, b)
		}
		// The API answers the same as the hook.
		_, m := call(t, s, "POST", "/v1.0/communications/getPresencesByUserId", tok, nil, `{"ids":["u1","unknown"]}`)
		v := m["value"].([]any)
		if len(v) != 1 {
			t.Fatalf("%s: want only the known id answered, got %v", step, v)
		}
		p := v[0].(map[string]any)
		if sm, ok := p["statusMessage"]; !ok || sm != nil || p["availability"] != a || p["activity"] != b {
			t.Errorf("%s: answer %v, want %s/%s with statusMessage null", step, p, a, b)
		}
	}

	want("new user", "Offline", "Offline")
	s.SetUserPresence("u1", "Available", "Available")
	want("own presence", "Available", "Available")
	set("teamsface", "DoNotDisturb", "Presenting", "PT15M")
	want("app DND beats own Available", "DoNotDisturb", "Presenting")
	if ss := s.Sessions("u1"); len(ss) != 1 || !ss[0].Expires.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("Sessions = %v, want one expiring at +15m", ss)
	}
	s.SetUserPresence("u1", "Busy", "InACall")
	clear("teamsface")
	want("cleared pair lags", "DoNotDisturb", "Presenting")
	at(2 * time.Minute)
	want("lag over", "Busy", "InACall")
	set("teamsface", "Available", "Available", "PT1H")
	want("own Busy beats app Available", "Busy", "InACall")
	s.SetUserPresence("u1", "Offline", "Offline")
	want("app Available over Offline", "Available", "Available")
	at(7 * time.Minute)
	want("Available fades after 5m", "Available", "AvailableInactive")
	at(12 * time.Minute)
	want("then to Away after 10m", "Away", "Away")
	at(62 * time.Minute)
	want("expired after PT1H", "Offline", "Offline")
	set("teamsface", "Away", "Away", "")
	if ss := s.Sessions("u1"); len(ss) != 1 || !ss[0].Expires.Equal(t0.Add(67*time.Minute)) {
		t.Errorf("default expiration: Sessions = %v, want expiry at +67m (set at +62m, PT5M)", ss)
	}
	want("app Away", "Away", "Away")
	at(67 * time.Minute)
	want("expired by default PT5M", "Offline", "Offline")
	set("a", "Away", "Away", "PT1H")
	set("b", "Busy", "InAConferenceCall", "PT1H")
	want("Busy session beats Away session", "Busy", "InAConferenceCall")
	at(3 * time.Hour)
	want("sessions expire on the server clock", "Offline", "Offline")
	if ss := s.Sessions("u1"); len(ss) != 0 {
		t.Errorf("expired sessions still listed: %v", ss)
	}
}

func TestParseISODuration(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"PT5M", 5 * time.Minute, true},
		{"PT1H30M", 90 * time.Minute, true},
		{"PT240M", 4 * time.Hour, true},
		{"P0DT4H", 4 * time.Hour, true},
		{"PT300S", 5 * time.Minute, true},
		{"PT0.5S", 500 * time.Millisecond, true},
		{"PT", 0, false},
		{"P", 0, false},
		{"15m", 0, false},
		{"PT5m", 0, false},
		{"", 0, false},
	} {
		got, ok := parseISODuration(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("parseISODuration(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// A status the user picked by hand beats every app session while it is set; the session ranking
// decides again once it is cleared.
func TestUserPreferredPresence(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "u1"})
	tok := s.IssueToken(allPerms, false, time.Hour)
	want := func(step, a, b string) {
		t.Helper()
		_, m := call(t, s, "GET", "/v1.0/users/u1/presence", tok, nil, "")
		if m["availability"] != a || m["activity"] != b {
			t.Errorf("%s: Graph answers %v/%v, want %s/%s", step, m["availability"], m["activity"], a, b)
		}
	}
	setSession := func(sid, a, b string) {
		t.Helper()
		body := fmt.Sprintf(`{"sessionId":%q,"availability":%q,"activity":%q,"expirationDuration":"PT1H"}`, sid, a, b)
		if status, _ := call(t, s, "POST", "/v1.0/users/u1/presence/setPresence", tok, nil, body); status != 200 {
			t.Fatalf("setPresence: %d", status)
		}
	}

	s.SetUserPreferredPresence("u1", "Busy", "Busy")
	want("picked by hand but no session (signed out)", "Offline", "Offline")
	s.SetUserPresence("u1", "Available", "Available")
	want("picked by hand, Teams signed in", "Busy", "Busy")
	setSession("teamsface", "DoNotDisturb", "Presenting")
	want("beats a higher app session", "Busy", "Busy")
	s.SetUserPreferredPresence("u1", "Available", "Available")
	want("Available picked by hand beats DND session", "Available", "Available")
	s.SetUserPresence("u1", "Offline", "Offline")
	want("an app session is a presence session too", "Available", "Available")
	s.ClearUserPreferredPresence("u1")
	want("cleared: the sessions decide", "DoNotDisturb", "Presenting")
	setSession("other", "Busy", "InACall")
	want("session ranking unchanged", "DoNotDisturb", "Presenting")
	s.SetUserPreferredPresence("u1", "Offline", "OffWork")
	want("appear offline", "Offline", "OffWork")

	defer func() {
		if recover() == nil {
			t.Error("SetUserPreferredPresence accepted Busy/InACall, which setUserPreferredPresence refuses")
		}
	}()
	s.SetUserPreferredPresence("u1", "Busy", "InACall")
}
