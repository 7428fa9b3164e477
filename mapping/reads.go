package mapping

import (
	"math"
	"time"
)

// ReadLoad is the STARFACE → Teams direction's phone-config reads in one pass (DESIGN.md
// "STARFACE → Teams").
type ReadLoad struct {
	Users int // matched users
	// Least is how many a pass must read so that each user is read once per poll; Budget how
	// many read_rate allows. A pass reads the larger of the two (poll wins), at most Users.
	Least, Budget int
	// Planned is how many the pass read for this direction beyond those it read anyway.
	Planned int
}

// PollWins reports whether reading every user once per poll needs more than read_rate allows.
func (r ReadLoad) PollWins() bool { return r.Least > r.Budget }

// PerPass is how many users a pass reads when passes come every interval.
func (r ReadLoad) PerPass() int { return min(r.Users, max(r.Least, r.Budget)) }

// ReadTurn says which of n users, in a fixed order, a pass at now reads for the STARFACE →
// Teams direction when passes come every interval and this one came elapsed after the one
// before (0: interval): the users first, first+1, ... (modulo n), count of them.
//
// The users are read in turns that follow one another: a position moves through the list at
// PerPass users per interval, derived from the clock alone (nothing is stored), and each pass
// reads from where the position stood at the pass before to where it stands now. So every
// user is read within ceil(n / PerPass) passes, read_rate's budget is spent on users not read
// yet rather than on the previous pass's again, and a pass that comes late reads more.
func (s StarfaceToTeams) ReadTurn(n int, interval, elapsed time.Duration, now time.Time) (first, count int, load ReadLoad) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	if elapsed <= 0 {
		elapsed = interval
	}
	load = ReadLoad{Users: n, Least: readShare(n, interval, s.Poll), Budget: int(float64(s.ReadRate) * interval.Seconds())}
	k := int64(load.PerPass())
	if n == 0 || k == 0 {
		return 0, 0, load
	}
	from, to := readerAt(now.Add(-elapsed), interval, k), readerAt(now, interval, k)
	return int(mod(from, int64(n))), int(min(to-from, int64(n))), load
}

// readerAt is how many users a reader that reads k users every interval, since the Unix epoch,
// has read by t. It is computed in whole intervals and the part of one, so that it neither
// overflows nor rounds: passes exactly one interval apart read exactly k users.
func readerAt(t time.Time, interval time.Duration, k int64) int64 {
	ns, iv := t.UnixNano(), int64(interval)
	q, r := ns/iv, ns%iv
	if r < 0 {
		q, r = q-1, r+iv
	}
	return q*k + int64(math.Floor(float64(r)*float64(k)/float64(iv)))
}

func mod(a, n int64) int64 { return ((a % n) + n) % n }

// readShare is how many phone configs one pass reads so that each user is read at least once
// per poll when passes come every interval: N × interval / poll, rounded up.
func readShare(n int, interval, poll time.Duration) int {
	if poll <= 0 || interval >= poll {
		return n
	}
	return int(math.Ceil(float64(n) * float64(interval) / float64(poll)))
}
