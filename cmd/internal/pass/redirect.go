package pass

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Out of office → STARFACE redirect (DESIGN.md): the same presence read tells whether a user is
// out of office; mapping decides what becomes of each redirect (PlanRedirect); the state
// remembers the redirects teamsface switched on with the object as it was. A user whose
// decision did not change costs no STARFACE request.

// RedirectPlan is what a pass does with one of a user's redirects.
type RedirectPlan struct {
	// Redirect is the redirect as read this pass; Write the object to PUT (SwitchOn, Restore).
	Redirect starface.Redirect
	Write    starface.Redirect
	Step     mapping.RedirectStep
	Reason   string
}

// OwnedRedirect reports whether teamsface owns the user's redirect with this id.
func (up *UserPlan) OwnedRedirect(id string) (state.OwnedRedirect, bool) {
	return up.u.OwnedRedirect(id)
}

// ref names the user to the redirect calls.
func (up *UserPlan) ref() starface.UserRef {
	return starface.UserRef{ID: up.Match.StarfaceID, Login: up.Login}
}

// redirectMemory is what the state remembers of the user's redirects, as the rules take it.
func (up *UserPlan) redirectMemory() mapping.RedirectMemory {
	return mapping.RedirectMemory{Applied: mapping.RedirectWant(up.u.RedirectApplied()), Owned: len(up.u.OwnedRedirects())}
}

// decideRedirect takes the out-of-office decision for a user whose presence is known (or not).
func (up *UserPlan) decideRedirect(cfg *mapping.Config) {
	switch {
	case up.Leaving:
		up.RedirectWant = mapping.RedirectBack
	case up.Err != nil:
		up.RedirectWant = mapping.RedirectKeep
	default:
		up.RedirectWant = cfg.OutOfOffice.DecideRedirect(up.MappedPresence(), up.PresenceKnown)
	}
}

// needsRedirects says whether the user's redirects must be read this pass.
func (up *UserPlan) needsRedirects() bool { return up.redirectMemory().NeedsRedirects(up.RedirectWant) }

// planRedirects decides each of the user's redirects read this pass (mapping.PlanRedirect): the
// object to write for those switched on or put back. An owned redirect the PBX no longer lists
// is disowned. A user who must be redirected to their voicemail box and has not exactly one
// fails with that reason; nobody is ever redirected to another user's box.
func (p *Plan) planRedirects(env Env, up *UserPlan) {
	if !up.redirectsRead {
		return
	}
	var target starface.Destination
	if up.RedirectWant == mapping.RedirectOn {
		var err error
		if target, err = p.redirectTarget(env.Config, up); err != nil {
			up.RedirectErr = userError("redirect the calls of", up.Login, err)
			return
		}
	}
	listed := map[string]bool{}
	for _, r := range up.Redirects {
		listed[r.ID()] = true
		facts := mapping.RedirectFacts{Always: r.Trigger() == starface.TriggerAlways, Group: r.GroupNumber(), Enabled: r.Enabled()}
		var before starface.Redirect
		if own, ok := up.u.OwnedRedirect(r.ID()); ok {
			facts.Owned = true
			var wrote starface.Destination
			if json.Unmarshal(own.Wrote, &wrote) == nil && json.Unmarshal(own.Before, &before) == nil {
				facts.ShowsOwn = r.Shows(true, wrote)
			}
		}
		step := mapping.PlanRedirect(up.RedirectWant, facts)
		rp := RedirectPlan{Redirect: r, Step: step}
		switch step {
		case mapping.RedirectSwitchOn:
			rp.Write = r.WithTarget(true, target)
		case mapping.RedirectRestore:
			rp.Write = r.WithTarget(before.Enabled(), before.Destination())
		}
		rp.Reason = redirectReason(rp)
		if step != mapping.RedirectNothing || facts.Always && !facts.Group {
			up.RedirectPlans = append(up.RedirectPlans, rp)
		}
	}
	for _, own := range up.u.OwnedRedirects() {
		if !listed[own.ID] {
			var gone starface.Redirect
			_ = json.Unmarshal(own.Before, &gone)
			up.RedirectPlans = append(up.RedirectPlans, RedirectPlan{Redirect: gone, Step: mapping.RedirectDisown,
				Reason: "no longer listed by the PBX: forgotten"})
		}
	}
}

