package starface_test

import (
	"context"
	"strings"
	"testing"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// Every error the client returns names the service once, at the start, so that a caller can
// wrap it ("set DND for 0002: starface: ...") without the service appearing twice.
func TestErrorsNameTheServiceOnce(t *testing.T) {
	ctx := context.Background()
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	users := func(c *starface.Client) error { _, err := c.Users(ctx); return err }
	tests := []struct {
		name  string
		setup func(*starfacetest.Server)
		mod   func(*starface.Options, *starfacetest.Server)
		call  func(*starface.Client) error
		want  string // the whole message, or its start when it ends with "…"
	}{
		{"put 500", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "PUT", Path: "/rest/users/17/phoneconfig", Status: 500})
		}, nil, func(c *starface.Client) error {
			return c.PutPhoneConfig(ctx, 17, starface.PhoneConfig{DisplayNumberID: 1, PrimaryPhoneID: 2})
		}, "starface: put phone config of user 17: 500 Internal Server Error: injected fault"},
		{"service code", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users/17/phoneconfig", Status: 404, Code: "NOT_FOUND"})
		}, nil, func(c *starface.Client) error { _, err := c.PhoneConfig(ctx, 17); return err },
			"starface: get phone config of user 17: 404 Not Found: injected fault (code NOT_FOUND)"},
		{"persistent 401", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/groups", Status: 401})
		}, nil, func(c *starface.Client) error { _, err := c.Groups(ctx); return err },
			"starface: list groups: 401 Unauthorized: injected fault"},
		{"credentials rejected", nil, func(o *starface.Options, _ *starfacetest.Server) { o.Password = "wrong" },
			users, "starface: list users: log in as 0001: credentials rejected: 400 Bad Request: invalid login"},
		{"no password", nil, func(o *starface.Options, _ *starfacetest.Server) { o.Password = "" },
			users, "starface: list users: log in as 0001: no password configured"},
		{"nonce 503", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/login", Status: 503})
		}, nil, users, "starface: list users: log in as 0001: get nonce: 503 Service Unavailable: injected fault"},
		{"no classic login, no secret", func(s *starfacetest.Server) { s.DisableClassicLogin() }, nil, users,
			"starface: list users: sign in as 0001: the PBX has no classic login (GET /rest/login answered 404) and no OAuth client secret is configured; copy the client secret…"},
		{"oauth client refused", realm10, func(o *starface.Options, _ *starfacetest.Server) { o.ClientSecret = "wrong" }, users,
			"starface: list users: sign in as 0001 (oauth): the PBX refused the client rest-client-headless: 401 Unauthorized: invalid_client: …"},
		{"oauth right missing", realm10, func(o *starface.Options, _ *starfacetest.Server) {
			o.ClientSecret, o.Login, o.Password = clientSecret, "0003", alicePW
		}, users, "starface: list users: sign in as 0003 (oauth): 0003 may not sign in with the password grant: 403 Forbidden: access_denied: …"},
		{"oauth on a 9.x", nil, func(o *starface.Options, _ *starfacetest.Server) { o.ClientSecret, o.Auth = clientSecret, "oauth" }, users,
			"starface: list users: sign in as 0001 (oauth): the PBX has no OAuth realm…"},
		{"answer not JSON of the right shape", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "GET", Path: "/rest/users", Status: 200})
		}, nil, users, "starface: list users: decode answer: json: cannot unmarshal object…"},
		{"fingerprint mismatch", nil, func(o *starface.Options, _ *starfacetest.Server) {
			o.HTTPClient, o.Fingerprint = nil, strings.Repeat("ab", 32)
		}, users, "starface: list users: log in as 0001: certificate fingerprint did not match: pinned AB:AB:…"},
		{"connection refused", nil, func(o *starface.Options, s *starfacetest.Server) { s.Close() },
			users, "starface: list users: log in as 0001: dial tcp…"},
		{"cancelled", nil, nil, func(c *starface.Client) error { _, err := c.Users(cancelled); return err },
			"starface: list users: context canceled"},
		{"unknown group", nil, nil, func(c *starface.Client) error { _, err := c.GroupMembers(ctx, "x"); return err },
			"starface: group \"x\" not found; existing groups: Sales, Support"},
		{"log out 500", func(s *starfacetest.Server) {
			s.AddFault(starfacetest.Fault{Method: "DELETE", Path: "/rest/login", Status: 500})
		}, nil, func(c *starface.Client) error {
			if _, err := c.Users(ctx); err != nil {
				return err
			}
			return c.Logout(ctx)
		}, "starface: log out: 500 Internal Server Error: injected fault"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newServer(t)
			if tt.setup != nil {
				tt.setup(s)
			}
			c := newClient(t, s, func(o *starface.Options) {
				o.MaxRetries = -1
				if tt.mod != nil {
					tt.mod(o, s)
				}
			})
			err := tt.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if prefix, ok := strings.CutSuffix(tt.want, "…"); ok {
				if !strings.HasPrefix(msg, prefix) {
					t.Errorf("error = %q, want it to start with %q", msg, prefix)
				}
			} else if msg != tt.want {
				t.Errorf("error = %q, want %q", msg, tt.want)
			}
			if n := strings.Count(msg, "starface:"); n != 1 || !strings.HasPrefix(msg, "starface: ") {
				t.Errorf("error %q names the service %d times, want once at the start", msg, n)
			}
		})
	}
}

// Options New refuses name the service once too; cmd wraps them with the file name only.
func TestNewErrorsNameTheServiceOnce(t *testing.T) {
	for _, o := range []starface.Options{
		{Login: "0001"},
		{URL: "ftp://pbx", Login: "0001"},
		{URL: "https://pbx"},
		{URL: "https://pbx", Login: "0001", Fingerprint: "xyz"},
		{URL: "https://pbx", Login: "0001", CAFile: "/does/not/exist"},
	} {
		_, err := starface.New(o)
		if err == nil {
			t.Fatalf("New(%+v) succeeded", o)
		}
		if msg := err.Error(); strings.Count(msg, "starface:") != 1 || !strings.HasPrefix(msg, "starface: ") {
			t.Errorf("New(%+v) = %q, want the service named once at the start", o, msg)
		}
	}
}

// realm10 makes the double a STARFACE 10 with the realm and without the classic login, where
// 0001 has the OAuth right.
func realm10(s *starfacetest.Server) {
	s.EnableRealm(starfacetest.Realm{ClientSecret: clientSecret})
	s.DisableClassicLogin()
	s.GrantRight(1, starface.RightOAuthPasswordGrant)
}
