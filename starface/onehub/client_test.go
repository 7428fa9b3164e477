package onehub_test

import (
	"context"
	"crypto/tls"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/teamsface/teamsface/starface/onehub"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

const (
	lookupMethod      = "/gamma.onehub.api.v1.useridlookup.UserIdLookupService/BatchGetUserIdentifiers"
	subscribeMethod   = "/gamma.onehub.api.v1.presence.PresenceService/SubscribePresenceStates"
	unsubscribeMethod = "/gamma.onehub.api.v1.presence.PresenceService/UnsubscribePresenceStates"
	eventsMethod      = "/gamma.onehub.api.v1.presence.PresenceService/SubscribePresenceEvents"
)

func TestLookupIDs(t *testing.T) {
	f := newFixture(t, 5, onehubtest.Options{})
	f.oh.SetEmptyUserID(2) // answered with one_hub_user_id only
	c := f.dial(t, func(o *onehub.Options) { o.ChunkSize = 2 })

	got, err := c.LookupIDs(context.Background(), []string{"1", "2", "3", "1", "99", "4", "5", ""})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for i := 1; i <= 5; i++ {
		want[strconv.Itoa(i)] = f.oh.OneHubID(i)
	}
	if len(got) != len(want) {
		t.Errorf("got %d ids, want %d (99 is unknown): %v", len(got), len(want), got)
	}
	for acc, id := range want {
		if got[acc] != id {
			t.Errorf("user %s: OneHub id %q, want %q", acc, got[acc], id)
		}
	}
	if got["2"] == "" || got["2"] == got["1"] {
		t.Errorf("user 2 must map to its one_hub_user_id, got %q", got["2"])
	}
	// 6 distinct non-empty ids in chunks of 2.
	var sizes []int
	for _, call := range f.oh.Calls() {
		if call.Method != lookupMethod {
			t.Errorf("unexpected call %s", call.Method)
		}
		sizes = append(sizes, call.IDs)
	}
	if len(sizes) != 3 || sizes[0] != 2 || sizes[1] != 2 || sizes[2] != 2 {
		t.Errorf("lookup request sizes %v, want [2 2 2]", sizes)
	}
}

func TestReadPresenceThousandUsersInThreeRequests(t *testing.T) {
	const n = 1000
	f := newFixture(t, n, onehubtest.Options{})
	f.rest.OnCall(7, true)
	f.rest.SetTelephonyState(8, starfacetest.TelephonyRinging)
	c := f.dial(t, nil)

	ids := lookupAll(t, c, n)
	got, err := c.ReadPresence(context.Background(), ids)
	if err != nil {
		t.Fatal(err)
	}
	if total := f.oh.CountCalls(""); total != 3 {
		t.Errorf("%d gRPC requests for %d users, want 3 (lookup, subscribe, unsubscribe): %+v", total, n, f.oh.Calls())
	}
	for _, m := range []string{lookupMethod, subscribeMethod, unsubscribeMethod} {
		if k := f.oh.CountCalls(m); k != 1 {
			t.Errorf("%s called %d times, want 1", m, k)
		}
	}
	if len(got) != n {
		t.Fatalf("states of %d users, want %d", len(got), n)
	}
	for i, id := range ids {
		u := i + 1
		st := got[id]
		if st.DND != (u%3 == 0) {
			t.Errorf("user %d: DND %v, want %v", u, st.DND, u%3 == 0)
		}
		wantT := onehub.TelephonyAvailable
		switch u {
		case 7:
			wantT = onehub.TelephonyActive
		case 8:
			wantT = onehub.TelephonyRinging
		}
		if st.Telephony != wantT || st.Telephony.OnCall() != (u == 7) {
			t.Errorf("user %d: telephony %v (on call %v), want %v", u, st.Telephony, st.Telephony.OnCall(), wantT)
		}
	}
	if subs := f.oh.Subscriptions(); len(subs) != 0 {
		t.Errorf("%d subscriptions left after a one-shot read, want 0", len(subs))
	}
}

func TestReadPresenceChunks(t *testing.T) {
	tests := []struct {
		name      string
		chunk     int
		maxIDs    int
		wantCalls int
		wantCode  codes.Code
	}{
		{"chunks within the server's limit", 400, 400, 6, codes.OK},
		{"one chunk", 0, 0, 2, codes.OK},
		{"chunk larger than the server takes", 0, 500, 1, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, 1000, onehubtest.Options{MaxIDs: tt.maxIDs})
			c := f.dial(t, func(o *onehub.Options) { o.ChunkSize = tt.chunk })
			ids := make([]string, 1000)
			for i := range ids {
				ids[i] = f.oh.OneHubID(i + 1)
			}
			got, err := c.ReadPresence(context.Background(), ids)
			if n := f.oh.CountCalls(""); n != tt.wantCalls {
				t.Errorf("%d calls, want %d", n, tt.wantCalls)
			}
			if tt.wantCode != codes.OK {
				var e *onehub.Error
				if !errors.As(err, &e) || e.Code != tt.wantCode {
					t.Fatalf("err = %v, want code %v", err, tt.wantCode)
				}
				return
			}
			if err != nil || len(got) != 1000 {
				t.Fatalf("got %d states, err %v", len(got), err)
			}
		})
	}
}

