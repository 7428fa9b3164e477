package cmd

import (
	"strings"
	"testing"
)

// The units that run sync watch reload it with SIGHUP (systemctl reload), which re-reads the
// configuration; the timer's oneshot has nothing to reload.
func TestWatchUnitsReloadWithSighup(t *testing.T) {
	t.Parallel()
	for name, text := range packagedUnits(t) {
		u, err := parseUnit(text)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		start, _ := u.get("Service", "ExecStart")
		reload, ok := u.get("Service", "ExecReload")
		switch {
		case strings.Contains(start, " sync watch ") && reload != "/bin/kill -HUP $MAINPID":
			t.Errorf("%s: ExecReload=%q, want /bin/kill -HUP $MAINPID", name, reload)
		case !strings.Contains(start, " sync watch ") && ok:
			t.Errorf("%s: ExecReload= on a unit that does not run sync watch", name)
		}
	}
}
