package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/teamsface/teamsface/cmd/internal/clock"
	"github.com/teamsface/teamsface/cmd/internal/pass"
	"github.com/teamsface/teamsface/graph/graphtest"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/starface/onehub/onehubtest"
	"github.com/teamsface/teamsface/starface/starfacetest"
)

type demoOptions struct {
	users    int
	duration time.Duration
	seed     uint64
	serve    string        // serve the simulated services only, with a configuration in this directory
	play     bool          // with serve: play the scripted day on them
	step     time.Duration // with play: the time between two steps
	starface int           // simulated STARFACE version: 9 (classic login) or 10 (OAuth realm, no classic login)
}

func newDemoCmd(g *globals) *cobra.Command {
	o := &demoOptions{}
	c := &cobra.Command{
		Use:   "demo",
		Short: "Watch teamsface work against simulated Teams and STARFACE",
		Long: `Start a simulated Microsoft Teams/Entra and a simulated STARFACE PBX inside this process, fill
them with a made-up company (including someone without an e-mail address, two STARFACE users
sharing one address, an excluded admin login and someone who sets DND by hand on the phone),
play a scripted day of Teams calls, meetings, DND and someone going on holiday (their calls go
to their voicemail box, and come back when they do), and run "sync watch" every second against
them with a temporary state directory. Each change is printed as it happens, then a summary.
Nothing real is contacted: no configuration, no network, no credentials needed.

With -o json, stdout has JSON lines only: one object per pass, as "sync watch -o json" prints
them, then one summary object with "type": "summary". The scenario's narration is on stderr.

--serve DIR only serves the simulated company, with a configuration for it in DIR, until
stopped: teamsface's own commands then run against it from another shell. With --play the
scripted day plays on it, a step every --step, so that sync watch, presence get and /metrics in
the other shell show it happen.`,
		Example: `  teamsface demo
  teamsface demo --users 200 --duration 20s
  teamsface demo --starface 10
  teamsface demo -o json
  teamsface demo --serve /tmp/tf --play --step 10s`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if o.users < 8 {
				return usagef("--users %d is too few for the scenario; use 8 or more", o.users)
			}
			if o.duration < time.Second {
				return usagef("--duration %s is too short; the demo runs one pass a second: use 1s or more, e.g. 15s", o.duration)
			}
			if o.play && o.serve == "" {
				return usagef("--play plays the scripted day on a served company; use it with --serve DIR")
			}
			if o.step < time.Second {
				return usagef("--step %s is too short; use 1s or more", o.step)
			}
			if o.starface != 9 && o.starface != 10 {
				return usagef("--starface %d is not simulated; use 9 (classic login) or 10 (OAuth sign-in)", o.starface)
			}
			stop, cancel := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer cancel()
			if o.serve != "" {
				return runDemoServe(stop, g, *o)
			}
			return runDemo(c.Context(), stop, g, *o)
		},
	}
	c.Flags().IntVar(&o.users, "users", 12, "how many STARFACE users the simulated company has (8 or more)")
	c.Flags().DurationVar(&o.duration, "duration", 15*time.Second, "how long the scenario runs")
	c.Flags().Uint64Var(&o.seed, "seed", 1, "seed of the random presence changes, for a repeatable run")
	c.Flags().StringVar(&o.serve, "serve", "", "only start the simulated services, write a configuration for them into this directory, and wait until stopped")
	c.Flags().IntVar(&o.starface, "starface", 9, "simulated STARFACE: 9 (classic login) or 10 (OAuth password grant, no classic login)")
	c.Flags().BoolVar(&o.play, "play", false, "with --serve: play the scripted day on the served company (calls, DND, a holiday), so that another shell's sync watch, presence get and /metrics show it")
	c.Flags().DurationVar(&o.step, "step", 10*time.Second, "with --play: the time between two steps of the scripted day")
	return c
}

const (
	demoTenant   = "contoso.example"
	demoClientID = "11111111-2222-3333-4444-555555555555"
	demoSecret   = "demo-client-secret-not-real"
	demoPassword = "demo-admin-password-not-real"
	demoSFSecret = "demo-starface-client-secret-not-real"
)

