package pass

import (
	"context"
	"fmt"

	"github.com/teamsface/teamsface/state"
)

// Settle resolves writes an earlier run announced but did not live to record: the DND read now
// tells whether the write landed. Each landed write is recorded in st and reported; intents
// that cannot be settled now (the read failed) are returned, to be recorded again so that a
// later run still knows about them.
func Settle(ctx context.Context, env Env, st *state.State, pending []state.Intent) (settled []Change, leftover []state.Intent) {
	for _, in := range pending {
		pc, err := readPhone(ctx, env.Starface, in.StarfaceID)
		if err != nil {
			env.Log.Warn("cannot settle an earlier run's write yet", "login", in.Login, "error", err)
			leftover = append(leftover, in)
			continue
		}
		u := st.Take(in.Login)
		if u.StarfaceID() == 0 {
			u.Identify(in.StarfaceID, "", "")
		}
		dnd := pc.DoNotDisturb
		u.PhoneRead(dnd, env.Now())
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
		settled = append(settled, Change{Login: in.Login, UPN: u.UPN(), DNDBefore: boolPtr(in.Before), Action: ActionSettled,
			Reason: fmt.Sprintf("an earlier run switched DND %s and stopped before recording it", onOffWord(in.Want))})
	}
	return settled, leftover
}
