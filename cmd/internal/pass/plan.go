package pass

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// DNDStep is what a pass does with a user's STARFACE DND.
type DNDStep int

const (
	DNDNothing    DNDStep = iota // nothing: the decision is keep, or nothing is known
	DNDHolds                     // the decision holds as it is (applied before, or off with nothing owned)
	DNDSwitchOn                  // write DND on and take ownership (rule 3)
	DNDRelease                   // write an owned DND back to the value it replaced (rule 4)
	DNDAlreadyOn                 // on by hand: the decision holds, no ownership taken (rule 3)
	DNDAlreadyOff                // an owned DND was switched off by hand: ownership dropped (rule 4)
)

// SessionStep is what a pass does with a user's Teams presence session (STARFACE → Teams).
type SessionStep int

const (
	SessionNothing SessionStep = iota
	SessionSet
	SessionRefresh
	SessionClear
)

// Plan is what a pass found and decided, before anything is written.
type Plan struct {
	Time    time.Time
	Matches []mapping.Match
	// Users are the matched users in the plan, then those leaving the match, each by login.
	Users []*UserPlan
	// Summary holds what is known before executing: scope, reads, kept and unchanged users.
	Summary Summary
	// Held is a refreshed user match the drop guard held back; the plan uses the old one.
	Held *DropError
	// Reads says how the STARFACE → Teams direction spreads its phone-config reads.
	Reads ReadLoad
	// PhonesFailed: OneHub (Env.Phones) could not be read; the pass read phone configs instead.
	PhonesFailed error
	oneHubIDs    map[int]string // REST id → OneHub id, as cached and as looked up this pass
	lookedUp     bool           // some were looked up: the match cache gets them
	// Throttled: Graph asked to wait longer than a run waits (Retry-After). Nobody is planned,
	// so everyone keeps what they have until the pass after that time (rule 5).
	Throttled *graph.ThrottledError

	matchFresh bool // the match was made now, not taken from the cache
	freshState bool // nothing was remembered: the first pass with this state directory
}

// ReadLoad is the STARFACE → Teams direction's phone-config reads (DESIGN.md "STARFACE → Teams").
type ReadLoad struct {
	Users int // matched users
	// Least is how many a pass must read so that each user is read once per poll; Budget how
	// many read_rate allows; a pass reads the larger (poll wins), at most Users.
	Least, Budget, Planned int
}

// PollWins reports whether reading every user once per poll needs more than read_rate allows.
func (r ReadLoad) PollWins() bool { return r.Least > r.Budget }

// UserPlan is one user's part of a plan: what was read, what the mapping decided, and what
// would change and why.
type UserPlan struct {
	Login string
	Match *mapping.Match
	// Leaving users are no longer matched: an owned DND is released, a session cleared, and
	// they are forgotten.
	Leaving bool

	Presence      graph.Presence
	PresenceKnown bool // read and not PresenceUnknown
	Decision      mapping.Decision
	// Phone is the phone config read this pass, nil when it was not read.
	Phone *starface.PhoneConfig
	// State is the DND and call state OneHub reported this pass, nil when not read.
	State *PhoneState
	// Err is a read that failed: nothing is done for the user, who is retried next pass.
	Err error

	// OldSession is a session on an Entra user this login no longer matches: cleared (if
	// still live) and forgotten before anything else.
	OldSession *state.Session

	DND          DNDStep
	Want, Before bool // the write, for DNDSwitchOn and DNDRelease
	// Owned says whether teamsface owns the DND as far as this pass knows (after the read).
	Owned bool

	Session       SessionStep
	SessionReason string
	// SessionPair is the pair a set or refreshed session shows.
	SessionPair mapping.Pair
	// LiveSession is the session teamsface holds for the user on the matched Entra user.
	LiveSession *state.Session
	// UserPreferred: Teams shows a presence that no app session can win against teamsface's
	// live session, so the status the user picked by hand in Teams is what colleagues see.
	UserPreferred bool

	readNeeded bool        // the phone config is read this pass
	u          *state.User // what is remembered of the user (a fresh one for a new user), read only
}

// Writes reports whether the plan writes the user's phone config.
func (up *UserPlan) Writes() bool { return up.DND == DNDSwitchOn || up.DND == DNDRelease }

