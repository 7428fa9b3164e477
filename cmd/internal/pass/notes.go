package pass

import (
	"fmt"
	"slices"
	"strings"

	"github.com/teamsface/teamsface/mapping"
)

// notes are what a runner says once rather than every pass: that poll outruns read_rate, that
// OneHub is down or back, and which DNDs the first pass of an empty state counts as set by hand.
type notes struct {
	readLoadFor *mapping.Config // the configuration the read-load warning was given for
	oneHub      OneHub          // the OneHub source oneHubDown is about
	oneHubDown  bool
}

func (n *notes) afterPass(rn *Runner, env Env, rep *Report) {
	n.readLoad(rn, env, rep)
	n.oneHubState(rn, env, rep)
	n.onAtStart(rn, rep)
}

// readLoad says once per configuration when reading every user's DND once per poll takes more
// phone-config reads than starface_to_teams.read_rate allows: poll wins.
func (n *notes) readLoad(rn *Runner, env Env, rep *Report) {
	l := rep.Reads
	if n.readLoadFor == env.Config || !l.PollWins() {
		return
	}
	n.readLoadFor = env.Config
	s2t := env.Config.StarfaceToTeams
	rate := float64(l.Users) / s2t.Poll.Seconds()
	rn.Log.Warn(fmt.Sprintf("starface_to_teams: reading each of %s once per poll (%s) takes %.0f phone-config reads/s, more than read_rate %d/s; "+
		"poll wins, so the PBX gets %.0f reads/s (raise poll to lower it)", Users(l.Users), s2t.Poll, rate, s2t.ReadRate, rate))
}

// oneHubState logs once when OneHub fails and the passes read over REST instead, and once when
// it is back. A new OneHub source (a reload) starts afresh.
func (n *notes) oneHubState(rn *Runner, env Env, rep *Report) {
	if env.OneHub != n.oneHub {
		n.oneHub, n.oneHubDown = env.OneHub, false
	}
	switch {
	case env.OneHub == nil || !env.Config.StarfaceToTeams.Enabled:
	case rep.OneHubFailed != nil && !n.oneHubDown:
		n.oneHubDown = true
		rn.Log.Warn("STARFACE OneHub unavailable; reading DND over REST until it is back", "error", rep.OneHubFailed)
	case rep.OneHubFailed == nil && n.oneHubDown:
		n.oneHubDown = false
		rn.Log.Info("STARFACE OneHub back; reading DND and calls from it again")
	}
}

// onAtStart says, on the first pass with an empty state directory, that the DNDs it finds on
// count as set by hand: a DND another teamsface (another state directory) switched on would
// otherwise stay on for ever without anyone noticing.
func (n *notes) onAtStart(rn *Runner, rep *Report) {
	if len(rep.OnAtStart) == 0 {
		return
	}
	shown := rep.OnAtStart
	if len(shown) > 10 {
		shown = append(slices.Clone(shown[:10]), "…")
	}
	users := "1 matched user"
	if len(rep.OnAtStart) != 1 {
		users = fmt.Sprintf("%d matched users", len(rep.OnAtStart))
	}
	rn.Log.Warn(fmt.Sprintf("the state directory %s held nothing yet, and %s already had DND on (%s): teamsface counts them as set "+
		"by hand and never switches them off. If an earlier teamsface switched them on with another state directory, "+
		"run `teamsface release` with that one, or switch them off at the phones", rn.Dir, users, strings.Join(shown, ", ")))
}
