package state

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// broadSIDs are the well-known groups that stand for everybody: the Windows
// counterpart of Unix's group and others.
var broadSIDs = []windows.WELL_KNOWN_SID_TYPE{
	windows.WinWorldSid, windows.WinAnonymousSid, windows.WinAuthenticatedUserSid,
	windows.WinBuiltinUsersSid, windows.WinBuiltinGuestsSid,
}

// restrictDir makes the state directory private when its DACL lets a broad
// group (Everyone, Authenticated Users, BUILTIN\Users, ...) in — typically a
// --state-dir under C:\ProgramData, which grants Users read. It then sets a
// protected DACL (nothing inherited from the parent) that gives full control
// to the current user, SYSTEM and Administrators only, inheritable by files
// and subdirectories, so state.json, the lock and the token caches created
// in it later are private too. SetNamedSecurityInfo also propagates it to
// files already there. A directory under %LOCALAPPDATA% is already private
// and is left as it is, like a 0700 directory on Unix.
func restrictDir(dir string, _ os.FileInfo) error {
	open, err := grantsBroadGroup(dir)
	if err != nil {
		return fmt.Errorf("state: state directory %s: read permissions: %w", dir, err)
	}
	if !open {
		return nil
	}
	acl, err := privateDACL()
	if err != nil {
		return fmt.Errorf("state: state directory %s: build private ACL: %w", dir, err)
	}
	if err := windows.SetNamedSecurityInfo(dir, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION, nil, nil, acl, nil); err != nil {
		return fmt.Errorf("state: state directory %s is open to other users and cannot be restricted: %w", dir, err)
	}
	return nil
}

// grantsBroadGroup says whether an allow ACE of path's DACL that applies to
// path itself names a broad group, or whether there is no DACL at all
// (which allows everyone everything).
func grantsBroadGroup(path string) (bool, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT, windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return false, err
	}
	dacl, _, err := sd.DACL()
	if err == windows.ERROR_OBJECT_NOT_FOUND || (err == nil && dacl == nil) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return false, err
		}
		if ace.Header.AceType != windows.ACCESS_ALLOWED_ACE_TYPE || ace.Header.AceFlags&windows.INHERIT_ONLY_ACE != 0 {
			continue
		}
		sid := (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		for _, t := range broadSIDs {
			if sid.IsWellKnown(t) {
				return true, nil
			}
		}
	}
	return false, nil
}

// privateDACL grants full control to the current user, SYSTEM and
// Administrators, inherited by everything created below.
func privateDACL() (*windows.ACL, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, fmt.Errorf("current user: %w", err)
	}
	sids := []*windows.SID{user.User.Sid}
	for _, t := range []windows.WELL_KNOWN_SID_TYPE{windows.WinLocalSystemSid, windows.WinBuiltinAdministratorsSid} {
		sid, err := windows.CreateWellKnownSid(t)
		if err != nil {
			return nil, err
		}
		sids = append(sids, sid)
	}
	entries := make([]windows.EXPLICIT_ACCESS, len(sids))
	for i, sid := range sids {
		entries[i] = windows.EXPLICIT_ACCESS{
			AccessPermissions: windows.GENERIC_ALL,
			AccessMode:        windows.SET_ACCESS,
			Inheritance:       windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
			Trustee: windows.TRUSTEE{
				TrusteeForm:  windows.TRUSTEE_IS_SID,
				TrusteeType:  windows.TRUSTEE_IS_UNKNOWN,
				TrusteeValue: windows.TrusteeValueFromSID(sid),
			},
		}
	}
	return windows.ACLFromEntries(entries, nil)
}
