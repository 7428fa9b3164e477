package pass

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/teamsface/teamsface/cmd/internal/progress"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Plan is what a pass found and decided, before anything is written. It is built once (PlanPass
// or PlanRelease) and executed once.
type Plan struct {
	Time    time.Time
	Matches []mapping.Match
	// Users are the matched users in the plan, then those leaving the match, each by login.
	Users []*UserPlan
	// Summary holds what is known before executing: scope, reads, kept and unchanged users.
	Summary Summary
	// Held is a refreshed user match the drop guard held back; the plan uses the old one.
	Held *mapping.DropError
	// Reads says how the STARFACE → Teams direction spreads its phone-config reads.
	Reads mapping.ReadLoad
	// OneHubFailed: OneHub (Env.OneHub) could not be read; the pass read phone configs instead.
	OneHubFailed error
	oneHubIDs    map[int]string // REST id → OneHub id, as cached and as looked up this pass
	lookedUp     bool           // some were looked up: the match cache gets them
	// Throttled: Graph asked to wait longer than a run waits (Retry-After). Nobody is planned,
	// so everyone keeps what they have until the pass after that time (rule 5).
	Throttled *graph.ThrottledError

	matchFresh bool // the match was made now, not taken from the cache
	freshState bool // nothing was remembered: the first pass with this state directory
	executed   bool

	// mailboxes are the matched users' voicemail boxes by REST id, when a redirect to
	// voicemail needs them (nil: not read, see mailboxErr); mailboxesLooked: read now, to be
	// cached with the match.
	mailboxes       map[int][]int
	mailboxErr      error
	mailboxesLooked bool
}

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
	// OneHub is the DND and call state OneHub reported this pass, nil when not read.
	OneHub *OneHubState
	// Err is a read that failed: nothing is done for the user's DND and Teams session, and
	// the user is retried next pass.
	Err error
	// RedirectErr is why the user's redirects cannot be done this pass (a read that failed, no
	// voicemail box of their own): it fails the user's pass but not their DND and session.
	RedirectErr error

	// OldSession is a session on an Entra user this login no longer matches: cleared (if
	// still live) and forgotten before anything else.
	OldSession *state.Session

	DND          mapping.DNDStep
	Want, Before bool // the write, for DNDSwitchOn and DNDRelease
	// Owned says whether teamsface owns the DND as far as this pass knows (after the read).
	Owned bool

	Session       mapping.SessionStep
	SessionReason string
	// SessionPair is the pair a set or refreshed session shows.
	SessionPair mapping.Pair
	// LiveSession is the session teamsface holds for the user on the matched Entra user.
	LiveSession *state.Session
	// UserPreferred: Teams shows a presence that no app session can win against teamsface's
	// live session, so the status the user picked by hand in Teams is what colleagues see.
	UserPreferred bool

	// RedirectWant is the out-of-office decision; Redirects the user's redirects as read this
	// pass (read only when the decision may need a write); RedirectPlans what becomes of them.
	RedirectWant  mapping.RedirectWant
	Redirects     []starface.Redirect
	RedirectPlans []RedirectPlan

	redirectsNeeded bool        // the redirects are read this pass
	redirectsRead   bool        // and were
	readNeeded      bool        // the phone config is read this pass
	u               *state.User // what is remembered of the user (a fresh one for a new user), read only
}

// Writes reports whether the plan writes the user's phone config.
func (up *UserPlan) Writes() bool { return up.DND.Writes() }

// DNDBefore is the DND as read this pass; nil when it was not read.
func (up *UserPlan) DNDBefore() *bool {
	if up.Phone == nil {
		return nil
	}
	return boolPtr(up.Phone.DoNotDisturb)
}

// dnd is the user's DND as this pass knows it: from the phone config read, else from OneHub.
func (up *UserPlan) dnd() (on, known bool) {
	switch {
	case up.Phone != nil:
		return up.Phone.DoNotDisturb, true
	case up.OneHub != nil:
		return up.OneHub.DND, true
	}
	return false, false
}

