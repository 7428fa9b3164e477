package graphtest

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

// setPresence and clearPresence as Graph authorizes them: an application token with the role
// Presence.ReadWrite.All writes anyone's presence; a delegated token with Presence.ReadWrite
// writes the signed-in user's own presence only.
func TestPresenceWritePermissions(t *testing.T) {
	s := NewServer()
	t.Cleanup(s.Close)
	s.AddUser(User{ID: "aaaaaaaa-0000-4000-8000-000000000001", UserPrincipalName: "alice@contoso.com"})
	s.AddUser(User{ID: "bbbbbbbb-0000-4000-8000-000000000002", UserPrincipalName: "bob@contoso.com"})
	const alice, bob = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"

	app := s.IssueToken([]string{"Presence.ReadWrite.All"}, false, time.Hour)
	appReadOnly := s.IssueToken([]string{"Presence.Read.All"}, false, time.Hour)
	aliceRW := s.IssueUserToken(alice, []string{"Presence.ReadWrite", "Presence.Read.All"}, time.Hour)
	aliceRead := s.IssueUserToken(alice, []string{"Presence.Read.All"}, time.Hour)
	// Entra issues no delegated Presence.ReadWrite.All (see TestDelegatedApplicationOnlyScope);
	// a token claiming it gets no further than one without it.
	aliceAll := s.IssueUserToken(alice, []string{"Presence.ReadWrite.All"}, time.Hour)
	nobody := s.IssueToken([]string{"Presence.ReadWrite"}, true, time.Hour)

	tests := []struct {
		name, token, user string
		want              int
		wantCode, wantMsg string
	}{
		{"application, anyone", app, bob, 200, "", ""},
		{"application without the role", appReadOnly, bob, 403, "Forbidden", ""},
		{"delegated, own presence", aliceRW, alice, 200, "", ""},
		{"delegated, own presence by UPN", aliceRW, "alice@contoso.com", 200, "", ""},
		{"delegated, another user", aliceRW, bob, 401, "Unauthorized",
			"Cannot set the presence of another user. Authenticated user: " + alice + ". Requested user: " + bob},
		{"delegated, another user by UPN", aliceRW, "bob@contoso.com", 401, "Unauthorized", "Requested user: " + bob},
		{"delegated without Presence.ReadWrite", aliceRead, alice, 403, "Forbidden", ""},
		{"delegated Presence.ReadWrite.All is no such permission", aliceAll, alice, 403, "Forbidden", ""},
		{"delegated, signed-in user outside the directory", nobody, alice, 401, "Unauthorized", "Cannot set the presence of another user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := "/v1.0/users/" + url.PathEscape(tt.user) + "/presence/"
			for _, action := range []struct{ path, body string }{
				{"setPresence", `{"sessionId":"app","availability":"Away","activity":"Away","expirationDuration":"PT5M"}`},
				{"clearPresence", `{"sessionId":"app"}`},
			} {
				status, body := call(t, s, "POST", base+action.path, tt.token, nil, action.body)
				if status != tt.want || errorCode(body) != tt.wantCode {
					t.Fatalf("%s: %d %v, want %d %s", action.path, status, body, tt.want, tt.wantCode)
				}
				e, _ := body["error"].(map[string]any)
				msg, _ := e["message"].(string)
				if tt.wantMsg != "" && !strings.Contains(msg, tt.wantMsg) {
					t.Errorf("%s: message %q lacks %q", action.path, msg, tt.wantMsg)
				}
			}
		})
	}
	// None of the refused writes left a session behind.
	if got := s.Sessions(bob); len(got) != 0 {
		t.Errorf("bob's sessions %v", got)
	}
}

// A user who signs in with device code gets tokens (and refreshed tokens) that act for that user.
func TestDeviceSignInActsForTheUser(t *testing.T) {
	const alice, bob = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, PublicClient: true,
		Scopes: []string{"Presence.Read.All", "Presence.ReadWrite"}})
	s.AddUser(User{ID: alice})
	s.AddUser(User{ID: bob})
	const scope = "https://graph.microsoft.com/Presence.ReadWrite offline_access"
	dc, uc := startDeviceFlow(t, s, scope)
	if err := s.ApproveDeviceAs(uc, alice); err != nil {
		t.Fatal(err)
	}
	_, body := pollDevice(t, s, grantDeviceCodeURN, dc)
	at, _ := body["access_token"].(string)
	_, body = refreshWith(t, s, body["refresh_token"].(string), scope)
	refreshed, _ := body["access_token"].(string)
	const set = `{"sessionId":"app","availability":"Away","activity":"Away"}`
	for _, tok := range []string{at, refreshed} {
		if status, body := call(t, s, "POST", "/v1.0/users/"+alice+"/presence/setPresence", tok, nil, set); status != 200 {
			t.Errorf("alice sets her own presence: %d %v", status, body)
		}
		if status, _ := call(t, s, "POST", "/v1.0/users/"+bob+"/presence/setPresence", tok, nil, set); status != 401 {
			t.Errorf("alice sets bob's presence: %d, want 401", status)
		}
	}
}

// Entra refuses a delegated request for a permission that exists only as an application
// permission, at the device-code request and on refresh.
func TestDelegatedApplicationOnlyScope(t *testing.T) {
	s := newEntraServer(t, App{Tenant: entraTenant, ClientID: entraClientID, PublicClient: true,
		Scopes: []string{"Presence.Read.All", "User.Read.All"}})
	for _, scope := range []string{
		"https://graph.microsoft.com/Presence.Read.All https://graph.microsoft.com/Presence.ReadWrite.All offline_access",
		"Presence.ReadWrite.All",
		s.Origin() + "/Presence.ReadWrite.All openid profile offline_access",
	} {
		status, body := entraCall(t, s, "POST", "/"+entraTenant+"/oauth2/v2.0/devicecode", url.Values{"client_id": {entraClientID}, "scope": {scope}})
		checkEntraError(t, status, body, 400, "invalid_client")
		d, _ := body["error_description"].(string)
		want := "AADSTS650053: The application '" + entraClientID + "' asked for scope 'Presence.ReadWrite.All' that doesn't exist on the resource '00000003-0000-0000-c000-000000000000'"
		if !strings.HasPrefix(d, want) {
			t.Errorf("scope %q: description %q\nwant it to start %q", scope, d, want)
		}
	}
	if got := s.PendingDeviceCodes(); len(got) != 0 {
		t.Errorf("a refused request left device codes %v", got)
	}

	const scope = "https://graph.microsoft.com/Presence.Read.All offline_access"
	dc, uc := startDeviceFlow(t, s, scope)
	_ = s.ApproveDevice(uc)
	_, body := pollDevice(t, s, grantDeviceCodeURN, dc)
	rt := body["refresh_token"].(string)
	status, body := refreshWith(t, s, rt, scope+" https://graph.microsoft.com/Presence.ReadWrite.All")
	checkEntraError(t, status, body, 400, "invalid_client")
	if codes, _ := body["error_codes"].([]any); len(codes) != 1 || codes[0] != float64(650053) {
		t.Errorf("error_codes %v, want [650053]", body["error_codes"])
	}
	if status, body := refreshWith(t, s, rt, scope); status != 200 {
		t.Errorf("the refused refresh spent the refresh token: %d %v", status, body)
	}
}
