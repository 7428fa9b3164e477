package state

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

const asOtherUserEnv = "TEAMSFACE_STATE_OPEN_AS_OTHER_USER"

// helperOpenAsOtherUser runs in a child process of TestRunAsServiceUserGivesAHint (this test
// binary again, as another user, with asOtherUserEnv set): it opens and loads the state
// directory, and reads it without the lock, as sync once and presence get do.
func init() { helpers[asOtherUserEnv] = helperOpenAsOtherUser }

func helperOpenAsOtherUser(dir string) {
	s, err := Open(dir, 0)
	fmt.Println("open:", err)
	if err == nil {
		_, err = s.Load()
		fmt.Println("load:", err)
		s.Close()
	}
	_, _, err = ReadOnly(dir)
	fmt.Println("readonly:", err)
	os.Exit(0)
}

// A run by hand as root, before teamsface refused it, left root-owned files in the service's
// state directory, or made the directory itself; the service's next run failed with a bare
// "permission denied". It now names the file or directory, its owner and the fix.
func TestRunAsServiceUserGivesAHint(t *testing.T) {
	if runtime.GOOS != "linux" || os.Geteuid() != 0 {
		t.Skip("needs root on Linux to leave a root-owned file and run as another user")
	}
	const nobody = 65534
	other, err := user.LookupId(fmt.Sprint(nobody))
	if err != nil {
		t.Skipf("no user %d: %v", nobody, err)
	}
	// Outside t.TempDir, whose parent only root may enter.
	base, err := os.MkdirTemp("", "teamsface-perm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	// The test binary, where the other user may run it.
	exe := filepath.Join(base, "state.test")
	copyFile(t, os.Args[0], exe)

	tests := []struct {
		name string
		// rootLeft is the file root left in the service's directory; "" leaves the
		// directory itself root's.
		rootLeft string
		want     []string
	}{
		{"the lock", lockName, []string{
			"open: state: open lock file: ",
			"permission denied; {dir}/lock belongs to root, not to {user}, who runs teamsface now",
			"give the directory back as root with: chown -R {user} {dir})",
		}},
		{"the match", matchName, []string{
			"open: <nil>",
			"load: state: read match: open {dir}/match.json: permission denied; {dir}/match.json belongs to root, not to {user}",
			"readonly: state: read match: open {dir}/match.json: permission denied; {dir}/match.json belongs to root",
		}},
		{"the journal", journalName, []string{
			"open: <nil>",
			"load: <nil>",
			"readonly: state: read journal: open {dir}/journal: permission denied; {dir}/journal belongs to root",
		}},
		{"the directory", "", []string{
			"open: state directory {dir} belongs to root, not to {user} who runs teamsface now: " +
				"if it is {user}'s, give it back as root with chown -R {user} {dir}, or run teamsface as root",
			"readonly: state directory {dir} belongs to root, not to {user} who runs teamsface now",
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The service's directory, owned by its user; inside it the run by hand as root
			// left a file.
			dir := filepath.Join(base, fmt.Sprint("state", i))
			s, err := Open(dir, 0)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			if tt.rootLeft != "" {
				if err := os.WriteFile(filepath.Join(dir, tt.rootLeft), []byte("{}\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				chownAll(t, dir, nobody, tt.rootLeft)
			}

			cmd := exec.Command(exe, "-test.run=^$")
			cmd.Env = append(os.Environ(), asOtherUserEnv+"="+dir)
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("helper: %v\n%s", err, out)
			}
			got := string(out)
			r := strings.NewReplacer("{dir}", dir, "{user}", other.Username)
			for _, want := range tt.want {
				if want := r.Replace(want); !strings.Contains(got, want) {
					t.Errorf("as %s:\n%s\nlacks %q", other.Username, strings.TrimSpace(got), want)
				}
			}
		})
	}
}

// chownAll gives dir and everything in it to uid, except the file left, which stays root's.
func chownAll(t *testing.T, dir string, uid int, left string) {
	t.Helper()
	err := filepath.Walk(dir, func(path string, _ os.FileInfo, err error) error {
		if err != nil || filepath.Base(path) == left {
			return err
		}
		return os.Chown(path, uid, uid)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
