package state

// CheckOwner passes every directory on Windows, which has no uid to compare: who may open a file
// is decided by its ACL, which Open makes private to the user running now, SYSTEM and
// Administrators (see restrictDir), and a file's owner does not keep any of them out.
func CheckOwner(string) error { return nil }

// fileOwner is not looked up on Windows, where a file's owner says little about who may open
// it (the ACL decides); the hint then names no owner.
func fileOwner(string) string { return "" }
