package pass

import (
	"context"
	"fmt"

	"github.com/teamsface/teamsface/starface"
	"github.com/teamsface/teamsface/state"
)

// Settle resolves writes an earlier run announced but did not live to record. For a DND write
// the DND read now tells whether it landed; each landed write is recorded in st and reported.
// A Teams presence call has no such read: a setPresence may have landed or not, so the session
// is taken as live and due now (the next step refreshes it while it is wanted, clears it once it
// is not, and guards its pair meanwhile); a clearPresence may have landed too, so a session it
// was clearing is due now as well (set again at once if it is wanted after all). Intents that
// cannot be settled now (the read failed) are returned, to be recorded again so that a later
// run still knows them.
func Settle(ctx context.Context, env Env, st *state.State, pending []state.Intent) (settled []Change, leftover []state.Intent) {
	now := env.Now()
	redirects := map[string][]starface.Redirect{} // by login, read once per user
	for _, in := range pending {
		switch in.Kind {
		case state.KindRedirect:
			c, ok := settleRedirect(ctx, env, st, in, redirects)
			if !ok {
				leftover = append(leftover, in)
			} else if c != nil {
				settled = append(settled, *c)
			}
			continue
		case state.KindSessionSet:
			env.Log.Info("an earlier run may have set a Teams presence session; taking it as live and due now", "login", in.Login)
			st.Take(in.Login).SessionMayHaveLanded(in.EntraID, in.Availability, in.Activity, now)
			continue
		case state.KindSessionClear:
			if u := st.User(in.Login); u != nil {
				u.SessionMayHaveCleared(in.EntraID, now)
			}
			continue
		}
		pc, err := readPhone(ctx, env.Starface, in.StarfaceID)
		if err != nil {
			env.Log.Warn("cannot settle an earlier run's write yet", "login", in.Login, "error", err)
			leftover = append(leftover, in)
			continue
		}
		u := st.Take(in.Login)
		if u.StarfaceID() == 0 {
			u.Identify(in.StarfaceID)
		}
		dnd := pc.DoNotDisturb
		u.PhoneRead(dnd)
		if dnd != in.Want || in.Want == in.Before {
			// The write did not land: the state from before it is still right.
			env.Log.Info("earlier run's write did not land", "login", in.Login)
			continue
		}
		if in.Want {
			u.SwitchedOn(in.Before)
		} else {
			u.Released(in.Want)
		}
		settled = append(settled, Change{Login: in.Login, UPN: upnOf(st, in.Login), DNDBefore: boolPtr(in.Before), Action: ActionSettled,
			Reason: fmt.Sprintf("an earlier run switched DND %s and stopped before recording it", onOffWord(in.Want))})
	}
	return settled, leftover
}

// upnOf names a user by the cached match, for reports.
func upnOf(st *state.State, login string) string {
	if c := st.Match(); c != nil {
		for _, e := range c.Entries {
			if e.Login == login {
				return e.UPN
			}
		}
	}
	return ""
}
