//go:build windows

package state

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/teamsface/teamsface/internal/atomicfile"
)

func TestPrepareDirRestrictsBroadACL(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	// Open the directory to BUILTIN\Users, as C:\ProgramData does.
	users, err := windows.CreateWellKnownSid(windows.WinBuiltinUsersSid)
	if err != nil {
		t.Fatal(err)
	}
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{AccessPermissions: windows.GENERIC_READ,
		AccessMode: windows.GRANT_ACCESS, Inheritance: windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
		Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(users)}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		t.Fatal(err)
	}
	if open, err := grantsBroadGroup(dir); err != nil || !open {
		t.Fatalf("setup: grantsBroadGroup = %v, %v", open, err)
	}
	if err := prepareDir(dir); err != nil {
		t.Fatal(err)
	}
	if open, err := grantsBroadGroup(dir); err != nil || open {
		t.Fatalf("after prepareDir: grantsBroadGroup = %v, %v", open, err)
	}
	f := filepath.Join(dir, "state.json")
	if err := atomicfile.WriteFile(f, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if open, err := grantsBroadGroup(f); err != nil || open {
		t.Fatalf("file in the directory: grantsBroadGroup = %v, %v", open, err)
	}
}