// demoScripted is how many people the scripted day names; they have phone numbers and
// voicemail boxes.
const demoScripted = 12

// demoPerson is one employee of the made-up company.
type demoPerson struct {
	login, first, last, email, entraID string
	sfID                               int
}

// internal and external are the person's two STARFACE numbers.
func (p demoPerson) internal() string { return "2" + p.login }
func (p demoPerson) external() string { return "004930555" + p.login }

// demoWorld is the made-up company on its simulated services, with a configuration for them.
type demoWorld struct {
	gs     *graphtest.Server
	ss     *starfacetest.Server
	oh     *onehubtest.Server // STARFACE 10's OneHub; nil for 9
	people []demoPerson
	dir    string // the configuration, its secrets and the state directory
	cfg    *mapping.Config
}

func newDemoWorld(o demoOptions) (*demoWorld, error) {
	w := &demoWorld{gs: graphtest.NewServer(), ss: starfacetest.NewServer()}
	w.people = demoCompany(w.gs, w.ss, o.users)
	demoStarfaceVersion(w.ss, o.starface)
	if o.starface == 10 {
		// STARFACE 10's OneHub beside it, on the same people: calls show in Teams.
		w.oh = onehubtest.NewServer(w.ss, onehubtest.Options{CheckToken: demoTokenCheck(w.ss)})
	}
	var err error
	if w.dir, err = os.MkdirTemp("", "teamsface-demo-"); err != nil {
		w.close()
		return nil, err
	}
	if w.cfg, err = demoConfig(w.dir, w.gs.URL, w.ss.URL, true, w.oh); err != nil {
		w.close()
		return nil, err
	}
	return w, nil
}

func (w *demoWorld) close() {
	if w.oh != nil {
		w.oh.Close()
	}
	w.gs.Close()
	w.ss.Close()
	if w.dir != "" {
		os.RemoveAll(w.dir)
	}
}

func runDemo(ctx, stop context.Context, g *globals, o demoOptions) error {
	w, err := newDemoWorld(o)
	if err != nil {
		return err
	}
	defer w.close()
	return playDemo(ctx, stop, g, o, w)
}

// playDemo runs sync watch against the world, one pass a simulated second, with a scenario step
// after each pass, then prints the summary.
func playDemo(ctx, stop context.Context, g *globals, o demoOptions, w *demoWorld) error {
	errw := g.deps.Stderr
	fmt.Fprintln(errw, "SIMULATION: Microsoft Teams/Entra and STARFACE are both simulated inside this process.")
	fmt.Fprintln(errw, demoStarfaceBanner(o.starface))
	fmt.Fprintln(errw, "Nothing real is contacted; names, addresses and calls are made up.")
	gs, ss, oh, people, dir, cfg := w.gs, w.ss, w.oh, w.people, w.dir, w.cfg

	// One simulated clock for teamsface and both services, one second a pass, so the scenario
	// plays the same however fast the passes come.
	clk := clock.NewManual(g.deps.Now())
	gs.SetClock(clk.Now)
	ss.SetClock(clk.Now)
	dg := *g
	dg.deps.Now = clk.Now
	dg.deps.HTTPClient = gs.Client() // both doubles present httptest's built-in certificate
	if oh != nil {
		dg.deps.OneHubTLS = oh.ClientTLSConfig()
	}
	f := &factory{g: &dg, dir: filepath.Join(dir, "state"), log: dg.logger()}
	f.svc = &services{f: f, cfg: cfg}

	sc := newScenario(gs, ss, people, o.seed)
	sc.calls = oh != nil
	// The scenario is counted in passes, one a second, so it plays the same however the
	// passes are timed.
	end, cancel := context.WithCancel(stop)
	defer cancel()
	maxPasses := max(1, int(o.duration/time.Second))
	total := pass.Summary{}
	passes := 0
	err := runSyncWatch(ctx, end, f, syncOptions{interval: time.Second}, func(rep *pass.Report, err error) {
		passes++
		if rep != nil && err == nil {
			total.Add(rep.Summary)
		}
		if passes == 1 && rep != nil {
			describeMatch(errw, rep.Matches)
		}
		if passes >= maxPasses {
			cancel()
			return
		}
		clk.Advance(time.Second)
		sc.step(errw)
	})
	if err != nil {
		return err
	}
	return printDemoSummary(f, total, passes, gs, ss, o.starface)
}