func TestExpiredTokenRefreshedOnce(t *testing.T) {
	f := newFixture(t, 3, onehubtest.Options{})
	c := f.dial(t, nil)
	ids := lookupAll(t, c, 3)
	f.oh.ExpireTokens()
	f.oh.ResetCalls()

	if _, err := c.ReadPresence(context.Background(), ids); err != nil {
		t.Fatal(err)
	}
	issued, invalidated := f.tk.all()
	if len(issued) != 2 || len(invalidated) != 1 || invalidated[0] != issued[0] {
		t.Errorf("issued %d tokens, invalidated %v; want the first dropped and one new", len(issued), len(invalidated))
	}
	calls := f.oh.Calls()
	if len(calls) != 3 || calls[0].Code != codes.Unauthenticated || calls[0].Token != issued[0] ||
		calls[1].Method != subscribeMethod || calls[1].Code != codes.OK || calls[1].Token != issued[1] {
		t.Errorf("calls %+v: want a refused subscribe, the same again with the new token, then unsubscribe", calls)
	}
	if s := c.Stats(); s.Refreshes != 1 || s.Calls != 4 {
		t.Errorf("stats %+v, want 1 refresh and 4 calls", s)
	}
}

func TestTokenRefusedTwiceIsAnError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		msg  string
	}{
		{"expired", onehubtest.ErrTokenExpired, "access token expired"},
		{"invalid", errors.New("signature"), "invalid access token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 1, onehubtest.Options{CheckToken: func(string) error { return tc.err }})
			c := f.dial(t, nil)
			_, err := c.LookupIDs(context.Background(), []string{"1"})
			if !onehub.IsUnauthenticated(err) {
				t.Fatalf("err = %v, want unauthenticated", err)
			}
			want := "starface onehub: look up user ids: unauthenticated: " + tc.msg
			if err.Error() != want {
				t.Errorf("err = %q, want %q", err, want)
			}
			if n := f.oh.CountCalls(lookupMethod); n != 2 {
				t.Errorf("%d attempts, want 2 (one retry with a fresh token)", n)
			}
		})
	}
}

func TestPermissionDenied(t *testing.T) {
	f := newFixture(t, 3, onehubtest.Options{})
	f.oh.AllowSubscriptionsOnly(1)
	c := f.dial(t, nil)
	ids := lookupAll(t, c, 3)

	if _, err := c.ReadPresence(context.Background(), ids[:1]); err != nil {
		t.Fatalf("own presence: %v", err)
	}
	_, err := c.ReadPresence(context.Background(), ids)
	var e *onehub.Error
	if !errors.As(err, &e) || e.Code != codes.PermissionDenied || !onehub.IsPermissionDenied(err) {
		t.Fatalf("err = %v, want a permission denied *onehub.Error", err)
	}
	if onehub.IsUnavailable(err) || onehub.IsUnauthenticated(err) {
		t.Error("a refusal is neither unavailable nor unauthenticated")
	}
	want := "starface onehub: subscribe presence states: permission denied: not allowed to subscribe to the presence of user " + ids[1]
	if err.Error() != want {
		t.Errorf("err = %q\nwant  %q", err, want)
	}
}

func TestUnreachable(t *testing.T) {
	f := newFixture(t, 1, onehubtest.Options{})
	c := f.dial(t, nil)
	f.oh.SetDown(true)
	_, err := c.LookupIDs(context.Background(), []string{"1"})
	if !onehub.IsUnavailable(err) || !strings.HasPrefix(err.Error(), "starface onehub: look up user ids: unavailable") {
		t.Fatalf("err = %v, want unavailable", err)
	}
	f.oh.Close()
	_, err = c.ReadPresence(context.Background(), []string{"x"})
	if !onehub.IsUnavailable(err) {
		t.Fatalf("closed server: err = %v, want unavailable", err)
	}
}

