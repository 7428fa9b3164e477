package state

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// OwnerError is a run by a user who does not own the state directory: usually root by habit
// (sudo teamsface sync once) in the service user's directory. Such a run would leave files the
// service can no longer open, so Open, ReadOnly and CheckOwner refuse it before anything in the
// directory is read, created, locked or changed. Error names the directory, its owner, the user
// running now and the command that runs teamsface as the owner instead.
type OwnerError struct {
	Dir string // the state directory

	// The directory's owner. Owner is the user name, "" when the uid has none (a systemd
	// DynamicUser= that is not running, a uid from another system); GID is the directory's
	// group, which the fix then runs with.
	UID, GID int
	Owner    string

	// Who runs teamsface now: the effective uid and its user name ("" when it has none).
	EUID int
	User string

	// Args are the command's arguments after the program name (os.Args[1:]). The caller
	// fills them in, so that the fix shows the exact command, quoted for a shell; none shows
	// "...". teamsface takes no secret on its command line, so they may be shown.
	Args []string
}

func (e *OwnerError) Error() string { return e.message(runtime.GOOS) }

// message is the error as shown on goos: runuser and setpriv are util-linux's, and elsewhere
// (macOS, the BSDs) the fix is sudo's.
func (e *OwnerError) message(goos string) string {
	owner, user := displayUser(e.Owner, e.UID), displayUser(e.User, e.EUID)
	msg := fmt.Sprintf("state directory %s belongs to %s, not to %s who runs teamsface now: ", e.Dir, owner, user)
	args := "..."
	if len(e.Args) > 0 {
		args = shellJoin(e.Args)
	}
	switch {
	case e.UID == 0 && e.EUID != 0:
		// A run as root made the directory (or this is root's own): running as root would
		// work but is rarely what a service wants, so giving it back comes first.
		chownTo := e.User
		if chownTo == "" {
			chownTo = strconv.Itoa(e.EUID)
		}
		return msg + fmt.Sprintf("if it is %s's, give it back as root with chown -R %s %s, or run teamsface as root",
			user, shellQuote(chownTo), shellQuote(e.Dir))
	case e.Owner == "" && goos == "linux":
		// runuser and sudo want a user name (sudo refuses a uid without one by default);
		// setpriv, from util-linux like runuser, takes the bare ids.
		return msg + fmt.Sprintf("run it as %s, e.g. setpriv --reuid=%d --regid=%d --clear-groups teamsface %s",
			owner, e.UID, e.GID, args)
	case e.Owner == "":
		return msg + fmt.Sprintf("run it as %s (a user with a name owns it more plainly: chown -R the directory to one)", owner)
	case goos != "linux":
		return msg + fmt.Sprintf("run it as %s, e.g. sudo -u %s teamsface %s", e.Owner, shellQuote(e.Owner), args)
	default:
		// runuser first: Debian installs no sudo by default, and util-linux is always there.
		o := shellQuote(e.Owner)
		return msg + fmt.Sprintf("run it as %s, e.g. runuser -u %s -- teamsface %s (or sudo -u %s teamsface %s)",
			e.Owner, o, args, o, args)
	}
}

// displayUser is name, or "uid N" when the uid has no name.
func displayUser(name string, uid int) string {
	if name != "" {
		return name
	}
	return "uid " + strconv.Itoa(uid)
}

// shellJoin quotes each argument for a POSIX shell and joins them with spaces, so that the
// command shown can be pasted as it is.
func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

// shellQuote leaves a word made of characters no POSIX shell treats specially as it is and puts
// anything else in single quotes, inside which only the single quote itself needs care.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789@%+=:,./_-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
