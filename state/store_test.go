package state

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/teamsface/teamsface/internal/atomicfile"
)

var t0 = time.Date(2025, 3, 4, 10, 0, 0, 0, time.UTC)

func ptr[T any](v T) *T { return &v }

func mustOpen(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func sample() *State {
	st := &State{
		users: map[string]*User{
			"0003": {
				starfaceID: 3, applied: "on", written: ptr(true), owned: true, replaced: false,
				session: &Session{EntraID: "e-3", Availability: "DoNotDisturb", Activity: "Presenting",
					Expires: t0.Add(15 * time.Minute), ClearedAt: t0.Add(time.Minute)},
				failures: 2, lastError: "set DND for 0003: starface: 500 internal server error",
			},
			"0004": {starfaceID: 4},
		},
		match: &MatchCache{Time: t0, Entries: []MatchEntry{
			{Login: "0003", StarfaceID: 3, Name: "Alice", Email: "alice@contoso.com", Status: "matched",
				Basis: "mail", EntraID: "e-3", UPN: "alice@contoso.com"},
			{Login: "0004", StarfaceID: 4, Status: "unmatched", Reason: "no Entra user"},
		}},
		graphNotBefore: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		dirty:          true, matchDirty: true,
	}
	for _, u := range st.users {
		u.st = st
	}
	return st
}

// clean is st as Load returns it: nothing to save.
func clean(st *State) *State {
	st.dirty, st.matchDirty = false, false
	return st
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "st")
	s := mustOpen(t, dir)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(st, New()) || st.Dirty() {
		t.Fatalf("fresh Load = %+v, want %+v", st, New())
	}
	want := sample()
	if err := s.Save(want); err != nil {
		t.Fatal(err)
	}
	if want.Dirty() {
		t.Error("a saved state is still dirty")
	}
	s.Close()

	s = mustOpen(t, dir)
	got, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		a, _ := json.Marshal(got)
		b, _ := json.Marshal(want)
		t.Fatalf("round trip differs:\n got %s\nwant %s", a, b)
	}
	ro, in, err := ReadOnly(dir)
	if err != nil || len(in) != 0 || !reflect.DeepEqual(ro, want) {
		t.Fatalf("ReadOnly = %+v, %v, %v", ro, in, err)
	}
}

// The JSON field names are part of the file format: renaming one loses data
// on upgrade.
func TestFieldNames(t *testing.T) {
	data, err := encode(sample())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{`"version":3`, `"users"`, `"id"`, `"applied"`, `"written"`, `"owned"`,
		`"session"`, `"entra_id"`, `"availability"`, `"activity"`, `"expires"`, `"cleared_at"`,
		`"failures"`, `"last_error"`, `"graph_not_before"`} {
		if !strings.Contains(string(data), k) {
			t.Errorf("encoded state lacks %s", k)
		}
	}
	if strings.Contains(string(data), "\n ") {
		t.Errorf("state.json is indented:\n%s", data)
	}
	in, _ := json.Marshal(Intent{Login: "0003", StarfaceID: 3, Want: true, Before: false, At: t0})
	if want := `{"login":"0003","starface_id":3,"want":true,"at":"2025-03-04T10:00:00Z"}`; string(in) != want {
		t.Errorf("intent = %s, want %s", in, want)
	}
	// Journals written before session intents read as DND intents.
	old, err := parseJournal("journal", []byte(`{"login":"0003","starface_id":3,"want":false,"before":true,"at":"2025-03-04T10:00:00Z"}`+"\n"))
	if err != nil || len(old) != 1 || old[0].Kind != "" || old[0].Want || !old[0].Before {
		t.Errorf("old journal line = %+v, %v", old, err)
	}
}

func TestSaveWritesCurrentVersion(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	st := New()
	st.Take("0003").Identify(3)
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, stateName))
	if !strings.HasPrefix(string(raw), `{"version":3,`) {
		t.Fatalf("state.json = %s", raw)
	}
	ro, _, err := ReadOnly(dir)
	if err != nil || ro.User("0003") == nil {
		t.Fatalf("ReadOnly = %+v, %v", ro, err)
	}
}

