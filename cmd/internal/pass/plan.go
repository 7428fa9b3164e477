package pass

import (
	"context"
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

	matchFresh bool // the match was made now, not taken from the cache
}

// UserPlan is one user's part of a plan: what was read, what the mapping decided, and what
// would change and why.
type UserPlan struct {
	Login string
	Match mapping.Match
	// Leaving users are no longer matched: an owned DND is released, a session cleared, and
	// they are forgotten.
	Leaving bool

	Presence      graph.Presence
	PresenceKnown bool // read and not PresenceUnknown
	Decision      mapping.Decision
	// Phone is the phone config read this pass, nil when it was not read.
	Phone *starface.PhoneConfig
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
	// LiveSession is the session teamsface holds for the user on the matched Entra user.
	LiveSession *state.Session

	dndKnown   *bool // the DND as last known, for the report
	readNeeded bool  // the phone config is read this pass
}

// Writes reports whether the plan writes the user's phone config.
func (up *UserPlan) Writes() bool { return up.DND == DNDSwitchOn || up.DND == DNDRelease }

// DNDBefore is the DND as read this pass, else as last known; nil when unknown.
func (up *UserPlan) DNDBefore() *bool {
	if up.Phone != nil {
		return boolPtr(up.Phone.DoNotDisturb)
	}
	return up.dndKnown
}

// PlanOptions shape a plan.
type PlanOptions struct {
	// RefreshUsers matches users anew instead of using the cached match.
	RefreshUsers bool
	// Only limits the plan to these logins (presence get); nil plans for everyone and
	// includes the users leaving the match.
	Only []string
	// ReadAll reads every planned user's phone config, not only those a write needs.
	ReadAll bool
	// Matches, when set, is the user match to use (presence get has just made it).
	Matches []mapping.Match
}