// DNDBefore is the DND as read this pass; nil when it was not read.
func (up *UserPlan) DNDBefore() *bool {
	if up.Phone == nil {
		return nil
	}
	return boolPtr(up.Phone.DoNotDisturb)
}

// PlanOptions shape a plan.
type PlanOptions struct {
	// RefreshUsers matches users anew instead of using the cached match.
	RefreshUsers bool
	// AcceptDrop applies a refreshed match even when it drops more users than users.max_drop.
	AcceptDrop bool
	// Only limits the plan to these logins (presence get); nil plans for everyone and
	// includes the users leaving the match.
	Only []string
	// ReadAll reads every planned user's phone config, not only those a write needs.
	ReadAll bool
	// Matches, when set, is the user match to use (presence get has just made it).
	Matches []mapping.Match
	// Elapsed is the time since the previous pass (sync watch knows it); 0 takes Env.Interval.
	Elapsed time.Duration
}

// PlanPass reads both services and decides, by DESIGN.md's rules, what a pass would change for
// each user and why. It changes nothing: not the services, not st.
func PlanPass(ctx context.Context, env Env, st *state.State, o PlanOptions) (*Plan, error) {
	now := env.Now()
	mc := matchChoice{matches: o.Matches}
	if mc.matches == nil {
		var err error
		if mc, err = currentMatch(ctx, env, st, o, now); err != nil {
			return throttled(now, err)
		}
	}
	p := &Plan{Time: now, Matches: mc.matches, matchFresh: mc.fresh, Held: mc.held, freshState: st.Len() == 0}
	p.addUsers(st, o.Only)
	if err := p.readPresences(ctx, env); err != nil {
		return throttled(now, err)
	}
	for _, up := range p.matched() {
		if up.Err == nil {
			p.decide(env, up, up.u, now)
		}
	}
	p.markReads(ctx, env, st, o, now)
	p.readPhones(ctx, env)
	for _, up := range p.Users {
		if up.Err == nil {
			p.planDND(up, up.u)
			planSession(env.Config, up, up.u, now)
		}
	}
	return p, nil
}

// throttled turns Graph's request to wait into a plan that keeps everyone; other errors stop
// the pass.
func throttled(now time.Time, err error) (*Plan, error) {
	var te *graph.ThrottledError
	if errors.As(err, &te) {
		return &Plan{Time: now, Throttled: te}, nil
	}
	return nil, err
}

// view is the remembered user, or a fresh one for a user never seen: Plan reads, it never adds.
func view(st *state.State, login string) *state.User {
	if u := st.User(login); u != nil {
		return u
	}
	return &state.User{}
}

// addUsers lists the matched users (restricted to only, if given) and, for a whole pass, the
// remembered users who are no longer matched.
func (p *Plan) addUsers(st *state.State, only []string) {
	plans := make([]UserPlan, 0, len(p.Matches))
	for i := range p.Matches {
		m := &p.Matches[i]
		if m.Status != mapping.StatusExcluded {
			p.Summary.InScope++
		}
		if m.Status != mapping.StatusMatched {
			continue
		}
		p.Summary.Matched++
		if only != nil && !slices.Contains(only, m.Login) {
			continue
		}
		up := UserPlan{Login: m.Login, Match: m, u: view(st, m.Login)}
		if s, ok := up.u.Session(); ok && s.EntraID != "" && s.EntraID != m.EntraID {
			// The login now matches another Entra user: the old one's session must not
			// outlive the match. Recorded with the session, it is retried until cleared.
			old := s
			up.OldSession = &old
		}
		plans = append(plans, up)
	}
	p.Users = make([]*UserPlan, len(plans))
	for i := range plans {
		p.Users[i] = &plans[i]
	}
	slices.SortFunc(p.Users, func(a, b *UserPlan) int { return strings.Compare(a.Login, b.Login) })
	if only != nil {
		return
	}
	remembered := 0
	for _, up := range p.Users {
		if st.User(up.Login) != nil {
			remembered++
		}
	}
	if remembered == st.Len() {
		return // everyone remembered is still matched
	}
	// Both lists are sorted by login: those remembered and not matched are leaving.
	matched, i := p.Users, 0
	for _, login := range st.Logins() {
		for i < len(matched) && matched[i].Login < login {
			i++
		}
		if i < len(matched) && matched[i].Login == login {
			continue
		}
		m := &mapping.Match{Login: login, StarfaceID: st.User(login).StarfaceID()}
		if c := st.Match(); c != nil {
			// The match of the users' last pass names them in the report.
			if j := slices.IndexFunc(c.Entries, func(e state.MatchEntry) bool { return e.Login == login }); j >= 0 {
				m.UPN, m.EntraID = c.Entries[j].UPN, c.Entries[j].EntraID
			}
		}
		p.Users = append(p.Users, &UserPlan{Login: login, Leaving: true, Match: m, u: st.User(login),
			Decision: mapping.Decision{DND: mapping.DNDOff, Reason: "no longer matched"}})
	}
}