// demoStarfaceVersion makes the simulated PBX a STARFACE 10 (OAuth realm, no classic login,
// the admin with the right the password grant needs) when asked; it is a 9.x otherwise.
func demoStarfaceVersion(ss *starfacetest.Server, version int) {
	if version != 10 {
		return
	}
	ss.EnableRealm(starfacetest.Realm{ClientSecret: demoSFSecret})
	ss.DisableClassicLogin()
	ss.GrantRight(1, starface.RightOAuthPasswordGrant)
}

// demoTokenCheck lets the OneHub double accept the access tokens the realm issued.
func demoTokenCheck(ss *starfacetest.Server) func(string) error {
	return func(tok string) error {
		switch err := ss.CheckAccessToken(tok); {
		case errors.Is(err, starfacetest.ErrAccessTokenExpired):
			return onehubtest.ErrTokenExpired
		case err != nil:
			return onehubtest.ErrTokenInvalid
		}
		return nil
	}
}

func demoStarfaceBanner(version int) string {
	if version == 10 {
		return "Simulated STARFACE 10: sign-in through its OAuth realm (password grant), no classic login;\n" +
			"OneHub (experimental) shows STARFACE calls in Teams."
	}
	return "Simulated STARFACE 9: the classic login."
}

// demoCompany fills both doubles: an admin (excluded), people with matching addresses, one
// without an e-mail, two STARFACE users sharing one address, and the rest.
func demoCompany(gs *graphtest.Server, ss *starfacetest.Server, n int) []demoPerson {
	firsts := []string{"Alice", "Bob", "Carol", "Dave", "Erin", "Frank", "Grace", "Heidi", "Ivan", "Judy", "Mallory", "Niaj", "Olivia", "Peggy", "Rupert", "Sybil", "Trent", "Victor", "Walter", "Yara"}
	lasts := []string{"Adler", "Brandt", "Cramer", "Dietz", "Engel", "Fischer", "Graf", "Hahn", "Imhof", "Jung"}
	gs.RegisterApp(graphtest.App{Tenant: demoTenant, ClientID: demoClientID, ClientSecret: demoSecret,
		Roles: []string{"Presence.Read.All", "Presence.ReadWrite.All", "User.Read.All"}})
	ss.AddUser(starfacetest.User{ID: 1, Login: "0001", Password: demoPassword, FirstName: "PBX", FamilyName: "Admin", Email: "pbx-admin@contoso.example", Admin: true})
	var people []demoPerson
	for i := 0; i < n; i++ {
		first, last := firsts[i%len(firsts)], lasts[(i/len(firsts))%len(lasts)]
		if i >= len(firsts) {
			first = fmt.Sprintf("%s%d", first, i/len(firsts))
		}
		p := demoPerson{login: fmt.Sprintf("%04d", i+2), first: first, last: last, sfID: i + 2,
			email:   fmt.Sprintf("%s.%s@contoso.example", strings.ToLower(first), strings.ToLower(last)),
			entraID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+2)}
		sfEmail := p.email
		switch i {
		case 4: // Erin has no e-mail address on STARFACE: unmatched
			sfEmail = ""
		case 6: // Grace's desk phone account carries Frank's address: ambiguous, neither synced
			sfEmail = people[5].email
		}
		ss.AddUser(starfacetest.User{ID: p.sfID, Login: p.login, Password: "x", FirstName: first, FamilyName: last,
			Email: sfEmail, Phone: starface.PhoneConfig{CallWaiting: true, DisplayNumberID: 100 + i, PrimaryPhoneID: 200 + i}})
		if i < demoScripted {
			// An internal and an external number, and a voicemail box of their own, for the
			// out-of-office redirect. (A large company's rest has none: finding a user's own
			// box reads every box once per user match.)
			ss.AddNumber(p.sfID, p.internal())
			ss.AddNumber(p.sfID, p.external())
			ss.AddVoicemailBox(starfacetest.VoicemailBox{ID: 500 + i, Name: first + " " + last, Number: "5" + p.login[1:],
				Password: "demo-pin-not-real", UserIDs: []int{p.sfID}})
		}
		gs.AddUser(graphtest.User{ID: p.entraID, DisplayName: first + " " + last, Mail: p.email,
			UserPrincipalName: p.email, AccountEnabled: true, Availability: "Available", Activity: "Available"})
		people = append(people, p)
	}
	return people
}