// memory is what the state remembers of the user's DND, as the mapping's rules take it.
func (up *UserPlan) memory() mapping.DNDMemory {
	return mapping.DNDMemory{Applied: mapping.DND(up.u.Applied()), Owned: up.u.Owned(), Replaced: up.u.Replaced()}
}

// needsPhone says whether the user's phone config must be read for a write this pass may make.
func (up *UserPlan) needsPhone() bool {
	d := up.Decision.DND
	if up.Leaving {
		d = mapping.DNDOff
	}
	return up.memory().NeedsPhone(d)
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
	if mc.held != nil && mc.matches == nil {
		return &Plan{Time: now, Held: mc.held}, nil // no old match to keep everyone with
	}
	p := &Plan{Time: now, Matches: mc.matches, matchFresh: mc.fresh, Held: mc.held, freshState: st.Len() == 0}
	p.addUsers(st, o.Only)
	// STARFACE reads start as soon as they are known to be needed, while Graph is still
	// answering: those that do not depend on Teams presence at once, the others as each
	// presence request answers. A pass with writes is bound by the STARFACE round trips, and
	// the presence requests hide behind them.
	rd := p.startReads(ctx, env)
	p.markEarlyReads(ctx, env, st, o, now, rd)
	err := p.readPresences(ctx, env, func(up *UserPlan) {
		if up.Err == nil {
			p.decide(env, up, now)
		}
		up.decideRedirect(env.Config)
		if up.Err == nil {
			up.trace(env)
		}
		if up.Err == nil && !up.readNeeded && up.needsPhone() {
			rd.read(up)
		}
		if !up.redirectsNeeded && up.needsRedirects() {
			rd.readRedirects(up)
		}
	})
	rd.wait()
	if err != nil {
		return throttled(now, err)
	}
	p.readMailboxes(ctx, env, st)
	for _, up := range p.Users {
		if up.Err == nil {
			p.planDND(up)
			planSession(env.Config, up, now)
		}
		p.planRedirects(env, up) // the redirects stand apart: a phone that cannot be read does not keep them
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

// readPresences asks Graph for every matched user's presence (the Graph client sends
// ceil(N/650) requests, microsoft.concurrency at a time) and hands each user to got as their
// request answers (in this goroutine). A request that fails after its retries fails only its own
// users, who keep what they have (rule 2) and are read again next pass (rule 7); the pass fails
// as a whole when no request answered, or on a 401/403, or when Graph asked to wait
// (Retry-After).
func (p *Plan) readPresences(ctx context.Context, env Env, got func(*UserPlan)) error {
	users := p.matched()
	// The user of each id as asked (the Graph client answers by the ids as given), and in more
	// the rare others matched to an Entra user already asked for (ids are GUIDs, compared in
	// either case).
	byID := make(map[string]*UserPlan, len(users))
	asked := make(map[string]string, len(users)) // lower case → as asked
	var more map[string][]*UserPlan
	ids := make([]string, 0, len(users))
	for _, up := range users {
		id := up.Match.EntraID
		if first, ok := asked[strings.ToLower(id)]; ok {
			if more == nil {
				more = map[string][]*UserPlan{}
			}
			more[first] = append(more[first], up)
			continue
		}
		asked[strings.ToLower(id)] = id
		byID[id] = up
		ids = append(ids, id)
	}
	task := env.Progress.Start("reading Teams presence")
	defer task.Done()
	var first error
	answered := 0
	err := env.Graph.StreamPresences(graph.WithProgress(ctx, task.Update), ids, func(a graph.PresenceAnswer) {
		var te *graph.ThrottledError
		switch {
		case a.Err != nil && (graph.IsAuth(a.Err) || errors.As(a.Err, &te)):
			return // the whole pass ends: StreamPresences returns it
		case a.Err != nil && first == nil:
			first = a.Err
		case a.Err == nil:
			answered++
		}
		for _, id := range a.IDs {
			if up := byID[id]; up != nil {
				p.takePresence(up, id, a, got)
			}
			for _, up := range more[id] {
				p.takePresence(up, id, a, got)
			}
		}
	})
	switch {
	case err != nil:
		return fmt.Errorf("read Teams presence: %w", err)
	case first != nil && answered == 0:
		return fmt.Errorf("read Teams presence: %w", first)
	}
	return nil
}

// takePresence records one presence request's answer for a user of one id (as asked).
func (p *Plan) takePresence(up *UserPlan, id string, a graph.PresenceAnswer, got func(*UserPlan)) {
	pr, ok := a.Presences[id]
	switch {
	case ok:
		up.Presence = pr
		up.PresenceKnown = pr.Availability != "" && pr.Availability != mapping.PresenceUnknown
		p.Summary.PresenceRead++
	case a.Err != nil:
		up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "presence not read"}
		up.Err = userError("read Teams presence of", up.Login, a.Err)
	}
	got(up)
}

// decide applies the mapping (rules 2–6). A presence that is teamsface's own session pair is no
// input (rule 6): that is remembered in the state, so it is asked here.
func (p *Plan) decide(env Env, up *UserPlan, now time.Time) {
	pr, u := up.Presence, up.u
	switch {
	case !up.PresenceKnown && pr.ID == "":
		up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "no presence in Graph's answer"}
	case u.Echo(pr.Availability, pr.Activity, now, env.Config.StarfaceToTeams.EchoGuard):
		up.Decision = mapping.Decision{DND: mapping.DNDKeep, Reason: "teamsface's own STARFACE → Teams status (echo guard)"}
	default:
		up.Decision = env.Config.Decide(up.MappedPresence())
	}
}