// matched are the plan's users that take part in the match (not those leaving it).
func (p *Plan) matched() []*UserPlan {
	i := slices.IndexFunc(p.Users, func(up *UserPlan) bool { return up.Leaving })
	if i < 0 {
		return p.Users
	}
	return p.Users[:i]
}

// readPresences asks Graph for every matched user's presence in ceil(N/650) requests.
func (p *Plan) readPresences(ctx context.Context, env Env) error {
	users := p.matched()
	ids := make([]string, len(users))
	for i, up := range users {
		ids[i] = up.Match.EntraID
	}
	task := env.Progress.Start("reading Teams presence")
	res, err := env.Graph.GetPresences(graph.WithProgress(ctx, task.Update), ids)
	task.Done()
	if err != nil && (graph.IsAuth(err) || len(res.Presences)+len(res.Missing) == 0) {
		return fmt.Errorf("read Teams presence: %w", err)
	}
	missing := make(map[string]bool, len(res.Missing))
	for _, id := range res.Missing {
		missing[id] = true
	}
	for _, up := range users {
		pr, ok := res.Presences[up.Match.EntraID]
		switch {
		case ok:
			up.Presence = pr
			up.PresenceKnown = pr.Availability != "" && pr.Availability != mapping.PresenceUnknown
			p.Summary.PresenceRead++
		case err != nil && !missing[up.Match.EntraID]:
			// Some requests answered: their users go on; the others keep what they have
			// (rule 2) and count as failed, to be read again next pass (rule 7).
			up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "presence not read"}
			up.Err = userError("read Teams presence of", up.Login, err)
		}
	}
	return nil
}

// decide applies the mapping (rules 2–6).
func (p *Plan) decide(env Env, up *UserPlan, u *state.User, now time.Time) {
	pr := up.Presence
	switch {
	case !up.PresenceKnown && pr.ID == "":
		up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "no presence in Graph's answer"}
	case u.Echo(pr.Availability, pr.Activity, now, env.Config.StarfaceToTeams.EchoGuard):
		up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "teamsface's own STARFACE → Teams status (echo guard)"}
	default:
		up.Decision = env.Config.Decide(mapping.Presence{Availability: pr.Availability, Activity: pr.Activity})
	}
	if traceEnabled(env.Log) {
		env.Log.Log(context.Background(), LevelTrace, "decision", "login", up.Login, "upn", up.Match.UPN,
			"availability", pr.Availability, "activity", pr.Activity,
			"dnd", string(up.Decision.DND), "reason", up.Decision.Reason, "applied", u.Applied(), "owned", u.Owned())
	}
	switch {
	case up.Decision.DND == mapping.DNDKeep:
		p.Summary.Kept++
	case !needsWrite(up, u):
		up.DND = DNDHolds
		p.Summary.Unchanged++
	}
}

// needsWrite says whether the decision may require a STARFACE write, so the phone config must
// be read: switching on what is not applied yet, releasing what teamsface owns (rule 4: only
// a DND teamsface owns is ever switched back).
func needsWrite(up *UserPlan, u *state.User) bool {
	switch up.Decision.DND {
	case mapping.DNDOn:
		return u.Applied() != string(mapping.DNDOn)
	case mapping.DNDOff:
		return u.Owned()
	}
	return false
}