// A version-1 state.json (indented, with the match inside and the presence
// last seen per user) is read and written back as version 2 with the match
// in match.json, keeping what version 2 remembers.
func TestUpgradeFromVersion1(t *testing.T) {
	dir := t.TempDir()
	v1 := `{
  "version": 1,
  "users": {
    "0003": {
      "starface_id": 3,
      "entra_id": "e-3",
      "upn": "alice@contoso.com",
      "availability": "Busy",
      "activity": "InACall",
      "applied": "on",
      "written": true,
      "owned": true,
      "dnd": true,
      "dnd_read_at": "2025-03-04T10:00:00Z",
      "session": {"availability": "DoNotDisturb", "activity": "Presenting", "set_at": "2025-03-04T10:00:00Z", "expires": "2025-03-04T10:15:00Z"},
      "failures": 1,
      "last_error": "boom"
    },
    "0004": {"starface_id": 4, "applied": "off"}
  },
  "match": {"time": "2025-03-04T10:00:00Z", "key": "k", "entries": [{"login": "0003", "starface_id": 3, "status": "matched", "entra_id": "e-3", "upn": "alice@contoso.com"}]},
  "last_pass": "2025-03-04T10:00:00Z"
}
`
	if err := os.WriteFile(filepath.Join(dir, stateName), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	s := mustOpen(t, dir)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	u := st.User("0003")
	sess, ok := u.LiveSession()
	if u.StarfaceID() != 3 || u.Applied() != "on" || !u.Owned() || u.Failures() != 1 || !ok || sess.EntraID != "e-3" ||
		!sess.Expires.Equal(t0.Add(15*time.Minute)) {
		t.Errorf("upgraded user = %+v, session %+v", u, sess)
	}
	if st.Match() == nil || st.Match().Key != "k" || !st.Dirty() {
		t.Fatalf("match = %+v, dirty %v: the upgrade must be saved", st.Match(), st.Dirty())
	}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, stateName))
	if !strings.HasPrefix(string(raw), `{"version":3,`) || strings.Contains(string(raw), "match") {
		t.Errorf("upgraded state.json = %s", raw)
	}
	ro, _, err := ReadOnly(dir)
	if err != nil || ro.Match() == nil || ro.Match().Entries[0].UPN != "alice@contoso.com" || ro.User("0004").Applied() != "off" {
		t.Errorf("after the upgrade: %+v, %v", ro, err)
	}
}

func TestPermissions(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix mode bits on Windows")
	}
	tests := []struct {
		name     string
		existing os.FileMode // 0: the directory does not exist yet
	}{
		{"created", 0},
		{"loose existing dir tightened", 0o755},
		{"world-writable existing dir tightened", 0o777},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "st")
			if tt.existing != 0 {
				if err := os.MkdirAll(dir, 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(dir, tt.existing); err != nil {
					t.Fatal(err)
				}
			}
			s := mustOpen(t, dir)
			if err := s.RecordIntents([]Intent{{Login: "0003"}}); err != nil {
				t.Fatal(err)
			}
			if err := s.Save(sample()); err != nil {
				t.Fatal(err)
			}
			if err := s.RecordIntents([]Intent{{Login: "0003"}}); err != nil {
				t.Fatal(err)
			}
			assertMode(t, dir, 0o700)
			for _, f := range []string{stateName, journalName, lockName} {
				assertMode(t, filepath.Join(dir, f), 0o600)
			}
		})
	}
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode().Perm(); got != want {
		t.Errorf("%s: mode %04o, want %04o", filepath.Base(path), got, want)
	}
}

func TestOpenRefusesFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	os.WriteFile(p, nil, 0o600)
	if _, err := Open(p, 0); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Fatalf("Open on a file: %v", err)
	}
}

