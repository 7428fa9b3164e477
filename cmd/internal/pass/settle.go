package pass

import (
	"context"
	"fmt"

	"github.com/teamsface/teamsface/state"
)

// Settle resolves writes an earlier run announced but did not live to record. For a DND write
// the DND read now tells whether it landed; each landed write is recorded in st and reported.
// A Teams session the run was setting may be live: it is recorded as live, so that this pass
// clears it when the DND is off and refreshes it otherwise. Intents that cannot be settled now
// (the read failed) are returned, to be recorded again so that a later run still knows them.
func Settle(ctx context.Context, env Env, st *state.State, pending []state.Intent) (settled []Change, leftover []state.Intent) {
	for _, in := range pending {
		switch in.Kind {
		case state.KindSessionSet:
			env.Log.Info("an earlier run may have set a Teams presence session; taking it as live", "login", in.Login)
			st.Take(in.Login).SessionSet(in.EntraID, in.Availability, in.Activity, in.Expires)
			continue
		case state.KindSessionClear:
			// The session is still live in the state: this pass clears it again if it must.
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