// MappedPresence is the user's Teams presence as the mapping takes it: the pair and Microsoft's
// out-of-office setting, so that a rule's when.out_of_office and the redirects see the same.
func (up *UserPlan) MappedPresence() mapping.Presence {
	p := up.Presence
	return mapping.Presence{Availability: p.Availability, Activity: p.Activity, OutOfOffice: p.IsOutOfOffice}
}

// trace explains the user's decisions at --log-level trace.
func (up *UserPlan) trace(env Env) {
	if !traceEnabled(env.Log) {
		return
	}
	pr, u := up.Presence, up.u
	args := []any{"login", up.Login, "upn", up.Match.UPN, "availability", pr.Availability, "activity", pr.Activity,
		"dnd", string(up.Decision.DND), "reason", up.Decision.Reason, "applied", u.Applied(), "owned", u.Owned(),
		"out_of_office", up.MappedPresence().IsOutOfOffice()}
	if env.Config.OutOfOffice.Enabled() || len(u.OwnedRedirects()) > 0 {
		args = append(args, "redirect", string(up.RedirectWant), "redirect_applied", u.RedirectApplied(),
			"redirects_owned", len(u.OwnedRedirects()))
	}
	env.Log.Log(context.Background(), LevelTrace, "decision", args...)
}

// markEarlyReads starts the phone-config reads that do not wait for Teams presence: those
// with a live Teams session (so that a DND switched off clears it on the next pass), the users
// leaving the match with a DND to release, the STARFACE → Teams direction's turn of the others,
// or everyone with ReadAll. With OneHub, everyone's DND and calls come in one read and this
// direction reads nobody over REST.
func (p *Plan) markEarlyReads(ctx context.Context, env Env, st *state.State, o PlanOptions, now time.Time, rd *readers) {
	s2t := env.Config.StarfaceToTeams
	bulk := (s2t.Enabled || o.ReadAll) && env.OneHub != nil && p.readOneHub(ctx, env, st)
	for _, up := range p.Users {
		_, live := up.u.LiveSession()
		// An owned DND OneHub shows off: read over REST before ownership is dropped (rule 4),
		// since OneHub's view may not have caught up with teamsface's own write.
		ownedOff := up.OneHub != nil && !up.OneHub.DND && up.u.Owned()
		up.readNeeded = o.ReadAll || (live && !up.Leaving && up.OneHub == nil) || (up.Leaving && up.needsPhone()) || ownedOff
		if up.Leaving {
			up.decideRedirect(env.Config)
		}
		if up.Leaving && up.needsRedirects() || o.ReadAll && env.Config.OutOfOffice.Enabled() {
			rd.readRedirects(up)
		}
	}
	if s2t.Enabled && !o.ReadAll && !bulk {
		p.scheduleReads(env, o.Elapsed, now)
	}
	for _, up := range p.Users {
		if up.readNeeded {
			rd.start(up)
		}
	}
}