// redirectTarget is where the user's calls go while they are out of office: the configured
// number, or the user's own voicemail box.
func (p *Plan) redirectTarget(cfg *mapping.Config, up *UserPlan) (starface.Destination, error) {
	if n := cfg.OutOfOffice.Number(); n != "" {
		return starface.PhoneNumberDestination(n), nil
	}
	boxes, ok := p.mailboxes[up.Match.StarfaceID]
	switch {
	case !ok:
		return starface.Destination{}, fmt.Errorf("the voicemail boxes could not be read: %w", p.mailboxErr)
	case len(boxes) == 0:
		return starface.Destination{}, fmt.Errorf("no voicemail box of %s's own (out_of_office.redirect voicemail needs exactly one; "+
			"one created now is found with the next user match, or at once with sync once --refresh-users)", up.Login)
	case len(boxes) > 1:
		ids := make([]string, len(boxes))
		for i, b := range boxes {
			ids[i] = strconv.Itoa(b)
		}
		return starface.Destination{}, fmt.Errorf("%d voicemail boxes belong to %s (%s); out_of_office.redirect voicemail needs exactly one",
			len(boxes), up.Login, strings.Join(ids, ", "))
	}
	return starface.MailboxDestination(boxes[0]), nil
}

// readMailboxes finds each matched user's voicemail boxes when a redirect needs them: from the
// cached match, or once (all boxes and their users) when the match has not read them yet, to
// be cached with it. Reading them costs a request per box, so a user who has none is not a
// reason to read them again each pass: a box created for them is found with the next match
// (users.refresh, or sync once --refresh-users), as the error says. A failure fails only the
// users whose calls were to go to voicemail.
func (p *Plan) readMailboxes(ctx context.Context, env Env, st *state.State) {
	need := slices.ContainsFunc(p.Users, func(up *UserPlan) bool {
		return up.redirectsRead && up.RedirectWant == mapping.RedirectOn
	})
	if !need || !env.Config.OutOfOffice.Voicemail() {
		return
	}
	p.mailboxes = map[int][]int{}
	if c := st.Match(); c != nil && c.MailboxesRead && !p.matchFresh {
		for _, e := range c.Entries {
			p.mailboxes[e.StarfaceID] = e.Mailboxes
		}
		return
	}
	boxes, err := env.Starface.VoicemailBoxes(ctx)
	if err != nil {
		p.mailboxes, p.mailboxErr = nil, err
		return
	}
	p.Summary.MailboxReads++
	own := starface.OwnBoxes(boxes)
	for _, up := range p.matched() {
		p.mailboxes[up.Match.StarfaceID] = own[up.Match.StarfaceID]
	}
	p.mailboxesLooked = true
}

// cacheMailboxes keeps the voicemail boxes read this pass with the user match.
func cacheMailboxes(c *state.MatchCache, boxes map[int][]int) {
	for i, e := range c.Entries {
		c.Entries[i].Mailboxes = boxes[e.StarfaceID]
	}
	c.MailboxesRead = true
}

// redirectIntent announces a redirect write: the object as read (what a switched-on redirect
// goes back to) and the object written.
func redirectIntent(up *UserPlan, rp RedirectPlan, now time.Time) (state.Intent, error) {
	read, err := json.Marshal(rp.Redirect)
	if err != nil {
		return state.Intent{}, fmt.Errorf("record the redirect write of %s: %w", up.Login, err)
	}
	write, err := json.Marshal(rp.Write)
	if err != nil {
		return state.Intent{}, fmt.Errorf("record the redirect write of %s: %w", up.Login, err)
	}
	return state.Intent{Kind: state.KindRedirect, Login: up.Login, StarfaceID: up.Match.StarfaceID, At: now,
		RedirectID: rp.Redirect.ID(), Redirect: read, Write: write, Restore: rp.Step == mapping.RedirectRestore}, nil
}

