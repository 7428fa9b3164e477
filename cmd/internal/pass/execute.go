package pass

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// outcome is what executing one user's plan led to. Each phase touches only its own user's
// outcome, so phases run users concurrently without a lock, and the report lists each user's
// changes in the order the phases made them.
type outcome struct {
	err     error // the first failure; nothing further is done for the user's DND and session this pass
	changes []Change
	intent  *state.Intent // the DND write announced, until it is known to have landed
	// redirects are the redirect writes announced, in the order of the user's RedirectPlans
	// that write; redirectsDone how many of them landed; redirectErr why the others did not.
	// The redirects fail on their own: a DND that cannot be read or written does not keep a
	// user's calls from going to voicemail, nor the other way round.
	redirects     []state.Intent
	redirectsDone int
	redirectErr   error
}

func (o *outcome) failed() bool { return o.err != nil }

// passErr is why the user's pass failed, nil when it did not.
func (o *outcome) passErr() error {
	if o.err != nil {
		return o.err
	}
	return o.redirectErr
}

// Execute carries out the plan on st: it records every STARFACE write as an intent in one step,
// then writes, sets and clears Teams presence sessions, and settles each outcome in st through
// state's transitions. A user whose step fails is logged, counted and retried next pass; only
// a failure to record the intents stops the pass.
func (p *Plan) Execute(ctx context.Context, env Env, st *state.State) (*Report, error) {
	if p.executed {
		return nil, errors.New("pass: a plan is executed once")
	}
	p.executed = true
	x := &executor{env: env, st: st, p: p, now: p.Time, outs: make([]outcome, len(p.Users))}
	rep := &Report{Summary: p.Summary, Matches: p.Matches, Changes: []Change{}, Held: p.Held, Reads: p.Reads,
		Throttled: p.Throttled, OneHubFailed: p.OneHubFailed}
	if p.freshState {
		for _, up := range p.Users {
			if dnd, known := up.dnd(); known && dnd && !up.Leaving {
				rep.OnAtStart = append(rep.OnAtStart, up.Login)
			}
		}
	}
	if p.Throttled != nil {
		rep.ThrottledUntil = p.Throttled.Until
		return rep, nil
	}
	switch {
	case p.matchFresh:
		st.SetMatch(matchesToCache(p.Matches, p.Time, matchKey(env.Config)))
	case p.Held != nil && st.Match() != nil:
		// A held match keeps the old entries (OneHub ids included), timed anew so that the
		// refresh is tried again after users.refresh rather than on every pass.
		c := *st.Match()
		c.Time = p.Time
		st.SetMatch(&c)
	}
	oneHub := (p.matchFresh || p.lookedUp) && len(p.oneHubIDs) > 0
	if oneHub || p.mailboxesLooked {
		// What was looked up this pass is kept with the user match, to be looked up again only
		// when the match is refreshed.
		updateMatch(st, func(c *state.MatchCache) {
			if oneHub {
				cacheOneHubIDs(c, p.oneHubIDs)
			}
			if p.mailboxesLooked {
				cacheMailboxes(c, p.mailboxes)
			}
		})
	}
	x.observe()
	if err := x.recordIntents(); err != nil {
		return nil, err
	}
	x.clearOldSessions(ctx, rep)
	x.writePhones(ctx, rep)
	x.writeRedirects(ctx, rep)
	x.applyHeld()
	x.syncSessions(ctx, rep)
	x.finish(rep)
	return rep, nil
}

type executor struct {
	env  Env
	st   *state.State
	p    *Plan
	now  time.Time
	outs []outcome
}

// each runs fn for the users pick selects (and that have not failed), limit at a time, and
// reports which it ran. fn makes the service call and notes its change in o; the state is not
// touched from these goroutines: the caller applies the transitions after each returns. A user
// whose turn comes after the pass's context ended fails with the context's error instead of
// starting a request.
func (x *executor) each(ctx context.Context, limit int, pick func(*UserPlan, *outcome) bool, fn func(*UserPlan, *outcome) error) (ran []bool) {
	return x.eachInto(ctx, limit, func(o *outcome) *error { return &o.err }, pick, fn)
}

