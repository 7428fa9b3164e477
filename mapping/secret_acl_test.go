package mapping

import "testing"

func TestBroadAccess(t *testing.T) {
	const (
		everyone = "S-1-1-0"
		authUser = "S-1-5-11"
		users    = "S-1-5-32-545"
		system   = "S-1-5-18"
		admins   = "S-1-5-32-544"
		alice    = "S-1-5-21-1004336348-1177238915-682003330-1001"
		fullCtl  = 0x001F01FF // FILE_ALL_ACCESS
		readExec = 0x001200A9 // what "Users: (RX)" inherits from C:\ProgramData
	)
	for _, tc := range []struct {
		name          string
		entries       []aclEntry
		group, access string
	}{
		{"only owner, system, admins", []aclEntry{{SID: alice, Mask: fullCtl}, {SID: system, Mask: fullCtl}, {SID: admins, Mask: fullCtl}}, "", ""},
		{"users inherit read", []aclEntry{{SID: alice, Mask: fullCtl}, {SID: users, Mask: readExec}}, `BUILTIN\Users`, "read"},
		{"everyone generic read", []aclEntry{{SID: everyone, Mask: aclGenericRead}}, "Everyone", "read"},
		{"authenticated users generic all", []aclEntry{{SID: authUser, Mask: aclGenericAll}}, "Authenticated Users", "read"},
		{"users may append only", []aclEntry{{SID: users, Mask: aclFileAppendData}}, `BUILTIN\Users`, "write"},
		{"users may change the acl", []aclEntry{{SID: users, Mask: aclWriteDAC}}, `BUILTIN\Users`, "write"},
		{"users read attributes only", []aclEntry{{SID: users, Mask: 0x00100080}}, "", ""}, // SYNCHRONIZE|FILE_READ_ATTRIBUTES
		{"deny before allow wins", []aclEntry{{Deny: true, SID: users, Mask: fullCtl}, {SID: users, Mask: readExec}}, "", ""},
		{"deny everyone covers users", []aclEntry{{Deny: true, SID: everyone, Mask: aclFileReadData}, {SID: users, Mask: aclFileReadData}}, "", ""},
		{"deny after allow does not", []aclEntry{{SID: users, Mask: readExec}, {Deny: true, SID: users, Mask: fullCtl}}, `BUILTIN\Users`, "read"},
		{"inherit-only ignored", []aclEntry{{SID: everyone, Mask: fullCtl, InheritOnly: true}}, "", ""},
	} {
		g, a := broadAccess(tc.entries)
		if g != tc.group || a != tc.access {
			t.Errorf("%s: got %q %q, want %q %q", tc.name, g, a, tc.group, tc.access)
		}
	}
}