// The lock is tried at once, then every 50 ms until lockTimeout has passed, the last wait cut
// short to end on time.
func TestLockTimeout(t *testing.T) {
	for _, timeout := range []time.Duration{0, 100 * time.Millisecond, 120 * time.Millisecond} {
		t.Run(timeout.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				mustOpen(t, dir)
				start := time.Now()
				s, err := Open(dir, timeout)
				if !errors.Is(err, ErrLocked) {
					if s != nil {
						s.Close()
					}
					t.Fatalf("second Open: %v, want ErrLocked", err)
				}
				if !strings.Contains(err.Error(), "another teamsface run holds the lock") {
					t.Errorf("message %q", err)
				}
				if waited := time.Since(start); waited != timeout {
					t.Errorf("gave up after %v, want %v", waited, timeout)
				}
			})
		})
	}
}

// A waiting Open takes the lock at its next try after the holder lets go: tries run every
// 50 ms, and a last one when the timeout ends.
func TestLockTakenWhileWaiting(t *testing.T) {
	tests := []struct {
		name             string
		timeout, release time.Duration
		taken            time.Duration
	}{
		{"at the first retry", time.Second, 30 * time.Millisecond, 50 * time.Millisecond},
		{"at the third retry", time.Second, 120 * time.Millisecond, 150 * time.Millisecond},
		{"at the last try, when the timeout ends", 120 * time.Millisecond, 110 * time.Millisecond, 120 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				dir := t.TempDir()
				first := mustOpen(t, dir)
				go func() {
					time.Sleep(tt.release)
					first.Close()
				}()
				start := time.Now()
				s, err := Open(dir, tt.timeout)
				if err != nil {
					t.Fatalf("Open while the holder lets go after %v: %v", tt.release, err)
				}
				defer s.Close()
				if took := time.Since(start); took != tt.taken {
					t.Errorf("took the lock after %v, want %v", took, tt.taken)
				}
			})
		})
	}
}

func TestLockFreedAfterClose(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if _, err := Open(dir, 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	s2 := mustOpen(t, dir)
	if s2.Dir() != dir {
		t.Errorf("Dir = %q", s2.Dir())
	}
	// A closed store refuses to work: it no longer holds the lock.
	if _, err := s.Load(); !errors.Is(err, errClosed) {
		t.Errorf("Load after Close: %v", err)
	}
	if err := s.Save(New()); !errors.Is(err, errClosed) {
		t.Errorf("Save after Close: %v", err)
	}
	if err := s.RecordIntents([]Intent{{}}); !errors.Is(err, errClosed) {
		t.Errorf("RecordIntents after Close: %v", err)
	}
}

const holdEnv = "TEAMSFACE_STATE_TEST_HOLD"

// helperLockHolder runs in a child process of TestLockAcrossProcesses (this
// test binary again, with holdEnv set): it holds the lock, records an intent
// and waits to be killed.
func init() { helpers[holdEnv] = helperLockHolder }

func helperLockHolder(dir string) {
	s, err := Open(dir, 0)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	if err := s.RecordIntents([]Intent{{Login: "0003", StarfaceID: 3, Want: true, Before: false, At: t0}}); err != nil {
		fmt.Println("error:", err)
		os.Exit(2)
	}
	fmt.Println("locked")
	io.Copy(io.Discard, os.Stdin)
	os.Exit(0)
}

func TestLockAcrossProcesses(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "locked" {
			break
		}
		if strings.HasPrefix(line, "error:") {
			t.Fatalf("child: %s", line)
		}
	}

	if _, err := Open(dir, 0); !errors.Is(err, ErrLocked) {
		t.Fatalf("Open while the child holds the lock: %v", err)
	}
	// Once the child has held the lock for holderDelay, the lock file names it.
	deadline := time.Now().Add(holderDelay + 10*time.Second)
	for readHolder(filepath.Join(dir, lockName)) == nil && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	held := fmt.Sprintf(", held by pid %d (%s -test.run=^$) since ", cmd.Process.Pid, filepath.Base(os.Args[0]))
	if _, err := Open(dir, 0); err == nil || !strings.Contains(err.Error(), held) {
		t.Fatalf("Open while the child holds the lock: %v; want it to say %q", err, held)
	}
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		if _, err := Open(dir, 100*time.Millisecond); !errors.Is(err, ErrLocked) || time.Since(start) != 100*time.Millisecond {
			t.Fatalf("Open with a timeout: %v after %v", err, time.Since(start))
		}
	})
	// ReadOnly works beside the holder and sees its intent.
	if _, in, err := ReadOnly(dir); err != nil || len(in) != 1 {
		t.Fatalf("ReadOnly beside the holder: %v, %v", in, err)
	}

	// A killed run never blocks the next one, and its unsettled intent is
	// still there.
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	s := mustOpen(t, dir)
	in, err := s.Pending()
	if err != nil || len(in) != 1 || in[0].Login != "0003" || !in[0].Want {
		t.Fatalf("Pending after the child was killed = %+v, %v", in, err)
	}
}

