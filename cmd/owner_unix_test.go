//go:build unix

package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The habit the issue names: `sudo teamsface sync once --refresh-users` in the service's state
// directory. It refuses with exit 2 before any request or file, names the owner and the command
// that works, and every file keeps its owner. Run by any other user than root, the test stands
// in for the service in a directory root made ("/", which that user could not change anyway):
// the same refusal, naming the chown that gives the directory back.
func TestRunInAnotherUsersStateDirectoryRefuses(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 2, "")
	h.mustRun(ExitOK, "sync", "once") // the service's own first run
	const service = 65534             // nobody: the service user stands in
	root := os.Geteuid() == 0
	fix := "sudo -u"
	if root {
		if err := filepath.Walk(h.stateDir, func(p string, _ os.FileInfo, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(p, service, service)
		}); err != nil {
			t.Fatal(err)
		}
	} else {
		h.stateDir, fix = "/", "chown -R"
	}
	h.resetLogs()
	for _, args := range [][]string{
		{"sync", "once", "--refresh-users"}, {"sync", "once", "--dry-run"}, {"presence", "get"},
		{"users", "match"}, {"release"}, {"login"}, {"login", "--check"}, {"logout"},
	} {
		code, out, errs := h.run(args...)
		if code != ExitUsage {
			t.Errorf("teamsface %s: exit %d, want %d\n%s%s", strings.Join(args, " "), code, ExitUsage, out, errs)
		}
		wants := []string{"belongs to", fix}
		if root {
			wants = append(wants, strings.Join(args, " ")) // the command that works, as it was typed
		}
		for _, want := range wants {
			if !strings.Contains(errs, want) {
				t.Errorf("teamsface %s: stderr lacks %q:\n%s", strings.Join(args, " "), want, errs)
			}
		}
	}
	if n := len(h.gs.Requests()) + len(h.ss.Requests()); n != 0 {
		t.Errorf("the refused runs sent %d requests", n)
	}
	if !root {
		return
	}
	entries, err := os.ReadDir(h.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range append(entries, nil) {
		p := h.stateDir
		if e != nil {
			p = filepath.Join(h.stateDir, e.Name())
		}
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if uid := fi.Sys().(*syscall.Stat_t).Uid; uid != service {
			t.Errorf("%s now belongs to uid %d", p, uid)
		}
	}
}
