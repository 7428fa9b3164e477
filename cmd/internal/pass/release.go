package pass

import (
	"context"

	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// PlanRelease plans `teamsface release`: for every user teamsface remembers, switch back a DND
// it owns (to the value it replaced, only if it is still on), clear a Teams session it holds,
// and then forget them — for moving teamsface to another state directory or host, uninstalling
// it or handing over to another presence sync. Nothing is read from Teams and no user is
// matched: what the state remembers is what gets released. Run it through Plan.Execute like a
// pass; users whose release fails stay remembered.
func PlanRelease(ctx context.Context, env Env, st *state.State) *Plan {
	now := env.Now()
	p := &Plan{Time: now}
	for _, login := range st.Logins() {
		u := st.User(login)
		m := &mapping.Match{Login: login, StarfaceID: u.StarfaceID()}
		if s, ok := u.Session(); ok {
			m.EntraID = s.EntraID
		}
		m.UPN = upnOf(st, login)
		p.Users = append(p.Users, &UserPlan{Login: login, Leaving: true, Match: m, u: u,
			Decision: mapping.Decision{DND: mapping.DNDOff, Reason: "teamsface release"}})
	}
	rd := p.startReads(ctx, env)
	for _, up := range p.Users {
		if up.needsPhone() {
			rd.read(up)
		}
		up.decideRedirect(env.Config)
		if up.needsRedirects() {
			rd.readRedirects(up)
		}
	}
	rd.wait()
	for _, up := range p.Users {
		if up.Err == nil {
			p.planDND(up)
			planSession(env.Config, up, now)
			if up.Session == mapping.SessionClear {
				up.SessionReason = "teamsface release"
			}
		}
		p.planRedirects(env, up)
	}
	return p
}
