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

// helperOpenAsOtherUser runs in a child process of TestRootOwnedLockGivesAHint (this test
// binary again, as another user, with asOtherUserEnv set): it opens the state directory.
func init() { helpers[asOtherUserEnv] = helperOpenAsOtherUser }

func helperOpenAsOtherUser(dir string) {
	_, err := Open(dir, 0)
	fmt.Println("error:", err)
	os.Exit(0)
}

// A run by hand as root leaves a root-owned lock file in the service's state directory; the
// service's next run failed with a bare "permission denied". Open now names the file, its owner
// and the fix.
func TestRootOwnedLockGivesAHint(t *testing.T) {
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
	// The service's directory, owned by its user; inside it the run by hand as root left its lock.
	dir := filepath.Join(base, "state")
	s, err := Open(dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	// The test binary, where the other user may run it.
	exe := filepath.Join(base, "state.test")
	copyFile(t, os.Args[0], exe)

	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), asOtherUserEnv+"="+dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	got := string(out)
	for _, want := range []string{
		"permission denied",
		filepath.Join(dir, "lock") + " belongs to root",
		"not to " + other.Username,
		"sudo chown -R " + other.Username + " " + dir,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Open as %s: %q lacks %q", other.Username, strings.TrimSpace(got), want)
		}
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