// scheduleReads picks this pass's turn of the STARFACE → Teams direction's phone-config reads
// (mapping's ReadTurn): the matched users, by login, from where the previous pass's turn ended.
func (p *Plan) scheduleReads(env Env, elapsed time.Duration, now time.Time) {
	users := p.matched()
	first, count, load := env.Config.StarfaceToTeams.ReadTurn(len(users), env.Interval, elapsed, now)
	p.Reads = load
	for k := range count {
		up := users[(first+k)%len(users)]
		if up.Err == nil && !up.readNeeded {
			up.readNeeded = true
			p.Reads.Planned++
		}
	}
}

// reader reads one thing per user from STARFACE (a phone config, a list of redirects) as it is
// asked for. Asking never blocks, so that the planning goroutine goes on taking Graph's answers
// while STARFACE reads are queued. The readers hand their results back; wait gives them to the
// users in the planning goroutine. All readers of a plan share starface.concurrency slots.
type reader[T any] struct {
	queue   chan *UserPlan
	results chan readResult[T]
	g       errgroup.Group
	task    *progress.Task
	done    atomic.Int64
}

type readResult[T any] struct {
	up  *UserPlan
	v   T
	err error
}

// startReader starts a reader of up to n users that calls read for each user queued.
func startReader[T any](ctx context.Context, env Env, slots chan struct{}, n int, what string,
	read func(context.Context, *UserPlan) (T, error)) *reader[T] {
	// The queue holds every user a pass may ask for, so that asking never blocks; results are
	// taken as they come (see wait), so a few slots do.
	rd := &reader[T]{queue: make(chan *UserPlan, n), results: make(chan readResult[T], cap(slots)), task: env.Progress.Start(what)}
	for range cap(slots) {
		rd.g.Go(func() error {
			for up := range rd.queue {
				var v T
				err := ctx.Err()
				if err == nil {
					slots <- struct{}{}
					v, err = read(ctx, up)
					<-slots
				}
				rd.task.Update(int(rd.done.Add(1)), 0)
				rd.results <- readResult[T]{up, v, err}
			}
			return nil
		})
	}
	return rd
}

// start queues up's read; each user is queued at most once, so the queue never fills.
func (rd *reader[T]) start(up *UserPlan) { rd.queue <- up }

// wait waits for every read and hands each result to apply, in this goroutine, as it comes.
func (rd *reader[T]) wait(apply func(up *UserPlan, v T, err error)) {
	close(rd.queue)
	go func() {
		_ = rd.g.Wait()
		close(rd.results)
	}()
	for r := range rd.results {
		apply(r.up, r.v, r.err)
	}
	rd.task.Done()
}

// readers are a plan's STARFACE reads: phone configs (DND) and redirects (out of office).
type readers struct {
	p         *Plan
	phones    *reader[starface.PhoneConfig]
	redirects *reader[[]starface.Redirect]
}

func (p *Plan) startReads(ctx context.Context, env Env) *readers {
	slots := make(chan struct{}, concurrencyOf(env.Config.Starface.Concurrency))
	return &readers{p: p,
		phones: startReader(ctx, env, slots, len(p.Users), "reading STARFACE phone settings",
			func(ctx context.Context, up *UserPlan) (starface.PhoneConfig, error) {
				return env.Starface.PhoneConfig(ctx, up.Match.StarfaceID)
			}),
		redirects: startReader(ctx, env, slots, len(p.Users), "reading STARFACE redirects",
			func(ctx context.Context, up *UserPlan) ([]starface.Redirect, error) {
				return env.Starface.Redirects(ctx, up.ref())
			}),
	}
}