// markReads picks the users whose phone config this pass reads: those a write needs, those
// with a live Teams session (so that a DND switched off clears it on the next pass), the
// STARFACE → Teams direction's share of the others, or everyone with ReadAll.
func (p *Plan) markReads(ctx context.Context, env Env, st *state.State, o PlanOptions, now time.Time) {
	s2t := env.Config.StarfaceToTeams
	// OneHub reads everyone's DND and calls at once; then no user is read for this direction
	// over REST (a write still reads the phone config it changes).
	bulk := (s2t.Enabled || o.ReadAll) && env.Phones != nil && p.readStates(ctx, env, st)
	for _, up := range p.Users {
		if up.Err != nil {
			continue
		}
		_, live := up.u.LiveSession()
		up.readNeeded = o.ReadAll || needsWrite(up, up.u) || (live && !up.Leaving && up.State == nil)
	}
	if s2t.Enabled && !o.ReadAll && !bulk {
		p.scheduleReads(env, o.Elapsed, now)
	}
}

// scheduleReads picks this pass's share of the STARFACE → Teams direction's phone-config reads.
// Users are read in turns, by login, each pass reading the turn the clock points at: at least
// ceil(N × elapsed / poll) users so that each is read once per poll, and as many more as
// read_rate allows, up to everyone. Which slice a pass reads is derived from the clock, so
// nothing about it is stored.
func (p *Plan) scheduleReads(env Env, elapsed time.Duration, now time.Time) {
	s2t := env.Config.StarfaceToTeams
	users := p.matched()
	n := len(users)
	interval := env.Interval
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if elapsed <= 0 {
		elapsed = interval
	}
	p.Reads = ReadLoad{Users: n,
		Least:  readShare(n, interval, s2t.Poll),
		Budget: int(float64(s2t.ReadRate) * interval.Seconds())}
	count := min(n, max(readShare(n, elapsed, s2t.Poll), min(n, p.Reads.Budget)))
	if count == 0 {
		return
	}
	// The turn ends where the clock stands in the poll cycle; it reaches back count users, so
	// that consecutive passes' turns meet.
	phase := float64(now.UnixNano()%int64(s2t.Poll)) / float64(s2t.Poll)
	end := int(phase * float64(n))
	for k := 1; k <= count; k++ {
		up := users[((end-k)%n+n)%n]
		if up.Err == nil && !up.readNeeded {
			up.readNeeded = true
			p.Reads.Planned++
		}
	}
}

// readShare is how many phone configs one pass reads so that each user is read at least once
// per poll when passes come every interval: N × interval / poll, rounded up.
func readShare(n int, interval, poll time.Duration) int {
	if poll <= 0 || interval >= poll {
		return n
	}
	return int(math.Ceil(float64(n) * float64(interval) / float64(poll)))
}

// readPhones reads the phone configs this pass needs, starface.concurrency at a time.
func (p *Plan) readPhones(ctx context.Context, env Env) {
	var todo []*UserPlan
	for _, up := range p.Users {
		if up.readNeeded {
			todo = append(todo, up)
		}
	}
	if len(todo) == 0 {
		return
	}
	task := env.Progress.Start("reading STARFACE phone settings")
	defer task.Done()
	var done, reads atomic.Int64
	var g errgroup.Group
	g.SetLimit(concurrencyOf(env.Config.Starface.Concurrency))
	for _, up := range todo {
		g.Go(func() error {
			pc, err := readPhone(ctx, env.Starface, up.Match.StarfaceID)
			task.Update(int(done.Add(1)), len(todo))
			if err != nil {
				up.Err = userError("read phone config of", up.Login, err)
				return nil
			}
			reads.Add(1)
			up.Phone = &pc
			return nil
		})
	}
	_ = g.Wait()
	p.Summary.PhoneReads += int(reads.Load())
}

func readPhone(ctx context.Context, sf Starface, id int) (starface.PhoneConfig, error) {
	if err := ctx.Err(); err != nil {
		return starface.PhoneConfig{}, err
	}
	return sf.PhoneConfig(ctx, id)
}

