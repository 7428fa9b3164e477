package cmd

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/state"
)

// scheduleReads picks this pass's share of phone-config reads for the STARFACE → Teams direction:
// the users read longest ago first, so each is read about once per poll and no pass reads more
// than N × interval / poll (users whose write path reads them anyway are not counted).
func scheduleReads(env passEnv, st *state.State, works []*userWork, now time.Time) {
	poll := env.cfg.StarfaceToTeams.Poll
	interval := env.interval
	if interval <= 0 {
		interval = 10 * time.Second
		if !st.LastPass.IsZero() {
			interval = now.Sub(st.LastPass)
		}
	}
	interval = min(max(interval, time.Second), poll)
	var candidates []*userWork
	for _, w := range works {
		if w.needWrite {
			continue
		}
		// Users read within the last interval need no second look this pass.
		if !w.u.DNDReadAt.IsZero() && now.Sub(w.u.DNDReadAt) < interval {
			continue
		}
		candidates = append(candidates, w)
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		return candidates[i].u.DNDReadAt.Before(candidates[j].u.DNDReadAt)
	})
	share := readShare(len(works), interval, poll)
	for i := 0; i < len(candidates) && i < share; i++ {
		candidates[i].needRead = true
	}
}

// mirrorToTeams keeps one Teams presence session per user whose DND was switched on at STARFACE
// by hand (not by teamsface): set it, refresh it when less than half its time is left, and clear
// it as soon as the DND goes off. With the direction disabled it only clears sessions left over.
func mirrorToTeams(ctx context.Context, env passEnv, works []*userWork, rep *PassReport, now time.Time) {
	s2t := env.cfg.StarfaceToTeams
	sessionID := env.cfg.Microsoft.ClientID
	type call struct {
		w     *userWork
		clear bool
	}
	var calls []call
	for _, w := range works {
		if w.err != nil {
			continue
		}
		u := w.u
		want := s2t.Enabled && u.DND != nil && *u.DND && !u.Owned
		live := u.Session != nil && u.Session.ClearedAt.IsZero()
		switch {
		case want && (!live || u.Session.Expires.Sub(now) < s2t.Expiration/2 ||
			u.Session.Availability != s2t.OnDND.Availability || u.Session.Activity != s2t.OnDND.Activity):
			calls = append(calls, call{w: w})
		case !want && live:
			calls = append(calls, call{w: w, clear: true})
		}
	}
	var mu sync.Mutex
	forEach(ctx, len(calls), 4, func(i int) {
		c := calls[i]
		w, u := c.w, c.w.u
		var err error
		if !env.dryRun {
			if c.clear {
				err = env.graph.ClearPresence(ctx, u.EntraID, sessionID)
			} else {
				err = env.graph.SetPresence(ctx, u.EntraID, graph.SessionPresence{SessionID: sessionID,
					Availability: s2t.OnDND.Availability, Activity: s2t.OnDND.Activity, Expiration: s2t.Expiration})
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			verb := "set"
			if c.clear {
				verb = "clear"
			} else if u.Session == nil || !u.Session.ClearedAt.IsZero() {
				// The call may have landed all the same: guard its pair as if just cleared, so
				// that it is not taken for the user's own presence (rule 6).
				u.Session = &state.Session{Availability: s2t.OnDND.Availability, Activity: s2t.OnDND.Activity,
					SetAt: now, Expires: now.Add(s2t.Expiration), ClearedAt: now}
			}
			failUser(env, w, fmt.Errorf("graph: %s Teams presence session for %s: %w", verb, w.login, err), rep)
			return
		}
		if c.clear {
			if !env.dryRun {
				u.Session.ClearedAt = now
			}
			rep.Summary.SessionsCleared++
			rep.Changes = append(rep.Changes, w.change(actionClearPresence, "DND is off at STARFACE (or teamsface owns it): clear the Teams session"))
			return
		}
		reason := "DND switched on at STARFACE by hand: show " + s2t.OnDND.Availability + "/" + s2t.OnDND.Activity + " in Teams"
		if u.Session != nil && u.Session.ClearedAt.IsZero() {
			reason = "refresh the Teams session before it expires"
		}
		if !env.dryRun {
			u.Session = &state.Session{Availability: s2t.OnDND.Availability, Activity: s2t.OnDND.Activity,
				SetAt: now, Expires: now.Add(s2t.Expiration)}
		}
		rep.Summary.SessionsSet++
		rep.Changes = append(rep.Changes, w.change(actionSetPresence, reason))
	})
}

// clearLeftSession clears the Teams session of a user who left the match.
func clearLeftSession(ctx context.Context, env passEnv, w *userWork, rep *PassReport, now time.Time) {
	u := w.u
	if u.Session == nil || !u.Session.ClearedAt.IsZero() || u.EntraID == "" {
		u.Session = nil
		return
	}
	if env.dryRun {
		rep.Summary.SessionsCleared++
		rep.Changes = append(rep.Changes, w.change(actionClearPresence, "no longer matched"))
		return
	}
	if err := env.graph.ClearPresence(ctx, u.EntraID, env.cfg.Microsoft.ClientID); err != nil {
		failUser(env, w, fmt.Errorf("graph: clear Teams presence session for %s: %w", w.login, err), rep)
		return
	}
	rep.Summary.SessionsCleared++
	rep.Changes = append(rep.Changes, w.change(actionClearPresence, "no longer matched"))
	u.Session = nil
}

// pruneSessions forgets cleared sessions once their echo guard has run out.
func pruneSessions(env passEnv, st *state.State, now time.Time) {
	if env.dryRun {
		return
	}
	for _, u := range st.Users {
		if s := u.Session; s != nil && now.Sub(sessionEnd(s)) >= env.cfg.StarfaceToTeams.EchoGuard {
			u.Session = nil
		}
	}
}
