package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

// End-to-end tests of STARFACE 10's OneHub (issue 13, experimental) through the real command
// line: the STARFACE double with its OAuth realm, the OneHub double beside it on the same users.

const onCallMirrorYAML = `starface_to_teams:
  enabled: true
  on_call: {availability: Busy, activity: InACall}
`

// newHarnessOneHub is a STARFACE 10 with the realm, no classic login, the right granted, a
// client secret configured, OneHub on and the STARFACE → Teams direction with on_call.
func newHarnessOneHub(t testing.TB, n int) (*harness, *onehubtest.Server) {
	t.Helper()
	h := newHarness(t, n, "")
	h.ss.EnableRealm(starfacetest.Realm{ClientSecret: testSFClientSecret})
	h.ss.DisableClassicLogin()
	h.ss.GrantRight(1, "API access with OAuth Password Grant")
	oh := onehubtest.NewServer(h.ss, onehubtest.Options{CheckToken: func(tok string) error {
		switch err := h.ss.CheckAccessToken(tok); {
		case errors.Is(err, starfacetest.ErrAccessTokenExpired):
			return onehubtest.ErrTokenExpired
		case err != nil:
			return onehubtest.ErrTokenInvalid
		}
		return nil
	}})
	t.Cleanup(oh.Close)
	h.oneHubTLS = oh.ClientTLSConfig()
	h.configure(cfgOpts{
		starface: "  client_secret_file: " + h.writeFile("starface-client-secret", testSFClientSecret) + "\n" +
			"  onehub: true\n  onehub_url: https://" + oh.Target() + "\n",
		tail: onCallMirrorYAML,
	})
	return h, oh
}

// With OneHub on, a sync once pass for 1,000 users reads every DND and call state in at most 3
// gRPC requests (2 once the ids are cached with the match) and reads no phone config.
func TestOneHubReadsEveryoneInThreeRequests(t *testing.T) {
	t.Parallel()
	h, oh := newHarnessOneHub(t, 1000)
	h.ss.SetDND(h.people[10].sfID, true)
	h.mustRun(ExitOK, "sync", "once")
	if n := len(oh.Calls()); n > 3 {
		t.Errorf("first pass: %d gRPC requests, want at most 3: %+v", n, oh.Calls())
	}
	if n := h.phoneRequests("GET"); n != 0 {
		t.Errorf("first pass read %d phone configs; OneHub reads them all", n)
	}
	if n := h.presenceCalls(10, "setPresence"); n != 1 {
		t.Errorf("the hand-set DND read over OneHub: %d setPresence calls, want 1", n)
	}
	oh.ResetCalls()
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := len(oh.Calls()); n != 2 {
		t.Errorf("second pass: %d gRPC requests, want 2 (subscribe, unsubscribe; ids cached)", n)
	}
	// A write still reads its phone config first (read-modify-write over REST).
	h.setPresence(3, "Busy", "InACall")
	h.resetLogs()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if g, p := h.phoneRequests("GET"), h.phoneRequests("PUT"); g != 1 || p != 1 {
		t.Errorf("a write: %d GET and %d PUT, want 1 and 1", g, p)
	}
}

// A STARFACE call shows in Teams as the on_call pair and is cleared when it ends, without any
// STARFACE DND write (teamsface's own Busy/InACall is never an input, rule 6).
func TestOneHubCallShowsInTeams(t *testing.T) {
	t.Parallel()
	h, _ := newHarnessOneHub(t, 3)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.OnCall(h.people[1].sfID, true)
	h.passes(1, 10*time.Second)
	bodies := h.setPresenceBodies(1)
	if len(bodies) != 1 || bodies[0]["availability"] != "Busy" || bodies[0]["activity"] != "InACall" {
		t.Fatalf("call start: setPresence %v, want one with Busy/InACall", bodies)
	}
	h.passes(3, 10*time.Second) // Teams shows our Busy/InACall meanwhile
	if h.dnd(1) || h.phoneRequests("PUT") != 0 {
		t.Fatal("teamsface's own on_call pair was turned into a STARFACE DND")
	}
	h.ss.OnCall(h.people[1].sfID, false)
	h.passes(1, 10*time.Second)
	if n := h.presenceCalls(1, "clearPresence"); n != 1 {
		t.Errorf("call end: %d clearPresence calls, want 1", n)
	}
	if n := len(h.setPresenceBodies(1)); n != 1 {
		t.Errorf("%d setPresence calls in all, want 1", n)
	}
	out, _ := h.mustRun(ExitOK, "presence", "get", "0003")
	if !strings.Contains(out, "CALL") {
		t.Errorf("presence get shows no call column:\n%s", out)
	}
}