func demoConfig(dir, graphURL, starfaceURL string, mirror bool, oh *onehubtest.Server) (*mapping.Config, error) {
	onehubYAML, onCallYAML := "", ""
	if oh != nil {
		onehubYAML = "  onehub: true\n  onehub_url: https://" + oh.Target() + "\n"
		onCallYAML = "  on_call: {availability: Busy, activity: InACall}\n"
	}
	yaml := fmt.Sprintf(`microsoft:
  cloud: global
  tenant: %s
  client_id: %s
  auth: client-secret
  client_secret_file: %s
  authority_host: %s
  graph_endpoint: %s
starface:
  url: %s
  login: "0001"
  password_file: %s
  client_secret_file: %s
%susers:
  exclude: ["0001"]
starface_to_teams:
  enabled: %t
  expiration: 5m
  poll: 10s
%sout_of_office:
  redirect: voicemail
`, demoTenant, demoClientID, filepath.Join(dir, "client-secret"), graphURL, graphURL, starfaceURL, filepath.Join(dir, "starface-password"),
		filepath.Join(dir, "starface-client-secret"), onehubYAML, mirror, onCallYAML)
	// The STARFACE client secret is there for both versions: auto uses it where the PBX
	// offers OAuth (10) and the classic login where it does not (9).
	for name, secret := range map[string]string{"client-secret": demoSecret, "starface-password": demoPassword, "starface-client-secret": demoSFSecret} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret), 0o600); err != nil {
			return nil, err
		}
	}
	path := filepath.Join(dir, "mapping.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		return nil, err
	}
	return mapping.Load(path)
}

// scenario plays the scripted day: one step after every pass.
type scenario struct {
	gs     *graphtest.Server
	ss     *starfacetest.Server
	people []demoPerson
	rnd    *rand.Rand
	n      int
	calls  bool // STARFACE calls can be seen (STARFACE 10's OneHub): the scenario plays one
}

func newScenario(gs *graphtest.Server, ss *starfacetest.Server, people []demoPerson, seed uint64) *scenario {
	return &scenario{gs: gs, ss: ss, people: people, rnd: rand.New(rand.NewPCG(seed, 42))}
}

var demoPresences = [][2]string{
	{"Available", "Available"}, {"Busy", "InACall"}, {"Busy", "InAMeeting"}, {"Away", "Away"},
	{"DoNotDisturb", "Presenting"}, {"BeRightBack", "BeRightBack"}, {"Available", "Available"}, {"Offline", "OffWork"},
}

