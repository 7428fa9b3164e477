package pass

import (
	"context"
	"fmt"

	"github.com/teamsface/teamsface/state"
)

// PhoneUser names a user to PhoneStates: the REST id, and the OneHub id cached with the user
// match ("" when not known yet).
type PhoneUser struct {
	StarfaceID int
	OneHubID   string
}

// PhoneState is what STARFACE 10's OneHub says of a user: DND, and whether they are on a call.
type PhoneState struct {
	DND    bool
	OnCall bool
}

// PhoneStates reads the DND and call state of many users at once (STARFACE 10's OneHub). It
// returns the states by REST id, and the OneHub ids it had to look up (to be cached with the
// match). It replaces the STARFACE → Teams direction's per-user phone-config reads; writes stay
// REST read-modify-writes.
type PhoneStates interface {
	PhoneStates(ctx context.Context, users []PhoneUser) (states map[int]PhoneState, looked map[int]string, err error)
}

// readStates reads every matched user's state through env.Phones. When that fails the pass
// falls back to per-user REST reads, and the report says so.
func (p *Plan) readStates(ctx context.Context, env Env, st *state.State) bool {
	users := p.matched()
	ids := map[string]string{}
	if c := st.Match(); c != nil {
		for _, e := range c.Entries {
			if e.OneHubID != "" {
				ids[e.Login] = e.OneHubID
			}
		}
	}
	ask := make([]PhoneUser, 0, len(users))
	for _, up := range users {
		if up.Err == nil {
			ask = append(ask, PhoneUser{StarfaceID: up.Match.StarfaceID, OneHubID: ids[up.Login]})
		}
	}
	states, looked, err := env.Phones.PhoneStates(ctx, ask)
	if err != nil {
		p.PhonesFailed = fmt.Errorf("read DND and calls through OneHub: %w", err)
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
			s := s
			up.State = &s
			p.Summary.StatesRead++
		}
	}
	return true
}
