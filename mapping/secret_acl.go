package mapping

// This file holds the part of the Windows secret-file check that is plain
// data, so that it is tested on every OS; secret_windows.go reads the real
// DACL into aclEntry values.

// Access-mask bits that let someone read a file's content or change it (or
// its permissions). The values are Windows' (winnt.h); they are repeated
// here because golang.org/x/sys/windows only builds on Windows.
const (
	aclFileReadData   = 0x00000001
	aclFileWriteData  = 0x00000002
	aclFileAppendData = 0x00000004
	aclWriteDAC       = 0x00040000
	aclWriteOwner     = 0x00080000
	aclGenericAll     = 0x10000000
	aclGenericWrite   = 0x40000000
	aclGenericRead    = 0x80000000

	aclReadBits  = aclFileReadData | aclGenericRead | aclGenericAll
	aclWriteBits = aclFileWriteData | aclFileAppendData | aclWriteDAC | aclWriteOwner | aclGenericWrite | aclGenericAll
)

// broadSIDs are the well-known groups that stand for "everybody on this
// machine or domain" — the Windows counterpart of Unix's group and others.
var broadSIDs = map[string]string{
	"S-1-1-0":      "Everyone",
	"S-1-5-7":      "ANONYMOUS LOGON",
	"S-1-5-11":     "Authenticated Users",
	"S-1-5-32-545": `BUILTIN\Users`,
	"S-1-5-32-546": `BUILTIN\Guests`,
}

// aclEntry is one access control entry of a DACL, reduced to what the check
// needs.
type aclEntry struct {
	Deny        bool   // ACCESS_DENIED_ACE_TYPE; otherwise an allow ACE
	SID         string // string form, e.g. S-1-5-32-545
	Mask        uint32
	InheritOnly bool // applies only to children, not to the file itself
}

// broadAccess reports the first broad group the entries let read or write
// the file ("read" or "write" as access), or "" when there is none. Entries
// are taken in DACL order, as Windows evaluates them: a deny ACE for the
// group (or for Everyone) before an allow ACE takes those bits away.
func broadAccess(entries []aclEntry) (group, access string) {
	denied := map[string]uint32{}
	for _, e := range entries {
		if e.InheritOnly {
			continue
		}
		if e.Deny {
			denied[e.SID] |= e.Mask
			continue
		}
		name, broad := broadSIDs[e.SID]
		if !broad {
			continue
		}
		m := e.Mask &^ (denied[e.SID] | denied["S-1-1-0"])
		switch {
		case m&aclReadBits != 0:
			return name, "read"
		case m&aclWriteBits != 0:
			return name, "write"
		}
	}
	return "", ""
}
