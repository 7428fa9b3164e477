package state

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// The lock file names the run that holds it once that run has held it for holderDelay; a run
// that finds the lock taken says by whom. Two Opens in one process, on a fake clock.
func TestLockedErrorNamesTheHolder(t *testing.T) {
	me := fmt.Sprintf("pid %d (%s ", os.Getpid(), filepath.Base(os.Args[0]))
	tests := []struct {
		name string
		held time.Duration // how long the first run has held the lock
		want string        // in the second Open's error; "" = names nobody
	}{
		{"a run that just took it is not named yet", 0, ""},
		{"nor one that has held it a moment", holderDelay - time.Millisecond, ""},
		{"one that has held it for two seconds is", holderDelay, me},
		{"and stays named", time.Hour, me},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				first := mustOpen(t, dir)
				taken := time.Now()
				time.Sleep(tt.held)
				synctest.Wait()
				_, err := Open(dir, 0)
				var le *LockedError
				if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
					t.Fatalf("second Open: %v, want a *LockedError that is ErrLocked", err)
				}
				msg := err.Error()
				if tt.want == "" {
					if le.Holder != nil || strings.Contains(msg, "held by") {
						t.Errorf("names a holder: %s", msg)
					}
					return
				}
				since := taken.Local().Format(time.TimeOnly)
				if taken.Format(time.DateOnly) != time.Now().Format(time.DateOnly) {
					since = taken.Local().Format(time.DateTime)
				}
				if !strings.Contains(msg, ", held by "+tt.want) || !strings.Contains(msg, ") since "+since+" (gave up after 0s") {
					t.Errorf("message %q does not name %s...) since %s", msg, tt.want, since)
				}
				if le.Holder.PID != os.Getpid() || !le.Holder.Since.Equal(taken) {
					t.Errorf("holder %+v, want pid %d since %v", le.Holder, os.Getpid(), taken)
				}
				// Letting go removes the record: it would name a run that ended.
				if err := first.Close(); err != nil {
					t.Fatal(err)
				}
				if fi, err := os.Stat(filepath.Join(dir, lockName)); err != nil || fi.Size() != 0 {
					t.Errorf("lock file after Close: %v, %v; want it empty", fi.Size(), err)
				}
			})
		})
	}
}

// The record is the lock file's only content, 0600 like every file of the directory, after a
// newline (Windows locks the first byte); it holds the pid, the command line and the time.
func TestHolderRecord(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir)
		time.Sleep(holderDelay)
		synctest.Wait()
		path := filepath.Join(dir, lockName)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		re := regexp.MustCompile(`^\n\{"pid":\d+,"command":"[^"]+","since":"[^"]+"\}\n$`)
		if !re.Match(data) {
			t.Errorf("lock file holds %q", data)
		}
		if fi, _ := os.Stat(path); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
			t.Errorf("lock file mode %v, want 0600", fi.Mode().Perm())
		}
		if h := readHolder(path); h == nil || h.PID != os.Getpid() || !strings.HasPrefix(h.Command, filepath.Base(os.Args[0])) {
			t.Errorf("readHolder = %+v", h)
		}
	})
}

// A run killed while it held the lock leaves its record; a run that then takes the lock and
// keeps others waiting only briefly is not named yet, so the record reads as what it was.
func TestStaleHolderReadsAsWhatItWas(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	since := time.Date(2026, 11, 22, 8, 0, 0, 0, time.Local)
	if err := writeHolder(s.lock, Holder{PID: 4242, Command: "teamsface sync watch", Since: since}); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, 0)
	if want := ", held by pid 4242 (teamsface sync watch) since 2026-11-22 08:00:00 (gave up"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("second Open: %v; want %q", err, want)
	}
	for _, bad := range []string{"", "\n", "\nnot json", `{"pid":1}`, "\n{}"} {
		p := filepath.Join(t.TempDir(), "lock")
		if err := os.WriteFile(p, []byte(bad), 0o600); err != nil {
			t.Fatal(err)
		}
		if h := readHolder(p); h != nil {
			t.Errorf("readHolder(%q) = %+v, want nil", bad, h)
		}
	}
}