func (s *scenario) step(w interface{ Write([]byte) (int, error) }) {
	s.n++
	p := s.people
	say := func(format string, args ...any) { fmt.Fprintf(w, "[scenario] "+format+"\n", args...) }
	switch s.n {
	case 1:
		say("%s starts a Teams call; %s joins a Teams meeting", p[0].first, p[1].first)
		s.gs.SetUserPresence(p[0].entraID, "Busy", "InACall")
		s.gs.SetUserPresence(p[1].entraID, "Busy", "InAMeeting")
	case 2:
		say("%s presses DND on the STARFACE phone by hand", p[3].first)
		s.ss.SetDND(p[3].sfID, true)
		say("%s's Teams shows PresenceUnknown (no information: teamsface keeps what it has)", p[2].first)
		s.gs.SetUserPresence(p[2].entraID, "PresenceUnknown", "PresenceUnknown")
	case 3:
		say("%s's call ends", p[0].first)
		s.gs.SetUserPresence(p[0].entraID, "Available", "Available")
	case 4:
		a, act := s.gs.PresenceOf(p[3].entraID)
		say("colleagues see %s as %s/%s in Teams (teamsface's session for the DND)", p[3].first, a, act)
		say("%s picks Available by hand in Teams", p[3].first)
		s.gs.SetUserPreferredPresence(p[3].entraID, "Available", "Available")
		a, act = s.gs.PresenceOf(p[3].entraID)
		say("colleagues now see %s/%s: a status picked by hand beats every app's session, teamsface's too", a, act)
	case 5:
		say("%s switches DND off at the phone again and resets the status in Teams", p[3].first)
		s.ss.SetDND(p[3].sfID, false)
		s.gs.ClearUserPreferredPresence(p[3].entraID)
	case 6:
		say("%s's meeting ends", p[1].first)
		s.gs.SetUserPresence(p[1].entraID, "Available", "Available")
	case 9, 11, 12, 13:
		s.holiday(say)
		if s.n == 9 && !s.calls {
			s.randomChanges(say)
		}
		if s.n == 9 || s.n == 13 {
			break
		}
		fallthrough
	case 7, 8, 10:
		if !s.calls || s.n > 10 {
			s.randomChanges(say)
			break
		}
		q := p[7]
		switch s.n {
		case 7:
			say("%s takes a call on the STARFACE phone (OneHub sees it; REST could not)", q.first)
			s.ss.OnCall(q.sfID, true)
		case 8:
			a, act := s.gs.PresenceOf(q.entraID)
			say("colleagues see %s as %s/%s in Teams while the STARFACE call lasts", q.first, a, act)
		case 10:
			say("%s's STARFACE call ends", q.first)
			s.ss.OnCall(q.sfID, false)
		}
	default:
		s.randomChanges(say)
	}
}

// holiday plays someone going on holiday and coming back: automatic replies on in Outlook, the
// calls to their numbers go to their voicemail box; back, the redirects are as they were.
func (s *scenario) holiday(say func(string, ...any)) {
	q := s.people[0]
	redirect := func() string {
		var parts []string
		for _, n := range []string{q.internal(), q.external()} {
			r, _ := s.ss.RedirectOf(n, starface.TriggerAlways)
			state := "off"
			if r.Enabled {
				state = "on → " + r.Destination.String()
			}
			parts = append(parts, n+" "+state)
		}
		return strings.Join(parts, ", ")
	}
	switch s.n {
	case 9:
		say("%s turns on automatic replies in Outlook: on holiday", q.first)
		s.gs.SetUserOutOfOffice(q.entraID, true)
	case 11:
		say("%s's desk phone numbers are redirected to their voicemail box while away (%s)", q.first, redirect())
	case 12:
		say("%s is back and turns the automatic replies off", q.first)
		s.gs.SetUserOutOfOffice(q.entraID, false)
	case 13:
		say("%s's redirects are as they were before the holiday (%s)", q.first, redirect())
	}
}

// randomChanges: from here on, random people change presence, as on an ordinary afternoon.
func (s *scenario) randomChanges(say func(string, ...any)) {
	p := s.people
	for i := 0; i < max(1, len(p)/10); i++ {
		q := p[s.rnd.IntN(len(p))]
		pr := demoPresences[s.rnd.IntN(len(demoPresences))]
		say("%s is now %s/%s in Teams", q.first, pr[0], pr[1])
		s.gs.SetUserPresence(q.entraID, pr[0], pr[1])
	}
}

// describeMatch tells who takes part in the demo and who does not, and why.
func describeMatch(w io.Writer, ms []mapping.Match) {
	fmt.Fprintf(w, "[match] %s\n", mapping.Summarize(ms))
	for _, m := range ms {
		if m.Status != mapping.StatusMatched {
			fmt.Fprintf(w, "[match] %s %s: %s (%s)\n", m.Login, m.Name, m.Status, dash(m.Reason))
		}
	}
}