// eachInto is each with the failure kept where slot says: o.err for the DND and session
// steps, o.redirectErr for the redirect writes. A user who failed there is skipped.
func (x *executor) eachInto(ctx context.Context, limit int, slot func(*outcome) *error, pick func(*UserPlan, *outcome) bool,
	fn func(*UserPlan, *outcome) error) (ran []bool) {
	ran = make([]bool, len(x.p.Users))
	var g errgroup.Group
	g.SetLimit(concurrencyOf(limit))
	for i, up := range x.p.Users {
		o := &x.outs[i]
		failed := slot(o)
		if *failed != nil || !pick(up, o) {
			continue
		}
		ran[i] = true
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				*failed = err
			} else if err := fn(up, o); err != nil {
				*failed = err
			}
			if *failed != nil {
				o.changes = append(o.changes, x.failedChange(up, *failed))
			}
			return nil
		})
	}
	_ = g.Wait()
	return ran
}

// observe binds each user to this pass's match and records the DND read, which drops the
// ownership of a DND someone switched off by hand (rule 4). Users whose reads failed fail here.
func (x *executor) observe() {
	for i, up := range x.p.Users {
		u := x.st.Take(up.Login)
		if !up.Leaving {
			u.Identify(up.Match.StarfaceID)
		}
		if up.Phone != nil {
			// Only a phone config read here decides ownership: OneHub's view may lag behind
			// teamsface's own write (markEarlyReads reads those users over REST).
			u.PhoneRead(up.Phone.DoNotDisturb)
		}
		if up.Err != nil {
			x.outs[i].err = up.Err
			x.outs[i].changes = append(x.outs[i].changes, x.failedChange(up, up.Err))
		}
		if up.RedirectErr != nil {
			x.outs[i].redirectErr = up.RedirectErr
			x.outs[i].changes = append(x.outs[i].changes, x.failedChange(up, up.RedirectErr))
		}
	}
}

// clearOldSessions clears sessions left on an Entra user a login no longer matches. One that
// fails stays recorded with its Entra user, so the next pass tries again.
func (x *executor) clearOldSessions(ctx context.Context, rep *Report) {
	sessionID := x.env.Config.Microsoft.ClientID
	ran := x.each(ctx, sessionConcurrency, func(up *UserPlan, _ *outcome) bool { return up.OldSession != nil && up.OldSession.Live() },
		func(up *UserPlan, o *outcome) error {
			if err := x.env.Graph.ClearPresence(ctx, up.OldSession.EntraID, sessionID); err != nil {
				return userError("clear the Teams presence session of", up.Login, err)
			}
			o.changes = append(o.changes, x.change(up, ActionClearPresence, "the login now matches another Entra user"))
			return nil
		})
	for i, up := range x.p.Users {
		if up.OldSession == nil || x.outs[i].failed() {
			continue
		}
		// Cleared, or no longer live: on an Entra user this login no longer matches, nothing
		// is left to guard.
		x.st.User(up.Login).ForgetSession()
		if ran[i] {
			rep.Summary.SessionsCleared++
		}
	}
}

// recordIntents makes every planned write durable in one step before any is sent: each DND
// write with the DND just read, and each Teams session to be set or cleared, so that a run
// killed mid-write is settled by the next (DESIGN.md).
func (x *executor) recordIntents() error {
	var intents []state.Intent
	s2t := x.env.Config.StarfaceToTeams
	for i, up := range x.p.Users {
		for _, rp := range up.RedirectPlans {
			if rp.Step.Writes() && x.outs[i].redirectErr == nil {
				in, err := redirectIntent(up, rp, x.now)
				if err != nil {
					return err
				}
				x.outs[i].redirects = append(x.outs[i].redirects, in)
				intents = append(intents, in)
			}
		}
		if x.outs[i].failed() {
			continue
		}
		if up.Writes() {
			in := state.Intent{Login: up.Login, StarfaceID: up.Match.StarfaceID, Want: up.Want, Before: up.Before, At: x.now}
			x.outs[i].intent = &in
			intents = append(intents, in)
		}
		if up.OldSession != nil && up.OldSession.Live() {
			intents = append(intents, state.Intent{Kind: state.KindSessionClear, Login: up.Login, EntraID: up.OldSession.EntraID, At: x.now})
		}
		switch up.Session {
		case mapping.SessionSet, mapping.SessionRefresh:
			intents = append(intents, state.Intent{Kind: state.KindSessionSet, Login: up.Login, EntraID: up.Match.EntraID,
				Availability: up.SessionPair.Availability, Activity: up.SessionPair.Activity, Expires: x.now.Add(s2t.Expiration), At: x.now})
		case mapping.SessionClear:
			intents = append(intents, state.Intent{Kind: state.KindSessionClear, Login: up.Login, EntraID: up.LiveSession.EntraID, At: x.now})
		}
	}
	if len(intents) == 0 || x.env.Journal == nil {
		return nil
	}
	if err := x.env.Journal.RecordIntents(intents); err != nil {
		return fmt.Errorf("record intended STARFACE writes: %w", err)
	}
	return nil
}

