package cmd

import (
	"context"
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

// What sync watch says when a signal stops it: the notice is a log record like every other line
// on stderr, so --log-format json gives JSON throughout, with snake_case keys only, and -q or
// --log-level error, which leave out the start and stop lines, leave it out too (cron mails any
// output).
func TestStopNotice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		want string // a regexp stderr must match; "" means stderr stays empty
		json bool   // every line of stderr is a JSON object
	}{
		{"default", nil, `(?m)^time=TIME level=INFO msg="stopping: finishing the pass in flight and saving the state; send the signal again to stop at once" signal=SIGINT$`, false},
		{"json logs", []string{"--log-format", "json"}, `(?m)^\{"time":"TIME","level":"INFO","msg":"stopping: finishing the pass in flight and saving the state; send the signal again to stop at once","signal":"SIGINT"\}$`, true},
		{"quiet", []string{"-q"}, "", false},
		{"errors only", []string{"--log-level", "error"}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, 2, "")
			sigs := make(chan os.Signal, 1)
			var out, errb syncBuffer
			deps := h.deps(nil, nil)
			deps.Stdout, deps.Stderr, deps.Signals = &out, &errb, sigs
			deps.Exit = func(code int) { t.Errorf("exit(%d) after one signal", code) }
			// The signal comes while the watch waits after its first pass; the wait never ends
			// by itself.
			deps.After = func(time.Duration) <-chan time.Time { sigs <- os.Interrupt; return nil }
			args := append([]string{"sync", "watch", "--interval", "10s"}, tc.args...)
			if code := h.runWith(context.Background(), deps, args...); code != ExitOK {
				t.Fatalf("exit %d, want 0\n%s", code, errb.String())
			}
			logs := logTimeText.ReplaceAllString(errb.String(), "time=TIME ")
			logs = logTimeJSON.ReplaceAllString(logs, `"time":"TIME"`)
			switch {
			case tc.want == "" && logs != "":
				t.Errorf("stderr is not empty:\n%s", logs)
			case tc.want != "" && !regexp.MustCompile(tc.want).MatchString(logs):
				t.Errorf("stderr does not match %s:\n%s", tc.want, logs)
			}
			if !tc.json {
				return
			}
			for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Errorf("not a JSON record: %s", line)
				}
				for _, k := range jsonKeys(rec) {
					if !snakeCase.MatchString(k) {
						t.Errorf("key %q is not snake_case: %s", k, line)
					}
				}
			}
		})
	}
}

// snakeCase is how every log attribute key is spelt (STYLE.md: stable keys such as login, upn).
var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// jsonKeys lists the keys of a decoded JSON object and of the objects inside it.
func jsonKeys(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			out = append(out, k)
			out = append(out, jsonKeys(e)...)
		}
	case []any:
		for _, e := range x {
			out = append(out, jsonKeys(e)...)
		}
	}
	return out
}

// Every key of every log record is snake_case, down to trace level, for a pass that changes
// something: `users in scope` once logged the match's counts as a struct, whose Go field names
// (Matched) came out as JSON keys.
func TestJSONLogKeysAreSnakeCase(t *testing.T) {
	t.Parallel()
	h := newHarness(t, 3, "")
	h.setPresence(0, "Busy", "InACall")
	sigs := make(chan os.Signal, 1)
	var out, errb syncBuffer
	deps := h.deps(nil, nil)
	deps.Stdout, deps.Stderr, deps.Signals = &out, &errb, sigs
	deps.After = func(time.Duration) <-chan time.Time { sigs <- os.Interrupt; return nil }
	if code := h.runWith(context.Background(), deps, "sync", "watch", "--log-level", "trace", "--log-format", "json"); code != ExitOK {
		t.Fatalf("exit %d\n%s", code, errb.String())
	}
	lines := strings.Split(strings.TrimSpace(errb.String()), "\n")
	msgs := map[string]bool{}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON record: %s", line)
		}
		msgs[rec["msg"].(string)] = true
		for _, k := range jsonKeys(rec) {
			if !snakeCase.MatchString(k) {
				t.Errorf("key %q is not snake_case: %s", k, line)
			}
		}
	}
	for _, m := range []string{"sync watch started", "users in scope", "decision", "switched DND", "pass changed something", "sync watch stopped"} {
		if !msgs[m] {
			t.Errorf("no %q record; the test covers less than it says:\n%s", m, errb.String())
		}
	}
}