// writeRedirects sends the planned redirect writes, a user's one after the other, each a PUT of
// the whole object; then it records in the state what landed: a redirect switched on is owned
// with the object as read, one put back is no longer owned, one changed by hand is disowned. A
// user whose every redirect is as decided has the decision applied, so that the next pass reads
// nothing while it holds.
func (x *executor) writeRedirects(ctx context.Context, rep *Report) {
	x.eachInto(ctx, x.env.Config.Starface.Concurrency, func(o *outcome) *error { return &o.redirectErr },
		func(up *UserPlan, o *outcome) bool { return len(o.redirects) > 0 },
		func(up *UserPlan, o *outcome) error {
			for _, rp := range up.RedirectPlans {
				if !rp.Step.Writes() {
					continue
				}
				if err := x.env.Starface.PutRedirect(ctx, up.ref(), rp.Write); err != nil {
					return userError("write the redirect "+strconv.Quote(rp.Redirect.ID())+" of", up.Login, err)
				}
				o.redirectsDone++
			}
			return nil
		})
	for i, up := range x.p.Users {
		o := &x.outs[i]
		applied := up.u.RedirectApplied() == string(mapping.RedirectOn)
		if len(up.RedirectPlans) == 0 && (up.RedirectWant == mapping.RedirectKeep || (up.RedirectWant == mapping.RedirectOn) == applied) {
			continue // nothing read, written or changed: the most users by far
		}
		u := x.st.Take(up.Login)
		done := 0
		for _, rp := range up.RedirectPlans {
			id := rp.Redirect.ID()
			switch rp.Step {
			case mapping.RedirectSwitchOn, mapping.RedirectRestore:
				if done >= o.redirectsDone {
					continue // not written: its intent outlives the save
				}
				done++
				if rp.Step == mapping.RedirectRestore {
					u.RedirectRestored(id)
					rep.Summary.RedirectsRestored++
					o.changes = append(o.changes, x.change(up, ActionRedirectBack, rp.Reason))
					break
				}
				before, _ := json.Marshal(rp.Redirect)
				wrote, _ := json.Marshal(rp.Write.Destination())
				u.RedirectSwitchedOn(id, before, wrote)
				rep.Summary.RedirectsOn++
				o.changes = append(o.changes, x.change(up, ActionRedirectOn, rp.Reason))
			case mapping.RedirectDisown:
				u.RedirectDisowned(id)
				x.env.Log.Warn("a redirect teamsface switched on is no longer teamsface's", "login", up.Login, "reason", rp.Reason)
				o.changes = append(o.changes, x.change(up, ActionRedirectLeave, rp.Reason))
			case mapping.RedirectOnByHand:
				o.changes = append(o.changes, x.change(up, ActionRedirectHand, rp.Reason))
			}
		}
		rep.Leftover = append(rep.Leftover, o.redirects[o.redirectsDone:]...)
		rep.Summary.RedirectsFailed += len(o.redirects) - o.redirectsDone // not as decided: failed, or not sent after one that did
		if o.redirectErr == nil && up.RedirectWant != mapping.RedirectKeep && (up.redirectsRead || !up.needsRedirects()) {
			u.RedirectDecisionApplied(up.RedirectWant == mapping.RedirectOn)
		}
	}
}

// redirectReason says in a line what becomes of a redirect and why, e.g. "out of office: 2002
// ALWAYS → mailbox 500" or "back: 2002 ALWAYS off, as before".
func redirectReason(rp RedirectPlan) string {
	r := rp.Redirect
	name := r.PhoneNumber() + " " + string(r.Trigger())
	shows := func(r starface.Redirect) string {
		if !r.Enabled() {
			return "off"
		}
		return "→ " + r.Destination().String()
	}
	switch rp.Step {
	case mapping.RedirectSwitchOn:
		return "out of office: " + name + " " + shows(rp.Write)
	case mapping.RedirectRestore:
		return "back: " + name + " " + shows(rp.Write) + ", as before"
	case mapping.RedirectOnByHand:
		return name + " is on by hand (" + shows(r) + "): left alone"
	case mapping.RedirectDisown:
		return name + " was changed by hand since teamsface switched it on (" + shows(r) + "): left as it is"
	}
	return "" // nothing becomes of it
}

// settleRedirect resolves a redirect write an earlier run announced: the redirect read now tells
// whether it landed (it shows what was to be written, and did not before). A write that landed
// is recorded as it would have been: a redirect switched on is owned with the object as read
// then, one put back is no longer owned. ok is false when the user's redirects cannot be read
// now; the intent is then kept.
func settleRedirect(ctx context.Context, env Env, st *state.State, in state.Intent, read map[string][]starface.Redirect) (c *Change, ok bool) {
	rs, done := read[in.Login]
	if !done {
		var err error
		if rs, err = env.Starface.Redirects(ctx, starface.UserRef{ID: in.StarfaceID, Login: in.Login}); err != nil {
			env.Log.Warn("cannot settle an earlier run's redirect write yet", "login", in.Login, "error", err)
			return nil, false
		}
		read[in.Login] = rs
	}
	var before, write starface.Redirect
	if json.Unmarshal(in.Redirect, &before) != nil || json.Unmarshal(in.Write, &write) != nil {
		env.Log.Warn("an earlier run's redirect write cannot be read back; it is dropped", "login", in.Login, "redirect", in.RedirectID)
		return nil, true
	}
	i := slices.IndexFunc(rs, func(r starface.Redirect) bool { return r.ID() == in.RedirectID })
	if i < 0 || !rs[i].SameTarget(write) || before.SameTarget(write) {
		env.Log.Info("earlier run's redirect write did not land", "login", in.Login, "redirect", in.RedirectID)
		return nil, true
	}
	u := st.Take(in.Login)
	if u.StarfaceID() == 0 {
		u.Identify(in.StarfaceID)
	}
	what := "switched a redirect on"
	if in.Restore {
		u.RedirectRestored(in.RedirectID)
		what = "put a redirect back"
	} else {
		wrote, _ := json.Marshal(write.Destination())
		u.RedirectSwitchedOn(in.RedirectID, in.Redirect, wrote)
	}
	return &Change{Login: in.Login, UPN: upnOf(st, in.Login), Action: ActionSettled,
		Reason: "an earlier run " + what + " and stopped before recording it: " + rs[i].String()}, true
}