// writePhones sends the planned writes, read-modify-write of the whole phone config.
func (x *executor) writePhones(ctx context.Context, rep *Report) {
	x.each(ctx, x.env.Config.Starface.Concurrency, func(_ *UserPlan, o *outcome) bool { return o.intent != nil }, func(up *UserPlan, o *outcome) error {
		pc := *up.Phone
		pc.DoNotDisturb = up.Want
		if err := x.env.Starface.PutPhoneConfig(ctx, up.Match.StarfaceID, pc); err != nil {
			return userError("set DND for", up.Login, err)
		}
		action := ActionSwitchOn
		if up.DND == mapping.DNDRelease {
			action = ActionRelease
		}
		x.env.Log.Info("switched DND", "login", up.Login, "upn", up.Match.UPN, "action", action, "reason", up.Decision.Reason)
		o.changes = append(o.changes, x.change(up, action, up.Decision.Reason))
		return nil
	})
	for i, up := range x.p.Users {
		o := &x.outs[i]
		if o.intent == nil {
			continue
		}
		if o.failed() {
			// The write may have landed all the same: the intent outlives the state save.
			rep.Leftover = append(rep.Leftover, *o.intent)
			continue
		}
		u := x.st.User(up.Login)
		if up.DND == mapping.DNDSwitchOn {
			u.SwitchedOn(up.Before)
			rep.Summary.SwitchedOn++
		} else {
			u.Released(up.Want)
			rep.Summary.Released++
		}
	}
}

// applyHeld records the decisions that hold without a write.
func (x *executor) applyHeld() {
	for i, up := range x.p.Users {
		if x.outs[i].failed() {
			continue
		}
		u := x.st.User(up.Login)
		switch up.DND {
		case mapping.DNDHolds:
			u.DecisionApplied(up.Decision.DND == mapping.DNDOn)
		case mapping.DNDAlreadyOn:
			u.DecisionApplied(true)
			if !up.Owned {
				x.outs[i].changes = append(x.outs[i].changes, x.change(up, ActionAlreadyOn, "DND already on at the phone; not taking ownership"))
			}
		case mapping.DNDAlreadyOff:
			u.DecisionApplied(false)
			x.outs[i].changes = append(x.outs[i].changes, x.change(up, ActionAlreadyOff, "DND was switched off at the phone; nothing to release"))
		}
	}
}

