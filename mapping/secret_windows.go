//go:build windows

package mapping

import (
	"errors"
	"fmt"
	"io/fs"
	"unsafe"

	"golang.org/x/sys/windows"
)

// checkSecretMode refuses a secret file whose DACL lets a broad group
// (Everyone, Authenticated Users, BUILTIN\Users, ...) read or change it —
// the Windows counterpart of the Unix check for group and other bits. Go's
// file mode on Windows only reflects the read-only attribute, so the ACL is
// read with GetNamedSecurityInfo and its ACEs are walked with GetAce.
// Administrators, SYSTEM and named accounts may hold access: they are who a
// Windows service runs as. A file in C:\ProgramData typically fails this,
// because it inherits "Users: read" from there.
func checkSecretMode(file string, _ fs.FileInfo) error {
	fix := fmt.Sprintf(`run icacls "%s" /inheritance:r /grant:r "%%USERNAME%%:R" (grant the account teamsface runs as)`, file)
	sd, err := windows.GetNamedSecurityInfo(file, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return fmt.Errorf("cannot read the secret file's permissions: %w", err)
	}
	dacl, _, err := sd.DACL()
	if errors.Is(err, windows.ERROR_OBJECT_NOT_FOUND) || (err == nil && dacl == nil) {
		// No DACL, or a NULL one, grants everyone full access.
		return fmt.Errorf("secret file has no access control list, so everyone can read it; %s", fix)
	}
	if err != nil {
		return fmt.Errorf("cannot read the secret file's permissions: %w", err)
	}
	entries, err := daclEntries(dacl)
	if err != nil {
		return fmt.Errorf("cannot read the secret file's permissions: %w", err)
	}
	if group, access := broadAccess(entries); group != "" {
		return fmt.Errorf("secret file grants %s %s access; %s", group, access, fix)
	}
	return nil
}

// daclEntries converts the allow and deny ACEs of dacl; other ACE types
// (audit, object ACEs) do not grant access to a file and are skipped.
func daclEntries(dacl *windows.ACL) ([]aclEntry, error) {
	out := make([]aclEntry, 0, dacl.AceCount)
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, fmt.Errorf("ace %d: %w", i, err)
		}
		t := ace.Header.AceType
		if t != windows.ACCESS_ALLOWED_ACE_TYPE && t != windows.ACCESS_DENIED_ACE_TYPE {
			continue
		}
		// The SID starts at SidStart: the ACE is a variable-length structure.
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		out = append(out, aclEntry{
			Deny:        t == windows.ACCESS_DENIED_ACE_TYPE,
			SID:         sid.String(),
			Mask:        uint32(ace.Mask),
			InheritOnly: ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0,
		})
	}
	return out, nil
}