// PlanPass reads both services and decides, by DESIGN.md's rules, what a pass would change for
// each user and why. It changes nothing: not the services, not st.
func PlanPass(ctx context.Context, env Env, st *state.State, o PlanOptions) (*Plan, error) {
	now := env.Now()
	ms, fresh := o.Matches, false
	if ms == nil {
		var err error
		if ms, fresh, err = currentMatch(ctx, env, st, o.RefreshUsers, now); err != nil {
			return nil, err
		}
	}
	p := &Plan{Time: now, Matches: ms, matchFresh: fresh}
	p.addUsers(st, o.Only)
	if err := p.readPresences(ctx, env); err != nil {
		return nil, err
	}
	for _, up := range p.matched() {
		if up.Err == nil {
			p.decide(env, up, view(st, up.Login), now)
		}
	}
	p.markReads(env, st, o.ReadAll, now)
	p.readPhones(ctx, env, now)
	for _, up := range p.Users {
		if up.Err == nil {
			p.planDND(up, view(st, up.Login))
		}
	}
	for _, up := range p.Users {
		if up.Err == nil {
			planSession(env.Config, up, view(st, up.Login), now)
		}
	}
	return p, nil
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
	inMatch := map[string]bool{}
	for _, m := range p.Matches {
		if m.Status != mapping.StatusExcluded {
			p.Summary.InScope++
		}
		if m.Status != mapping.StatusMatched {
			continue
		}
		p.Summary.Matched++
		inMatch[m.Login] = true
		if only != nil && !slices.Contains(only, m.Login) {
			continue
		}
		up := &UserPlan{Login: m.Login, Match: m}
		u := view(st, m.Login)
		if s, ok := u.Session(); ok && s.EntraID != "" && s.EntraID != m.EntraID {
			// The login now matches another Entra user: the old one's session must not
			// outlive the match. Recorded with the session, it is retried until cleared.
			up.OldSession = &s
		}
		p.Users = append(p.Users, up)
	}
	slices.SortFunc(p.Users, func(a, b *UserPlan) int { return strings.Compare(a.Login, b.Login) })
	if only != nil {
		return
	}
	for _, login := range st.Logins() {
		if inMatch[login] {
			continue
		}
		u := st.User(login)
		p.Users = append(p.Users, &UserPlan{Login: login, Leaving: true,
			Match:    mapping.Match{Login: login, StarfaceID: u.StarfaceID(), EntraID: u.EntraID(), UPN: u.UPN()},
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

// markReads picks the users whose phone config this pass reads: those a write needs, the
// STARFACE → Teams direction's share, or everyone with readAll.
func (p *Plan) markReads(env Env, st *state.State, readAll bool, now time.Time) {
	for _, up := range p.Users {
		if up.Err == nil && (readAll || needsWrite(up, view(st, up.Login))) {
			up.readNeeded = true
		}
	}
	if env.Config.StarfaceToTeams.Enabled {
		p.scheduleReads(env, st, now)
	}
}

// scheduleReads picks this pass's share of phone-config reads for the STARFACE → Teams
// direction: the users read longest ago first, so each is read about once per poll and no pass
// reads more than N × interval / poll (users whose write path reads them anyway not counted).
func (p *Plan) scheduleReads(env Env, st *state.State, now time.Time) {
	poll := env.Config.StarfaceToTeams.Poll
	interval := env.Interval
	if interval <= 0 {
		interval = 10 * time.Second
		if !st.LastPass.IsZero() {
			interval = now.Sub(st.LastPass)
		}
	}
	interval = min(max(interval, time.Second), poll)
	matched := p.matched()
	var candidates []*UserPlan
	for _, up := range matched {
		if up.readNeeded || up.Err != nil {
			continue
		}
		// Users read within the last interval need no second look this pass.
		if at := view(st, up.Login).DNDReadAt(); !at.IsZero() && now.Sub(at) < interval {
			continue
		}
		candidates = append(candidates, up)
	}
	slices.SortStableFunc(candidates, func(a, b *UserPlan) int {
		return view(st, a.Login).DNDReadAt().Compare(view(st, b.Login).DNDReadAt())
	})
	share := readShare(len(matched), interval, poll)
	for i := 0; i < len(candidates) && i < share; i++ {
		candidates[i].readNeeded = true
	}
}

// readShare is how many phone configs one pass reads so that each user is read at least once
// per poll: N × interval / poll, rounded up.
func readShare(n int, interval, poll time.Duration) int {
	if poll <= 0 || interval >= poll {
		return n
	}
	return int(math.Ceil(float64(n) * float64(interval) / float64(poll)))
}

// readPhones reads the phone configs this pass needs, starface.concurrency at a time.
func (p *Plan) readPhones(ctx context.Context, env Env, now time.Time) {
	var todo []*UserPlan
	for _, up := range p.Users {
		if up.readNeeded {
			todo = append(todo, up)
		}
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
	if dnd, ok := u.DND(); ok {
		up.dndKnown = boolPtr(dnd)
	}
	up.Owned = u.Owned() && (up.Phone == nil || up.Phone.DoNotDisturb)
	if !up.readNeeded || up.Phone == nil || !needsWrite(up, u) {
		return
	}
	dnd := up.Phone.DoNotDisturb
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
	live, ok := u.LiveSession()
	if ok && live.EntraID != "" && up.OldSession == nil {
		up.LiveSession = &live
	}
	if up.Leaving {
		if up.LiveSession != nil {
			up.Session, up.SessionReason = SessionClear, "no longer matched"
		}
		return
	}
	dnd, known, owned := dndAfter(up, u)
	want := s2t.Enabled && known && dnd && !owned
	s := up.LiveSession
	switch {
	case want && s == nil:
		up.Session = SessionSet
		up.SessionReason = "DND switched on at STARFACE by hand: show " + s2t.OnDND.Availability + "/" + s2t.OnDND.Activity + " in Teams"
	case want && (s.Expires.Sub(now) < s2t.Expiration/2 || s.Availability != s2t.OnDND.Availability || s.Activity != s2t.OnDND.Activity):
		up.Session, up.SessionReason = SessionRefresh, "refresh the Teams session before it expires"
	case !want && s != nil:
		up.Session, up.SessionReason = SessionClear, "DND is off at STARFACE (or teamsface owns it): clear the Teams session"
	}
}

// dndAfter is the DND and its ownership once the planned write has landed (a user whose write
// fails is skipped for sessions anyway).
func dndAfter(up *UserPlan, u *state.User) (dnd, known, owned bool) {
	switch {
	case up.DND == DNDSwitchOn:
		return true, true, true
	case up.DND == DNDRelease:
		return up.Want, true, false
	case up.Phone != nil:
		return up.Phone.DoNotDisturb, true, up.Owned
	}
	dnd, known = u.DND()
	return dnd, known, u.Owned()
}
