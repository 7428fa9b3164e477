//go:build !windows

package state

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
)

// What shellQuote makes of an argument is what a shell hands on: the fix an OwnerError shows can
// be pasted as it is.
func TestShellQuoteRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh to check the quoting with")
	}
	args := []string{"sync", "", "two words", "it's", `'"'`, "$HOME", "`id`", "~", "*", "a;b|c&d", "line\nbreak", `\`, "Zürich", "--x=$(id)"}
	// printf repeats its format for every argument: each comes back NUL-terminated.
	out, err := exec.Command(sh, "-c", `printf '%s\0' `+shellJoin(args)).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if !reflect.DeepEqual(got, args) {
		t.Errorf("sh made of %s:\n%q\nwant\n%q", shellJoin(args), got, args)
	}
}

func TestCheckOwnerPasses(t *testing.T) {
	base := t.TempDir()
	file := filepath.Join(base, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{
		base,                              // the user's own
		filepath.Join(base, "new"),        // created by Open, for the user running now
		filepath.Join(base, "new", "new"), // likewise, parents and all
		file,                              // not a directory: Open and ReadOnly say so themselves
	} {
		if err := CheckOwner(dir); err != nil {
			t.Errorf("CheckOwner(%s): %v", dir, err)
		}
	}
	// A directory that does not exist yet reads as a fresh state, and Open makes it the user's.
	dir := filepath.Join(base, "new", "new")
	if st, in, err := ReadOnly(dir); err != nil || st.Len() != 0 || len(in) != 0 {
		t.Fatalf("ReadOnly(%s) = %v, %v, %v", dir, st, in, err)
	}
	mustOpen(t, dir)
	if uid := ownerOf(t, dir); uid != os.Geteuid() {
		t.Errorf("Open made %s uid %d's, not uid %d's", dir, uid, os.Geteuid())
	}
}

// A run in a state directory another user owns refuses before it reads or changes anything.
// As root (by habit: sudo teamsface ...) in the service user's directory: no file is created,
// tightened or given to root. As any other user the test stands in for the service in a
// directory root made: "/", which it could not change anyway, so only the refusal is checked.
func TestRunInAnotherUsersDirectoryChangesNothing(t *testing.T) {
	if os.Geteuid() != 0 {
		fi, err := os.Stat("/")
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		if int(st.Uid) == os.Geteuid() {
			t.Fatalf("/ belongs to uid %d, who runs the test: no directory of another user to try", st.Uid)
		}
		euid := os.Geteuid()
		want := OwnerError{Dir: "/", UID: int(st.Uid), GID: int(st.Gid), Owner: userName(int(st.Uid)), EUID: euid, User: userName(euid)}
		checkRefusals(t, "/", want, "chown -R")
		return
	}
	const nobody = 65534
	tests := []struct {
		name  string
		mode  os.FileMode
		files []string
	}{
		{"empty", 0o700, nil},
		// The service's directory as it runs: 0755 would be tightened by Open, so an Open that
		// went on past the check would change the mode too.
		{"the service's files", 0o755, []string{stateName, matchName, journalName, "token-graph.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, name := range tt.files {
				if err := os.WriteFile(filepath.Join(dir, name), []byte("{}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				if err := os.Chown(filepath.Join(dir, name), nobody, nobody); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(dir, tt.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(dir, nobody, nobody); err != nil {
				t.Fatal(err)
			}
			before := ownership(t, dir)
			want := OwnerError{Dir: dir, UID: nobody, GID: nobody, Owner: userName(nobody), EUID: 0, User: "root"}
			fix := "sudo -u " + want.Owner + " teamsface ..."
			if want.Owner == "" {
				fix = "setpriv --reuid=65534"
			}
			checkRefusals(t, dir, want, fix)
			if after := ownership(t, dir); !reflect.DeepEqual(after, before) {
				t.Errorf("the refused runs changed the directory:\nbefore %+v\nafter  %+v", before, after)
			}
		})
	}
}

// checkRefusals holds Open, ReadOnly and CheckOwner in dir to the *OwnerError want, whose
// message names fix.
func checkRefusals(t *testing.T, dir string, want OwnerError, fix string) {
	t.Helper()
	s, oerr := Open(dir, 0)
	if s != nil {
		s.Close()
	}
	_, _, rerr := ReadOnly(dir)
	cerr := CheckOwner(dir)
	for what, err := range map[string]error{"Open": oerr, "ReadOnly": rerr, "CheckOwner": cerr} {
		var oe *OwnerError
		if !errors.As(err, &oe) {
			t.Errorf("%s as uid %d in uid %d's directory: %v, want an *OwnerError", what, want.EUID, want.UID, err)
			continue
		}
		if !reflect.DeepEqual(*oe, want) {
			t.Errorf("%s: %+v, want %+v", what, *oe, want)
		}
		if !strings.Contains(err.Error(), fix) {
			t.Errorf("%s: %v does not name the fix %q", what, err, fix)
		}
	}
}

// fileSnap is what a run may not change about a file of the state directory.
type fileSnap struct {
	UID, GID uint32
	Mode     os.FileMode
	Content  string
	MTime    int64
}

// ownership returns dir itself (".") and every file in it.
func ownership(t *testing.T, dir string) map[string]fileSnap {
	t.Helper()
	snap := map[string]fileSnap{}
	err := filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		st := fi.Sys().(*syscall.Stat_t)
		s := fileSnap{UID: st.Uid, GID: st.Gid, Mode: fi.Mode(), MTime: fi.ModTime().UnixNano()}
		if fi.Mode().IsRegular() {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			s.Content = string(data)
		}
		snap[rel] = s
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

func ownerOf(t *testing.T, path string) int {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return int(fi.Sys().(*syscall.Stat_t).Uid)
}