// read marks up's phone config as read this pass and queues the read.
func (rd *readers) read(up *UserPlan) {
	up.readNeeded = true
	rd.phones.start(up)
}

// start queues up's phone-config read (readNeeded is set already).
func (rd *readers) start(up *UserPlan) { rd.phones.start(up) }

// readRedirects queues the read of up's redirects.
func (rd *readers) readRedirects(up *UserPlan) {
	up.redirectsNeeded = true
	rd.redirects.start(up)
}

// wait waits for every read and gives each user what was read, or the failure.
func (rd *readers) wait() {
	fail := func(up *UserPlan, what string, err error) {
		if up.Err == nil {
			up.Err = userError(what, up.Login, err)
		}
	}
	rd.phones.wait(func(up *UserPlan, pc starface.PhoneConfig, err error) {
		if err != nil {
			fail(up, "read phone config of", err)
			return
		}
		up.Phone = &pc
		rd.p.Summary.PhoneReads++
	})
	rd.redirects.wait(func(up *UserPlan, rs []starface.Redirect, err error) {
		if err != nil {
			up.RedirectErr = userError("read redirects of", up.Login, err)
			return
		}
		up.Redirects = rs
		up.redirectsRead = true
		rd.p.Summary.RedirectReads++
	})
}

func readPhone(ctx context.Context, sf Starface, id int) (starface.PhoneConfig, error) {
	if err := ctx.Err(); err != nil {
		return starface.PhoneConfig{}, err
	}
	return sf.PhoneConfig(ctx, id)
}

// planDND turns the decision and the DND just read into a write, or into none (mapping.PlanDND),
// and counts the user as kept or unchanged.
func (p *Plan) planDND(up *UserPlan) {
	var phone *bool
	if up.Phone != nil {
		phone = &up.Phone.DoNotDisturb
	}
	d := mapping.PlanDND(up.Decision.DND, up.memory(), up.Leaving, phone)
	up.DND, up.Want, up.Before, up.Owned = d.Step, d.Want, d.Before, d.Owned
	switch {
	case up.Leaving:
	case up.Decision.DND == mapping.DNDKeep:
		p.Summary.Kept++
	case d.Step == mapping.DNDHolds, d.Step == mapping.DNDAlreadyOn, d.Step == mapping.DNDAlreadyOff:
		p.Summary.Unchanged++
	}
}

// planSession decides the user's Teams presence session (mapping's PlanSession) from the DND
// as it will be once this pass's write is done.
func planSession(cfg *mapping.Config, up *UserPlan, now time.Time) {
	f := mapping.SessionFacts{Leaving: up.Leaving, Owned: up.Owned, OneHub: cfg.Starface.OneHub, Now: now}
	if s, ok := up.u.LiveSession(); ok && s.EntraID != "" && up.OldSession == nil {
		live := s
		up.LiveSession = &live
		f.Live = &mapping.Session{Pair: mapping.Pair{Availability: s.Availability, Activity: s.Activity}, Expires: s.Expires}
		up.UserPreferred = !up.Leaving && up.PresenceKnown &&
			mapping.Outranked(f.Live.Pair, up.MappedPresence())
	}
	f.DND, f.DNDKnown = up.dnd()
	if up.OneHub != nil {
		f.OnCall, f.CallKnown = up.OneHub.OnCall, true
	}
	switch up.DND {
	case mapping.DNDSwitchOn:
		f.DND, f.Owned = true, true
	case mapping.DNDRelease:
		f.DND, f.Owned = up.Want, false
	}
	s := cfg.StarfaceToTeams.PlanSession(f)
	up.Session, up.SessionPair, up.SessionReason = s.Step, s.Pair, s.Reason
}
