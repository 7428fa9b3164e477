package state

import (
	"errors"
	"fmt"
	"testing"
)

func TestOwnerErrorMessage(t *testing.T) {
	svc := OwnerError{Dir: "/var/lib/teamsface", UID: 998, GID: 998, Owner: "teamsface", EUID: 0, User: "root"}
	with := func(e OwnerError, f func(*OwnerError)) *OwnerError { f(&e); return &e }
	tests := []struct {
		name string
		err  *OwnerError
		want string
		goos string
	}{
		{"root by habit, command unknown", &svc,
			"state directory /var/lib/teamsface belongs to teamsface, not to root who runs teamsface now: " +
				"run it as teamsface, e.g. runuser -u teamsface -- teamsface ... (or sudo -u teamsface teamsface ...)", "linux"},
		{"root by habit, the command given", with(svc, func(e *OwnerError) { e.Args = []string{"sync", "once", "--refresh-users"} }),
			"state directory /var/lib/teamsface belongs to teamsface, not to root who runs teamsface now: " +
				"run it as teamsface, e.g. runuser -u teamsface -- teamsface sync once --refresh-users " +
				"(or sudo -u teamsface teamsface sync once --refresh-users)", "linux"},
		{"no arguments shows the dots", with(svc, func(e *OwnerError) { e.Args = []string{} }),
			"state directory /var/lib/teamsface belongs to teamsface, not to root who runs teamsface now: " +
				"run it as teamsface, e.g. runuser -u teamsface -- teamsface ... (or sudo -u teamsface teamsface ...)", "linux"},
		{"arguments a shell would split or expand are quoted", with(svc, func(e *OwnerError) {
			e.Args = []string{"sync", "once", "--state-dir", "/srv/team's state", "--config=$HOME/c.yaml", ""}
		}),
			"state directory /var/lib/teamsface belongs to teamsface, not to root who runs teamsface now: " +
				`run it as teamsface, e.g. runuser -u teamsface -- teamsface sync once --state-dir '/srv/team'\''s state' '--config=$HOME/c.yaml' '' ` +
				`(or sudo -u teamsface teamsface sync once --state-dir '/srv/team'\''s state' '--config=$HOME/c.yaml' '')`, "linux"},
		{"another user than root", with(svc, func(e *OwnerError) { e.EUID, e.User = 1000, "alice" }),
			"state directory /var/lib/teamsface belongs to teamsface, not to alice who runs teamsface now: " +
				"run it as teamsface, e.g. runuser -u teamsface -- teamsface ... (or sudo -u teamsface teamsface ...)", "linux"},
		{"an owner without a name (DynamicUser=, not running)", with(svc, func(e *OwnerError) {
			e.UID, e.GID, e.Owner, e.Args = 61234, 61234, "", []string{"presence", "get"}
		}),
			"state directory /var/lib/teamsface belongs to uid 61234, not to root who runs teamsface now: " +
				"run it as uid 61234, e.g. setpriv --reuid=61234 --regid=61234 --clear-groups teamsface presence get", "linux"},
		{"the service in a directory root made", &OwnerError{Dir: "/var/lib/teamsface", Owner: "root", EUID: 998, User: "teamsface"},
			"state directory /var/lib/teamsface belongs to root, not to teamsface who runs teamsface now: " +
				"if it is teamsface's, give it back as root with chown -R teamsface /var/lib/teamsface, or run teamsface as root", "linux"},
		{"a user without a name in a directory root made, with a space", &OwnerError{Dir: "/srv/team state", Owner: "root", EUID: 1500},
			"state directory /srv/team state belongs to root, not to uid 1500 who runs teamsface now: " +
				"if it is uid 1500's, give it back as root with chown -R 1500 '/srv/team state', or run teamsface as root", "linux"},
		{"macOS has no runuser", with(svc, func(e *OwnerError) { e.Args = []string{"release"} }),
			"state directory /var/lib/teamsface belongs to teamsface, not to root who runs teamsface now: " +
				"run it as teamsface, e.g. sudo -u teamsface teamsface release", "darwin"},
		{"nor setpriv", with(svc, func(e *OwnerError) { e.UID, e.Owner = 61234, "" }),
			"state directory /var/lib/teamsface belongs to uid 61234, not to root who runs teamsface now: " +
				"run it as uid 61234 (a user with a name owns it more plainly: chown -R the directory to one)", "darwin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.err.message(tt.goos); got != tt.want {
				t.Errorf("Error() =\n%s\nwant\n%s", got, tt.want)
			}
			// cmd maps it to exit 2 through however many wrappings.
			var oe *OwnerError
			if !errors.As(fmt.Errorf("sync once: %w", tt.err), &oe) || oe != tt.err {
				t.Errorf("errors.As does not find the *OwnerError")
			}
		})
	}
}

func TestShellQuote(t *testing.T) {
	tests := []struct{ in, want string }{
		{"sync", "sync"},
		{"--lock-timeout=30s", "--lock-timeout=30s"},
		{"/var/lib/teamsface", "/var/lib/teamsface"},
		{"user@example.com,x:1+2%", "user@example.com,x:1+2%"},
		{"", "''"},
		{"two words", "'two words'"},
		{"it's", `'it'\''s'`},
		{"$HOME", "'$HOME'"},
		{"~/state", "'~/state'"},
		{"*.json", "'*.json'"},
		{"a;b", "'a;b'"},
		{"line\nbreak", "'line\nbreak'"},
		{`back\slash`, `'back\slash'`},
		{"Zürich", "'Zürich'"},
	}
	for _, tt := range tests {
		if got := shellQuote(tt.in); got != tt.want {
			t.Errorf("shellQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
