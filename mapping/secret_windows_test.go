//go:build windows

package mapping

import (
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// setDACL replaces path's DACL with a protected one granting access to the
// given well-known SIDs (besides the current user's full control).
func setDACL(t *testing.T, path string, grants map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK) {
	t.Helper()
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		t.Fatal(err)
	}
	entries := []windows.EXPLICIT_ACCESS{{AccessPermissions: windows.GENERIC_ALL, AccessMode: windows.SET_ACCESS,
		Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(user.User.Sid)}}}
	for wk, mask := range grants {
		sid, err := windows.CreateWellKnownSid(wk)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, windows.EXPLICIT_ACCESS{AccessPermissions: mask, AccessMode: windows.GRANT_ACCESS,
			Trustee: windows.TRUSTEE{TrusteeForm: windows.TRUSTEE_IS_SID, TrusteeValue: windows.TrusteeValueFromSID(sid)}})
	}
	acl, err := windows.ACLFromEntries(entries, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		t.Fatal(err)
	}
}

func TestReadSecretFileWindowsACL(t *testing.T) {
	for _, tc := range []struct {
		name   string
		grants map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK
		want   string // "" means accepted
	}{
		{"owner only", nil, ""},
		{"system and admins", map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK{
			windows.WinLocalSystemSid: windows.GENERIC_ALL, windows.WinBuiltinAdministratorsSid: windows.GENERIC_ALL}, ""},
		{"users read", map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK{windows.WinBuiltinUsersSid: windows.GENERIC_READ}, `BUILTIN\Users read`},
		{"everyone read data", map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK{windows.WinWorldSid: windows.FILE_READ_DATA}, "Everyone read"},
		{"authenticated users write", map[windows.WELL_KNOWN_SID_TYPE]windows.ACCESS_MASK{windows.WinAuthenticatedUserSid: windows.FILE_WRITE_DATA}, "Authenticated Users write"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := writeSecret(t, "do-not-print-me\n", 0o600)
			setDACL(t, p, tc.grants)
			got, err := ReadSecret(p, "", "microsoft.client_secret_env")
			if tc.want == "" {
				if err != nil || got != "do-not-print-me" {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted a file that grants %s", tc.want)
			}
			msg := err.Error()
			for _, w := range []string{p, tc.want, "icacls"} {
				if !strings.Contains(msg, w) {
					t.Errorf("%q lacks %q", msg, w)
				}
			}
			if strings.Contains(msg, "do-not-print-me") {
				t.Errorf("secret leaked into %q", msg)
			}
		})
	}
}