// planDND turns a decision and the DND just read into a write, or into no write at all.
func (p *Plan) planDND(up *UserPlan, u *state.User) {
	dnd, known := up.dnd()
	up.Owned = u.Owned() && (!known || dnd)
	if up.Phone == nil || !needsWrite(up, u) {
		return
	}
	dnd = up.Phone.DoNotDisturb
	switch {
	case up.Leaving && !dnd:
		// Switched off by hand after teamsface switched it on: nothing to release.
	case up.Leaving:
		up.DND, up.Want, up.Before = DNDRelease, u.Replaced(), true
	case up.Decision.DND == mapping.DNDOn && dnd:
		// Already on: set by hand (rule 3) or ours from before. Write nothing, take nothing.
		up.DND = DNDAlreadyOn
		p.Summary.Unchanged++
	case up.Decision.DND == mapping.DNDOn:
		up.DND, up.Want, up.Before = DNDSwitchOn, true, false
	case !dnd:
		up.DND = DNDAlreadyOff
		p.Summary.Unchanged++
	default:
		up.DND, up.Want, up.Before = DNDRelease, u.Replaced(), true
	}
}

// planSession keeps one Teams presence session per user whose DND was switched on at STARFACE
// by hand (not by teamsface): set it, refresh it when less than half its time is left, and
// clear it as soon as the DND goes off or the user leaves the match. With the direction
// disabled it only clears sessions left over.
func planSession(cfg *mapping.Config, up *UserPlan, u *state.User, now time.Time) {
	s2t := cfg.StarfaceToTeams
	if s, ok := u.LiveSession(); ok && s.EntraID != "" && up.OldSession == nil {
		live := s
		up.LiveSession = &live
		up.UserPreferred = !up.Leaving && up.PresenceKnown && outranked(live, up.Presence)
	}
	if up.Leaving {
		if up.LiveSession != nil {
			up.Session, up.SessionReason = SessionClear, "no longer matched"
		}
		return
	}
	dnd, known := up.dnd()
	if !known {
		return // the DND is not known this pass, and there is no live session to look after
	}
	owned := up.Owned
	switch up.DND {
	case DNDSwitchOn:
		dnd, owned = true, true
	case DNDRelease:
		dnd, owned = up.Want, false
	}
	// A DND set by hand shows as on_dnd; a STARFACE call (OneHub only) as on_call. The
	// hand-set DND wins.
	var pair mapping.Pair
	var why string
	switch {
	case !s2t.Enabled:
	case dnd && !owned:
		pair, why = s2t.OnDND, "DND switched on at STARFACE by hand"
	case up.State != nil && up.State.OnCall && s2t.OnCall != (mapping.Pair{}):
		pair, why = s2t.OnCall, "on a STARFACE call"
	}
	want := pair != (mapping.Pair{})
	s := up.LiveSession
	switch {
	case want && s == nil:
		up.Session, up.SessionReason = SessionSet, why+": show "+pair.String()+" in Teams"
	case want && (s.Availability != pair.Availability || s.Activity != pair.Activity):
		up.Session, up.SessionReason = SessionSet, why+": show "+pair.String()+" in Teams instead"
	case want && s.Expires.Sub(now) < s2t.Expiration/2:
		up.Session, up.SessionReason = SessionRefresh, "refresh the Teams session before it expires"
	case !want && s != nil && up.State != nil && !up.State.DND && !up.State.OnCall:
		up.Session, up.SessionReason = SessionClear, "no DND and no call at STARFACE: clear the Teams session"
	case !want && s != nil:
		up.Session, up.SessionReason = SessionClear, "DND is off at STARFACE (or teamsface owns it): clear the Teams session"
	}
	up.SessionPair = pair
}

// dnd is the user's DND as this pass knows it: from the phone config read, else from OneHub.
func (up *UserPlan) dnd() (on, known bool) {
	switch {
	case up.Phone != nil:
		return up.Phone.DoNotDisturb, true
	case up.State != nil:
		return up.State.DND, true
	}
	return false, false
}

// sessionRank is how Teams ranks the availability of app sessions against each other
// (graph.md): DoNotDisturb > Busy > Available > Away.
var sessionRank = map[string]int{"Offline": 0, "Away": 1, "BeRightBack": 1, "Available": 2, "AvailableIdle": 2, "Busy": 3, "BusyIdle": 3, "DoNotDisturb": 4}

// outranked reports whether Teams shows a presence that ranks below teamsface's live session:
// no app session can make that happen, only a status the user picked by hand, which beats
// every session.
func outranked(s state.Session, shown graph.Presence) bool {
	if shown.Availability == s.Availability && shown.Activity == s.Activity {
		return false
	}
	got, ok := sessionRank[shown.Availability]
	return ok && got < sessionRank[s.Availability]
}
