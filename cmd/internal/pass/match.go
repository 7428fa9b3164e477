package pass

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/teamsface/teamsface/cmd/internal/progress"
	"github.com/teamsface/teamsface/graph"
	"github.com/teamsface/teamsface/mapping"
	"github.com/teamsface/teamsface/state"
)

// MatchUsers reads both directories (concurrently) and matches them by DESIGN.md rule 1.
func MatchUsers(ctx context.Context, cfg *mapping.Config, g Directory, sf PBXDirectory, p *progress.Bar) ([]mapping.Match, error) {
	type entraResult struct {
		users []graph.User
		err   error
	}
	ch := make(chan entraResult, 1)
	task := p.Start("reading Entra users")
	go func() {
		defer task.Done()
		ctx := graph.WithProgress(ctx, task.Update)
		var r entraResult
		if cfg.Microsoft.Group != "" {
			r.users, r.err = g.ListGroupUsers(ctx, cfg.Microsoft.Group)
			if r.err != nil {
				r.err = fmt.Errorf("list members of Entra group %s: %w", cfg.Microsoft.Group, r.err)
			}
		} else {
			r.users, r.err = g.ListUsers(ctx)
			if r.err != nil {
				r.err = fmt.Errorf("list Entra users: %w", r.err)
			}
		}
		ch <- r
	}()
	sfUsers, sfErr := starfaceUsersInScope(ctx, cfg, sf)
	er := <-ch
	if sfErr != nil {
		return nil, sfErr
	}
	if er.err != nil {
		return nil, er.err
	}
	entra := make([]mapping.EntraUser, len(er.users))
	for i, u := range er.users {
		entra[i] = mapping.EntraUser{ID: u.ID, DisplayName: u.DisplayName, UPN: u.UserPrincipalName,
			Mail: u.Mail, ProxyAddresses: u.ProxyAddresses, Enabled: u.AccountEnabled}
	}
	return mapping.MatchUsers(sfUsers, entra, cfg.Users), nil
}

// starfaceUsersInScope lists STARFACE users, restricted to starface.group when set.
func starfaceUsersInScope(ctx context.Context, cfg *mapping.Config, sf PBXDirectory) ([]mapping.StarfaceUser, error) {
	users, err := sf.Users(ctx)
	if err != nil {
		return nil, fmt.Errorf("list STARFACE users: %w", err)
	}
	var inGroup map[int]bool
	if cfg.Starface.Group != "" {
		ids, err := sf.GroupMembers(ctx, cfg.Starface.Group)
		if err != nil {
			return nil, fmt.Errorf("list members of STARFACE group %q: %w", cfg.Starface.Group, err)
		}
		inGroup = make(map[int]bool, len(ids))
		for _, id := range ids {
			inGroup[id] = true
		}
	}
	out := make([]mapping.StarfaceUser, 0, len(users))
	for _, u := range users {
		if inGroup != nil && !inGroup[u.ID] {
			continue
		}
		out = append(out, mapping.StarfaceUser{ID: u.ID, Login: u.Login, Name: u.Name(), Email: u.Email})
	}
	return out, nil
}

// matchChoice is the user match a pass works with, and how it came about.
type matchChoice struct {
	matches []mapping.Match
	fresh   bool               // made now, to be cached
	held    *mapping.DropError // a fresh match held back by the drop guard; matches are the old ones
}

// currentMatch returns the cached user match while it is fresh, else matches anew. A new
// match that would drop more of the matched users than users.max_drop allows is held: the old
// one stays (DESIGN.md rule 8), unless acceptDrop.
func currentMatch(ctx context.Context, env Env, st *state.State, o PlanOptions, now time.Time) (matchChoice, error) {
	key := matchKey(env.Config)
	c := st.Match()
	// --accept-drop refreshes too: it is the answer to a held refresh, and means "now".
	if c != nil && !o.RefreshUsers && !o.AcceptDrop && c.Key == key && now.Sub(c.Time) < env.Config.Users.Refresh {
		return matchChoice{matches: matchesFromCache(c)}, nil
	}
	ms, err := MatchUsers(ctx, env.Config, env.Graph, env.Starface, env.Progress)
	if err != nil {
		return matchChoice{}, err
	}
	if o.AcceptDrop {
		return matchChoice{matches: ms, fresh: true}, nil
	}
	if c == nil && st.Len() > 0 {
		// No cached match (lost, or unreadable): the users remembered stand for it, so that a
		// bad directory answer cannot release them all either. Held, there is no old match to
		// work with: the pass does nothing until the match is accepted.
		old := make([]mapping.Match, 0, st.Len())
		for _, login := range st.Logins() {
			old = append(old, mapping.Match{Login: login, Status: mapping.StatusMatched})
		}
		if held := env.Config.Users.DropGuard(old, ms); held != nil {
			return matchChoice{held: held}, nil
		}
	}
	if c != nil {
		if held := env.Config.Users.DropGuard(matchesFromCache(c), ms); held != nil {
			return matchChoice{matches: matchesFromCache(c), held: held}, nil
		}
	}
	return matchChoice{matches: ms, fresh: true}, nil
}

// matchKey identifies the configuration a cached match was made with; a change invalidates it.
func matchKey(cfg *mapping.Config) string {
	b, _ := json.Marshal([]any{cfg.Users.Match, cfg.Users.Overrides, cfg.Users.Exclude,
		cfg.Microsoft.Group, cfg.Microsoft.Tenant, cfg.Starface.Group, cfg.Starface.URL})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// matchesToCache keeps what a pass needs of a match; names, addresses and reasons are for
// `users match`, which always matches anew, and would double the file.
func matchesToCache(ms []mapping.Match, now time.Time, key string) *state.MatchCache {
	c := &state.MatchCache{Time: now, Key: key, Entries: make([]state.MatchEntry, len(ms))}
	for i, m := range ms {
		c.Entries[i] = state.MatchEntry{Login: m.Login, StarfaceID: m.StarfaceID, Status: string(m.Status),
			EntraID: m.EntraID, UPN: m.UPN}
	}
	return c
}

func matchesFromCache(c *state.MatchCache) []mapping.Match {
	out := make([]mapping.Match, len(c.Entries))
	for i, e := range c.Entries {
		out[i] = mapping.Match{Login: e.Login, StarfaceID: e.StarfaceID, Name: e.Name, Email: e.Email,
			Status: mapping.Status(e.Status), Basis: e.Basis, Reason: e.Reason, EntraID: e.EntraID, UPN: e.UPN}
	}
	return out
}