func TestCorrupt(t *testing.T) {
	tests := []struct {
		name, content string
	}{
		{"not json", "garbage"},
		{"truncated", `{"version":1,"users":{"0003":{"starface_id":3`},
		{"empty file", ""},
		{"no version", `{"users":{}}`},
		{"wrong type", `{"version":1,"users":[]}`},
		{"version as string", `{"version":"1"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, stateName)
			os.WriteFile(path, []byte(tt.content), 0o600)
			s := mustOpen(t, dir)
			_, err := s.Load()
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Load = %v, want *CorruptError", err)
			}
			msg := err.Error()
			for _, want := range []string{"state: ", path, "is corrupt", "--reset-state", "check those phones by hand"} {
				if !strings.Contains(msg, want) {
					t.Errorf("message %q lacks %q", msg, want)
				}
			}
			if _, _, err := ReadOnly(dir); !errors.As(err, &ce) {
				t.Errorf("ReadOnly = %v, want *CorruptError", err)
			}
		})
	}
}

func TestNewerVersion(t *testing.T) {
	for _, content := range []string{
		`{"version":4,"users":{}}`,
		`{"version":4,"users":[{"login":"0003"}]}`, // a field whose type changed
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, stateName), []byte(content), 0o600)
		s := mustOpen(t, dir)
		_, err := s.Load()
		var ve *VersionError
		if !errors.As(err, &ve) || ve.Version != 4 {
			t.Fatalf("Load(%s) = %v, want *VersionError", content, err)
		}
		if !strings.Contains(err.Error(), "newer teamsface") {
			t.Errorf("message %q", err)
		}
		var ce *CorruptError
		if errors.As(err, &ce) {
			t.Errorf("a newer file is not corrupt: %v", err)
		}
	}
}

func TestLoadLenient(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, stateName),
		[]byte(`{"version":1,"future":{"x":1},"users":{"0003":{"starface_id":3,"new_field":true,"availability":"SomethingNew"},"0009":null}}`), 0o600)
	st, err := mustOpen(t, dir).Load()
	if err != nil {
		t.Fatal(err)
	}
	if u := st.User("0003"); st.Len() != 1 || u == nil || u.StarfaceID() != 3 {
		t.Errorf("version 1: users = %+v", st.users)
	}
	os.WriteFile(filepath.Join(dir, stateName),
		[]byte(`{"version":2,"future":{"x":1},"users":{"0003":{"id":3,"new_field":true},"0009":null}}`), 0o600)
	st, _, err = ReadOnly(dir)
	if u := st.User("0003"); err != nil || st.Len() != 1 || u == nil || u.StarfaceID() != 3 {
		t.Errorf("version 2: users = %+v, %v", st.users, err)
	}
}

// The crash story: intents recorded before the STARFACE writes survive a run
// that dies before its Save; the next Save settles them.
func TestCrashStory(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	st, _ := s.Load()
	st.Take("0003").Identify(3)
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	a := []Intent{
		{Login: "0003", StarfaceID: 3, Want: true, Before: false, At: t0},
		{Login: "0004", StarfaceID: 4, Want: false, Before: true, At: t0},
	}
	b := []Intent{{Login: "0005", StarfaceID: 5, Want: true, At: t0.Add(time.Second)}}
	if err := s.RecordIntents(a); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntents(b); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntents(nil); err != nil {
		t.Fatal(err)
	}
	s.Close() // dies: no Save

	s = mustOpen(t, dir)
	got, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	if want := append(slices.Clone(a), b...); !reflect.DeepEqual(got, want) {
		t.Fatalf("Pending = %+v, want %+v", got, want)
	}
	st, err = s.Load()
	if err != nil || st.users["0003"] == nil {
		t.Fatalf("the old state survives: %+v, %v", st, err)
	}
	st.users["0003"].owned = true
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if got, err := s.Pending(); err != nil || len(got) != 0 {
		t.Fatalf("Pending after Save = %+v, %v", got, err)
	}
	if _, in, _ := ReadOnly(dir); len(in) != 0 {
		t.Fatalf("ReadOnly after Save sees intents %+v", in)
	}
}

func intentLine(login string) string {
	b, _ := json.Marshal(Intent{Login: login, At: t0})
	return string(b) + "\n"
}

func TestJournalParsing(t *testing.T) {
	tests := []struct {
		name    string
		content string
		want    []string // logins
		corrupt bool
	}{
		{"empty", "", nil, false},
		{"two lines", intentLine("a") + intentLine("b"), []string{"a", "b"}, false},
		{"torn last line", intentLine("a") + `{"login":"b","starf`, []string{"a"}, false},
		{"torn into zeros", intentLine("a") + "\x00\x00\x00", []string{"a"}, false},
		{"last line complete but unterminated", intentLine("a") + strings.TrimSuffix(intentLine("b"), "\n"), []string{"a", "b"}, false},
		{"blank lines", "\n" + intentLine("a") + "\n\n", []string{"a"}, false},
		{"bad line in the middle", intentLine("a") + "nonsense\n" + intentLine("b"), nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, journalName), []byte(tt.content), 0o600)
			got, err := mustOpen(t, dir).Pending()
			var ce *CorruptError
			if tt.corrupt {
				if !errors.As(err, &ce) || !strings.Contains(err.Error(), "line 2") {
					t.Fatalf("Pending = %v, want *CorruptError naming line 2", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var logins []string
			for _, in := range got {
				logins = append(logins, in.Login)
			}
			if !slices.Equal(logins, tt.want) {
				t.Errorf("Pending logins = %v, want %v", logins, tt.want)
			}
		})
	}
}

// A torn tail must not swallow the next run's intents by gluing them onto a
// broken line.
func TestRecordAfterTornTail(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, journalName), []byte(intentLine("a")+`{"login":"torn`), 0o600)
	s := mustOpen(t, dir)
	if err := s.RecordIntents([]Intent{{Login: "b"}, {Login: "c"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pending()
	if err != nil {
		t.Fatal(err)
	}
	var logins []string
	for _, in := range got {
		logins = append(logins, in.Login)
	}
	if want := []string{"a", "b", "c"}; !slices.Equal(logins, want) {
		t.Errorf("Pending logins = %v, want %v", logins, want)
	}
}

func TestReset(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	if err := s.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntents([]Intent{{Login: "0003"}}); err != nil {
		t.Fatal(err)
	}
	token := filepath.Join(dir, "token-graph.json")
	os.WriteFile(token, []byte("{}"), 0o600)

	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{stateName, journalName} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s still there after Reset: %v", name, err)
		}
	}
	if _, err := os.Stat(token); err != nil {
		t.Errorf("Reset removed the token cache: %v", err)
	}
	st, err := s.Load()
	if err != nil || !reflect.DeepEqual(st, New()) {
		t.Fatalf("Load after Reset = %+v, %v", st, err)
	}
	in, err := s.Pending()
	if err != nil || len(in) != 0 {
		t.Fatalf("Pending after Reset = %+v, %v", in, err)
	}
	// Reset must also forget what it last wrote, or saving the same state
	// again would be skipped and leave no file.
	if err := s.Save(sample()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, stateName)); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(); err != nil {
		t.Fatal(err)
	}
	if err := s.Reset(); err != nil {
		t.Fatalf("Reset of nothing: %v", err)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestReadOnlyCreatesNothing(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	st, in, err := ReadOnly(missing)
	if err != nil || in != nil || !reflect.DeepEqual(st, New()) {
		t.Fatalf("ReadOnly(missing) = %+v, %v, %v", st, in, err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("ReadOnly created %s: %v", missing, err)
	}

	empty := t.TempDir()
	if _, _, err := ReadOnly(empty); err != nil {
		t.Fatal(err)
	}
	if names := listDir(t, empty); len(names) != 0 {
		t.Fatalf("ReadOnly created %v", names)
	}
}

// A pass that changed nothing that must survive writes nothing: not
// state.json, not match.json, not the journal.
func TestSaveWritesNothingWhenNothingChanged(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	st := sample()
	st.User("0004").DecisionApplied(false)
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	snap := snapshot(t, dir)
	// Transitions that change nothing keep the state clean.
	u := st.User("0004")
	u.DecisionApplied(false)
	u.DecisionApplied(false)
	u.PassSucceeded()
	st.User("0003").PhoneRead(true)
	st.SetGraphNotBefore(st.GraphNotBefore())
	if st.Dirty() {
		t.Fatal("transitions that changed nothing made the state dirty")
	}
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); got != snap {
		t.Errorf("an unchanged state touched the directory:\n%s\n%s", snap, got)
	}
	// Load and Save in a new run: still nothing.
	s.Close()
	s = mustOpen(t, dir)
	st, _ = s.Load()
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	if got := snapshot(t, dir); got != snap {
		t.Errorf("a loaded and unchanged state touched the directory:\n%s\n%s", snap, got)
	}
	// One change rewrites state.json only.
	st.User("0004").DecisionApplied(true)
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	before, _ := os.Stat(filepath.Join(dir, matchName))
	after := snapshot(t, dir)
	if after == snap || !strings.Contains(after, "match.json "+fmt.Sprint(before.Size())) {
		t.Errorf("one change: %s", after)
	}
}

// snapshot describes every file of dir by name, size, modification time and
// inode, so that a test can tell whether anything was written.
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	for _, name := range listDir(t, dir) {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %d %s %v\n", name, fi.Size(), fi.ModTime().Format(time.RFC3339Nano), inode(fi))
	}
	return b.String()
}

func TestSaveFailureLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	// A directory where state.json belongs makes the rename fail.
	if err := os.Mkdir(filepath.Join(dir, stateName), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordIntents([]Intent{{Login: "0003"}}); err != nil {
		t.Fatal(err)
	}
	err := s.Save(sample())
	if err == nil || !strings.HasPrefix(err.Error(), "state: write ") {
		t.Fatalf("Save = %v, want a write error", err)
	}
	for _, name := range listDir(t, dir) {
		if strings.Contains(name, ".tmp-") {
			t.Errorf("temp file %s left behind", name)
		}
	}
	// A failed Save settles nothing.
	if in, err := s.Pending(); err != nil || len(in) != 1 {
		t.Errorf("Pending after a failed Save = %+v, %v", in, err)
	}
}

func TestOpenRemovesStaleTemps(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, atomicfile.TempPrefix(stateName)+"12345")
	other := filepath.Join(dir, atomicfile.TempPrefix("token-graph.json")+"999")
	os.WriteFile(stale, []byte("half"), 0o600)
	os.WriteFile(other, []byte("half"), 0o600)
	mustOpen(t, dir)
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temp file kept: %v", err)
	}
	// Token caches are written by others, possibly without the lock.
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another file's temp removed: %v", err)
	}
}