// syncSessions sets, refreshes and clears Teams presence sessions (STARFACE → Teams).
func (x *executor) syncSessions(ctx context.Context, rep *Report) {
	s2t := x.env.Config.StarfaceToTeams
	sessionID := x.env.Config.Microsoft.ClientID
	ran := x.each(ctx, sessionConcurrency, func(up *UserPlan, _ *outcome) bool { return up.Session != mapping.SessionNothing },
		func(up *UserPlan, o *outcome) error {
			if up.Session == mapping.SessionClear {
				if err := x.env.Graph.ClearPresence(ctx, up.LiveSession.EntraID, sessionID); err != nil {
					return userError("clear the Teams presence session of", up.Login, err)
				}
				o.changes = append(o.changes, x.change(up, ActionClearPresence, up.SessionReason))
				return nil
			}
			err := x.env.Graph.SetPresence(ctx, up.Match.EntraID, graph.SessionPresence{SessionID: sessionID,
				Availability: up.SessionPair.Availability, Activity: up.SessionPair.Activity, Expiration: s2t.Expiration})
			if err != nil {
				return userError("set the Teams presence session of", up.Login, err)
			}
			o.changes = append(o.changes, x.change(up, ActionSetPresence, up.SessionReason))
			return nil
		})
	for i, up := range x.p.Users {
		if !ran[i] {
			continue
		}
		u, failed := x.st.User(up.Login), x.outs[i].failed()
		pair, expires := up.SessionPair, x.now.Add(s2t.Expiration)
		switch {
		case up.Session == mapping.SessionClear && failed:
			// Still live as far as anyone knows: cleared again next pass.
		case up.Session == mapping.SessionClear && up.Leaving:
			u.ForgetSession()
			rep.Summary.SessionsCleared++
		case up.Session == mapping.SessionClear:
			u.SessionCleared(x.now)
			rep.Summary.SessionsCleared++
		case failed:
			// The call may have landed all the same (no answer is not "no"): it is kept as a
			// live session due now, so that the next pass refreshes it while the DND is on and
			// clears it once it is off, and its pair is guarded meanwhile (rule 6).
			u.SessionMayHaveLanded(up.Match.EntraID, pair.Availability, pair.Activity, x.now)
		default:
			u.SessionSet(up.Match.EntraID, pair.Availability, pair.Activity, expires)
			rep.Summary.SessionsSet++
		}
	}
}

// finish forgets users who left the match once nothing of theirs is left, forgets sessions
// whose echo can no longer be seen, counts each user's pass as failed or not, and lists the
// changes user by user.
func (x *executor) finish(rep *Report) {
	guard := x.env.Config.StarfaceToTeams.EchoGuard
	for i, up := range x.p.Users {
		o := &x.outs[i]
		u := x.st.User(up.Login)
		if up.Leaving && !o.failed() {
			if _, ok := u.LiveSession(); !ok {
				u.ForgetSession() // a cleared session of a user no longer matched guards nothing
			}
			if u.Forgettable() {
				x.st.Forget(up.Login)
			}
		}
		if err := o.passErr(); err != nil {
			u.PassFailed(err, x.now)
			rep.Summary.Failed++
			x.env.Log.Error("user failed", "login", up.Login, "upn", up.Match.UPN, "error", err)
		} else {
			u.PassSucceeded()
		}
		rep.Changes = append(rep.Changes, o.changes...)
	}
	for _, login := range x.st.Logins() {
		x.st.User(login).PruneSession(x.now, guard)
	}
	sortChanges(rep.Changes)
}

// updateMatch changes a copy of the cached user match (whose entries the run may still hold)
// with f, and caches the copy.
func updateMatch(st *state.State, f func(*state.MatchCache)) {
	c := st.Match()
	if c == nil {
		return
	}
	n := *c
	n.Entries = slices.Clone(c.Entries)
	f(&n)
	st.SetMatch(&n)
}

// cacheOneHubIDs keeps the OneHub ids looked up with the user match.
func cacheOneHubIDs(c *state.MatchCache, ids map[int]string) {
	for i, e := range c.Entries {
		if id, ok := ids[e.StarfaceID]; ok {
			c.Entries[i].OneHubID = id
		}
	}
}

// sortChanges orders the report by login; a user's own changes stay in the order they were
// made, so two runs with the same outcome print the same report.
func sortChanges(cs []Change) {
	slices.SortStableFunc(cs, func(a, b Change) int { return strings.Compare(a.Login, b.Login) })
}

func (x *executor) change(up *UserPlan, action, reason string) Change {
	return Change{Login: up.Login, UPN: up.Match.UPN, Availability: up.Presence.Availability,
		Activity: up.Presence.Activity, DNDBefore: up.DNDBefore(), Action: action, Reason: reason}
}

func (x *executor) failedChange(up *UserPlan, err error) Change {
	c := x.change(up, ActionFailed, up.Decision.Reason)
	c.Error = err.Error()
	return c
}