func TestCanceledContext(t *testing.T) {
	f := newFixture(t, 1, onehubtest.Options{})
	f.oh.AddFault(onehubtest.Fault{Method: "BatchGetUserIdentifiers", Delay: time.Hour})
	c := f.dial(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		_, err := c.LookupIDs(ctx, []string{"1"})
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func TestTLSTrust(t *testing.T) {
	f := newFixture(t, 1, onehubtest.Options{})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, f.oh.CertificatePEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	pin := f.oh.Fingerprint()
	wrong := strings.Repeat("AB:", 31) + "AB"

	tests := []struct {
		name    string
		o       onehub.Options
		warns   int
		wantErr func(error) bool
	}{
		{"pinned fingerprint", onehub.Options{Fingerprint: pin}, 0, nil},
		{"pinned fingerprint, lower case without colons", onehub.Options{Fingerprint: strings.ToLower(strings.ReplaceAll(pin, ":", ""))}, 0, nil},
		{"pin wins over insecure", onehub.Options{Fingerprint: pin, InsecureSkipVerify: true}, 1, nil},
		{"ca file", onehub.Options{CAFile: caFile}, 0, nil},
		{"insecure skip verify", onehub.Options{InsecureSkipVerify: true}, 1, nil},
		{"wrong fingerprint", onehub.Options{Fingerprint: wrong}, 0, func(err error) bool {
			var fe *onehub.FingerprintError
			return errors.As(err, &fe) && fe.Got == pin && onehub.IsUnavailable(err) &&
				strings.HasPrefix(err.Error(), "starface onehub: look up user ids: unavailable: tls handshake with "+f.oh.Target()+" failed: certificate fingerprint did not match: pinned "+wrong+", server presented "+pin)
		}},
		{"system roots refuse the self-signed certificate", onehub.Options{}, 0, func(err error) bool {
			var cve *tls.CertificateVerificationError
			return errors.As(err, &cve) && strings.Contains(err.Error(), "tls handshake with")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.o
			o.Target, o.Tokens = f.oh.Target(), f.tk
			c, err := onehub.Dial(context.Background(), o)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if len(c.Warnings()) != tt.warns {
				t.Errorf("warnings %q, want %d", c.Warnings(), tt.warns)
			}
			_, err = c.LookupIDs(context.Background(), []string{"1"})
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err == nil || !tt.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if strings.Count(err.Error(), "starface onehub") != 1 {
				t.Errorf("service named more than once: %v", err)
			}
		})
	}
}

func TestDialValidates(t *testing.T) {
	tk := &tokens{}
	tests := []struct {
		name string
		o    onehub.Options
		want string
	}{
		{"no tokens", onehub.Options{Target: "pbx:9092"}, "starface onehub: no access tokens: OneHub needs the STARFACE OAuth sign-in"},
		{"no target", onehub.Options{Tokens: tk}, "starface onehub: no target: want host:port, e.g. pbx.example.com:9092"},
		{"no port", onehub.Options{Tokens: tk, Target: "pbx"}, `starface onehub: invalid target "pbx": want host:port, e.g. pbx.example.com:9092`},
		{"a url", onehub.Options{Tokens: tk, Target: "https://pbx:9092"}, `starface onehub: invalid target "https://pbx:9092": want host:port, e.g. pbx.example.com:9092`},
		{"bad fingerprint", onehub.Options{Tokens: tk, Target: "pbx:9092", Fingerprint: "abc"}, `starface onehub: invalid fingerprint "abc": want the SHA-256 of the certificate as 64 hex digits`},
		{"missing ca file", onehub.Options{Tokens: tk, Target: "pbx:9092", CAFile: "/nonexistent/ca.pem"}, "starface onehub: read ca file: open /nonexistent/ca.pem: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := onehub.Dial(context.Background(), tt.o)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v, want %s", err, tt.want)
			}
		})
	}
}

func TestTargets(t *testing.T) {
	tests := []struct {
		fn, in, want, err string
	}{
		{"default", "https://pbx.example.com", "pbx.example.com:9092", ""},
		{"default", "https://pbx.example.com:8443/rest", "pbx.example.com:9092", ""},
		{"default", "https://[fd00::1]", "[fd00::1]:9092", ""},
		{"default", "pbx.example.com", "", "cannot derive"},
		{"url", "https://pbx.example.com:9092", "pbx.example.com:9092", ""},
		{"url", "grpcs://ucapi.unified-cloud.eu", "ucapi.unified-cloud.eu:443", ""},
		{"url", "https://pbx.example.com/", "pbx.example.com:443", ""},
		{"url", "http://pbx.example.com:9092", "", "scheme must be https or grpcs"},
		{"url", "grpc://pbx.example.com:9092", "", "scheme must be https or grpcs"},
		{"url", "https://pbx.example.com:9092/x", "", "want scheme://host[:port] only"},
		{"url", "https://:9092", "", "no host"},
	}
	for _, tt := range tests {
		f := onehub.TargetFromURL
		if tt.fn == "default" {
			f = onehub.DefaultTarget
		}
		got, err := f(tt.in)
		if got != tt.want || (tt.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.err)) {
			t.Errorf("%s(%q) = %q, %v; want %q, %q", tt.fn, tt.in, got, err, tt.want, tt.err)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "starface onehub: ") {
			t.Errorf("error without the service name: %v", err)
		}
	}
}

func TestTelephonyStateNames(t *testing.T) {
	tests := []struct {
		s    onehub.TelephonyState
		want string
	}{
		{onehub.TelephonyUnspecified, "unspecified"},
		{onehub.TelephonyActive, "active"},
		{onehub.TelephonyQueuePause, "queue_pause"},
		{onehub.TelephonyState(9), "telephony_state_9"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("%d: %q, want %q", int32(tt.s), got, tt.want)
		}
	}
}