// demoSummary is the demo's last line with -o json. Type tells it from the pass lines before
// it, which have no type.
type demoSummary struct {
	Type      string `json:"type"`
	Simulated bool   `json:"simulated"`
	Passes    int    `json:"passes"`
	// InScope and Matched are the last pass's; Totals add up every pass.
	InScope int        `json:"in_scope"`
	Matched int        `json:"matched"`
	Totals  demoTotals `json:"totals"`

	GraphRequests           int    `json:"graph_requests"`
	PresenceRequests        int    `json:"presence_requests"`
	PresenceRequestsPerPass int    `json:"presence_requests_per_pass"`
	TokenRequests           int    `json:"token_requests"`
	StarfaceRequests        int    `json:"starface_requests"`
	StarfacePhoneWrites     int    `json:"starface_phone_writes"`
	StarfaceVersion         int    `json:"starface_version"`
	StarfaceSignIn          string `json:"starface_sign_in"`
	StarfaceSignIns         int    `json:"starface_sign_ins"`
	StarfaceRefreshes       int    `json:"starface_refreshes"`
}

// demoTotals are the passes' counts added up: only what adds up. The scope counts of a pass do
// not, so fields of the same JSON names at this level hide pass.Summary's, and stay empty.
type demoTotals struct {
	pass.Summary
	InScope *int `json:"in_scope,omitempty"`
	Matched *int `json:"matched,omitempty"`
}

// presenceBatch is how many users one getPresencesByUserId request may name.
const presenceBatch = 650

func printDemoSummary(f *factory, t pass.Summary, passes int, gs *graphtest.Server, ss *starfacetest.Server, version int) error {
	s := demoSummary{Type: "summary", Simulated: true, Passes: passes, InScope: t.InScope, Matched: t.Matched,
		Totals:                  demoTotals{Summary: t},
		GraphRequests:           gs.CountRequests("", "/v1.0/"),
		PresenceRequests:        gs.CountRequests("POST", "/v1.0/communications/getPresencesByUserId"),
		PresenceRequestsPerPass: (t.Matched + presenceBatch - 1) / presenceBatch,
		TokenRequests:           gs.CountRequests("POST", "/"+demoTenant+"/oauth2/v2.0/token"),
		StarfaceRequests:        ss.CountRequests("", "/rest/"),
		StarfacePhoneWrites:     ss.CountRequests("PUT", "/rest/users/"),
		StarfaceVersion:         version,
		StarfaceSignIns:         ss.Logins(), // classic logins and password grants
		StarfaceRefreshes:       ss.CountGrants("refresh_token"),
	}
	if f.svc.sf != nil {
		s.StarfaceSignIn = f.svc.sf.Method()
	}
	if f.g.output == "json" {
		// One line, like the pass lines before it.
		return json.NewEncoder(f.g.deps.Stdout).Encode(s)
	}
	out := f.g.deps.Stdout
	tot := s.Totals
	fmt.Fprintf(out, "\nDemo over (simulated services): %s, %d STARFACE users in scope, %d matched.\n",
		plural(passes, "pass", "passes"), s.InScope, s.Matched)
	fmt.Fprintf(out, "DND switched on %s, released %s; %s set or refreshed, %d cleared; %s switched on and %d put back; %s.\n",
		plural(tot.SwitchedOn, "time", "times"), plural(tot.Released, "time", "times"),
		plural(tot.SessionsSet, "Teams session", "Teams sessions"), tot.SessionsCleared,
		plural(tot.RedirectsOn, "redirect", "redirects"), tot.RedirectsRestored, plural(tot.Failed, "failure", "failures"))
	fmt.Fprintf(out, "Requests: Graph %d (presence %d: %d per pass, %d users a request at most), Entra tokens %d; STARFACE %d (%s).\n",
		s.GraphRequests, s.PresenceRequests, s.PresenceRequestsPerPass, presenceBatch, s.TokenRequests,
		s.StarfaceRequests, plural(s.StarfacePhoneWrites, "phone-config write", "phone-config writes"))
	fmt.Fprintf(out, "STARFACE %d sign-in: %s, %s, %s.\n", version, s.StarfaceSignIn,
		plural(s.StarfaceSignIns, "sign-in", "sign-ins"), plural(s.StarfaceRefreshes, "token refresh", "token refreshes"))
	fmt.Fprintln(out, "Next: copy mapping.example.yaml, fill in your tenant and PBX, and run `teamsface login --check`.")
	return nil
}