// An access token OneHub refuses is renewed once (one refresh grant) and the call repeated.
func TestOneHubExpiredTokenIsRefreshedOnce(t *testing.T) {
	t.Parallel()
	h, oh := newHarnessOneHub(t, 3)
	h.mustRun(ExitOK, "sync", "once")
	h.ss.ExpireTokens() // the realm forgets the access token; the refresh token stays good
	h.resetLogs()
	oh.ResetCalls()
	h.advance(10 * time.Second)
	h.mustRun(ExitOK, "sync", "once")
	if n := h.ss.CountGrants("refresh_token"); n != 1 {
		t.Errorf("%d refresh grants, want 1", n)
	}
	refused := 0
	for _, c := range oh.Calls() {
		if c.Code == codes.Unauthenticated {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("%d calls refused as unauthenticated, want 1 (then renewed): %+v", refused, oh.Calls())
	}
}

// A subscription OneHub refuses falls back to REST reads for the pass, with one log line.
func TestOneHubRefusedSubscriptionFallsBackToREST(t *testing.T) {
	t.Parallel()
	h, oh := newHarnessOneHub(t, 3)
	oh.AllowSubscriptionsOnly(h.people[0].sfID)
	h.ss.SetDND(h.people[2].sfID, true)
	_, errs := h.mustRun(ExitOK, "sync", "once")
	lines := 0
	for _, l := range strings.Split(errs, "\n") {
		if strings.Contains(l, "STARFACE OneHub") {
			lines++
		}
	}
	if lines != 1 || !strings.Contains(errs, "permission denied") {
		t.Errorf("stderr, want one line about OneHub refusing:\n%s", errs)
	}
	if h.phoneRequests("GET") == 0 || h.presenceCalls(2, "setPresence") != 1 {
		t.Errorf("no fallback to REST: %d phone reads, %d setPresence", h.phoneRequests("GET"), h.presenceCalls(2, "setPresence"))
	}
}

// In sync watch the event stream stays open: a STARFACE call reaches Teams at once, not at the
// next pass. The delay is measured and reported, not asserted as a timing.
func TestOneHubWatchShowsACallAtOnce(t *testing.T) {
	t.Parallel()
	h, oh := newHarnessOneHub(t, 3)
	var out, errb syncBuffer
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr = &out, &errb
	g := &globals{deps: deps, configFile: h.cfgPath, stateDir: h.stateDir, output: "table", logLevel: "warn", logFormat: "text"}
	never := make(chan time.Time)
	g.after = func(time.Duration) <-chan time.Time { return never } // only events start a pass
	r, err := g.factory("")
	if err != nil {
		t.Fatal(err)
	}
	stop, cancel := context.WithCancel(context.Background())
	defer cancel()
	passes := make(chan int, 16)
	done := make(chan error, 1)
	n := 0
	go func() {
		done <- runSyncWatch(context.Background(), stop, r, syncOptions{interval: time.Hour, passTimeout: time.Minute}, func(_ *pass.Report, err error) {
			n++
			passes <- n
		})
	}()
	<-passes
	ctx, c2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer c2()
	if err := oh.WaitStreams(ctx, 1); err != nil {
		t.Fatalf("no event stream opened: %v\n%s", err, errb.String())
	}
	start := time.Now()
	h.ss.OnCall(h.people[0].sfID, true)
	waitFor(t, "the call to reach Teams", func() bool { return h.presenceCalls(0, "setPresence") == 1 })
	t.Logf("a STARFACE call reached Teams %v after the PBX's event", time.Since(start).Round(time.Millisecond))
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "set-presence") {
		t.Errorf("watch output:\n%s", out.String())
	}
}

// login --check probes OneHub: reachable, token accepted, and whether another user's presence
// may be subscribed to (where not, teamsface reads over REST, so that is a failed row but not a
// failed check).
func TestOneHubLoginCheck(t *testing.T) {
	t.Parallel()
	h, oh := newHarnessOneHub(t, 2)
	out, _ := h.mustRun(ExitOK, "login", "--check")
	for _, want := range []string{"onehub     reachable, token accepted", "onehub     subscribe to another user", "read 0002's DND and call state"} {
		if !strings.Contains(out, want) {
			t.Errorf("login --check lacks %q:\n%s", want, out)
		}
	}
	oh.AllowSubscriptionsOnly(1)
	out, _ = h.mustRun(ExitOK, "login", "--check")
	if !strings.Contains(out, "permission denied") || !strings.Contains(out, "reads DND over REST instead") {
		t.Errorf("a refused subscription is not shown:\n%s", out)
	}
}
