package pass

import (
	"context"
	"fmt"

	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// OneHubUser names a user to OneHub: the REST id, and the OneHub id cached with the user match
// ("" when not known yet).
type OneHubUser struct {
	StarfaceID int
	OneHubID   string
}

// OneHubState is what STARFACE 10's OneHub says of a user: DND, and whether they are on a call.
type OneHubState struct {
	DND    bool
	OnCall bool
}

// OneHub reads the DND and call state of many users at once (STARFACE 10's OneHub, experimental).
// It returns the states by REST id, and the OneHub ids it had to look up (to be cached with the
// match). It replaces the STARFACE → Teams direction's per-user phone-config reads; writes stay
// REST read-modify-writes.
type OneHub interface {
	States(ctx context.Context, users []OneHubUser) (states map[int]OneHubState, looked map[int]string, err error)
}

// A Follower is a OneHub that can keep an event stream of the users' states open between passes
// (sync watch), so that a pass reads them from memory and starts as soon as one changes.
type Follower interface {
	Follow(ctx context.Context, users []OneHubUser)
}

// readOneHub reads every matched user's state through env.OneHub. When that fails the pass
// falls back to per-user REST reads, and the report says so.
func (p *Plan) readOneHub(ctx context.Context, env Env, st *state.State) bool {
	users := p.matched()
	ids := map[string]string{}
	if c := st.Match(); c != nil {
		for _, e := range c.Entries {
			if e.OneHubID != "" {
				ids[e.Login] = e.OneHubID
			}
		}
	}
	ask := make([]OneHubUser, 0, len(users))
	for _, up := range users {
		if up.Err == nil {
			ask = append(ask, OneHubUser{StarfaceID: up.Match.StarfaceID, OneHubID: ids[up.Login]})
		}
	}
	states, looked, err := env.OneHub.States(ctx, ask)
	if err != nil {
		p.OneHubFailed = fmt.Errorf("read DND and calls through OneHub: %w", err)
		return false
	}
	p.oneHubIDs = make(map[int]string, len(ask))
	for _, u := range ask {
		if u.OneHubID != "" {
			p.oneHubIDs[u.StarfaceID] = u.OneHubID
		}
	}
	for id, oh := range looked {
		p.oneHubIDs[id] = oh
	}
	p.lookedUp = len(looked) > 0
	for _, up := range users {
		if s, ok := states[up.Match.StarfaceID]; ok && up.Err == nil {
			up.OneHub = &s
			p.Summary.OneHubStates++
		}
	}
	return true
}

// oneHubUsers are the matched users whose OneHub id the cached match knows: a Follower follows
// their event stream.
func oneHubUsers(st *state.State) []OneHubUser {
	c := st.Match()
	if c == nil {
		return nil
	}
	var out []OneHubUser
	for _, e := range c.Entries {
		if e.Status == string(mapping.StatusMatched) && e.OneHubID != "" {
			out = append(out, OneHubUser{StarfaceID: e.StarfaceID, OneHubID: e.OneHubID})
		}
	}
	return out
}