func bigState(n int) *State {
	st := New()
	for i := range n {
		login := fmt.Sprintf("%04d", i)
		st.users[login] = &User{st: st, starfaceID: i, applied: "off", written: ptr(false)}
	}
	st.dirty = true
	return st
}

// BenchmarkSave is one pass's Save among 10,000 users: encode, one file
// fsync, one directory fsync.
func BenchmarkSave(b *testing.B) {
	s, err := Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st := bigState(10000)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st.users["0042"].failures, st.dirty = i, true // defeat the unchanged-state shortcut
		if err := s.Save(st); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPass is a pass with 100 changes among 10,000 users: one
// RecordIntents (one fsync) and one Save.
func BenchmarkPass(b *testing.B) {
	s, err := Open(b.TempDir(), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	st := bigState(10000)
	intents := make([]Intent, 100)
	for i := range intents {
		intents[i] = Intent{Login: fmt.Sprintf("%04d", i), StarfaceID: i, Want: true, At: t0}
	}
	for i := 0; b.Loop(); i++ {
		if err := s.RecordIntents(intents); err != nil {
			b.Fatal(err)
		}
		st.users["0042"].failures, st.dirty = i, true
		if err := s.Save(st); err != nil {
			b.Fatal(err)
		}
	}
}

// Intents whose outcome is unknown survive a Save in the same step that settles the others.
func TestSaveKeepsOpenIntents(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	settled := Intent{Login: "0002", StarfaceID: 2, Want: true, At: t0}
	open := Intent{Login: "0003", StarfaceID: 3, Want: true, At: t0}
	if err := s.RecordIntents([]Intent{settled, open}); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(New(), open); err != nil {
		t.Fatal(err)
	}
	got, err := s.Pending()
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], open) {
		t.Fatalf("Pending after Save(open) = %+v, %v; want only %+v", got, err, open)
	}
	fi, err := os.Stat(filepath.Join(dir, "journal"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("journal: %v, %v", fi, err)
	}
	if err := s.Save(New()); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Pending(); len(got) != 0 {
		t.Fatalf("Pending after a plain Save = %+v, want none", got)
	}
}

// A version-2 state.json (before out-of-office redirects) is read as it is, loses nothing, and
// is written as version 3 with the next change.
func TestReadVersion2(t *testing.T) {
	dir := t.TempDir()
	v2 := `{"version":2,"users":{"0003":{"id":3,"applied":"on","written":true,"owned":true,"session":{"entra_id":"e-3","availability":"DoNotDisturb","activity":"Presenting","expires":"2025-03-04T10:15:00Z"}},"0004":{"id":4,"applied":"off","failing_since":"2025-03-04T10:00:00Z"}},"graph_not_before":"2025-03-04T10:20:00Z"}`
	os.WriteFile(filepath.Join(dir, stateName), []byte(v2), 0o600)
	s := mustOpen(t, dir)
	st, err := s.Load()
	if err != nil {
		t.Fatal(err)
	}
	u := st.User("0003")
	if u == nil || !u.Owned() || u.Applied() != "on" || u.RedirectApplied() != "" || len(u.OwnedRedirects()) != 0 {
		t.Fatalf("0003 from version 2: %+v", u)
	}
	if s, ok := u.LiveSession(); !ok || s.EntraID != "e-3" {
		t.Errorf("session from version 2: %+v", s)
	}
	if st.User("0004").FailingSince().IsZero() || st.GraphNotBefore().IsZero() {
		t.Error("version 2 lost its failing_since or graph_not_before")
	}
	if st.Dirty() {
		t.Error("reading version 2 is no change: nothing to save")
	}
	u.RedirectSwitchedOn("r-1", json.RawMessage(`{"id":"r-1","enabled":false}`), json.RawMessage(`{"redirectDestinationType":"MAILBOX","mailboxId":"5"}`))
	if err := s.Save(st); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, stateName))
	st2, _, err := ReadOnly(dir)
	if err != nil || !strings.HasPrefix(string(raw), `{"version":3,`) {
		t.Fatalf("after the change: %v\n%s", err, raw)
	}
	r, ok := st2.User("0003").OwnedRedirect("r-1")
	if !ok || string(r.Before) != `{"id":"r-1","enabled":false}` || st2.User("0003").Applied() != "on" {
		t.Errorf("version 3 as read back: %+v %t\n%s", r, ok, raw)
	}
}
