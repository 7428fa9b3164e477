package state

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/user"
)

// PermissionError is a state directory or file the user running teamsface may not use. The usual
// cause is a run by hand as root (sudo teamsface sync once) in the service's state directory by a
// teamsface from before such runs were refused (see OwnerError): it left root-owned files the
// service's user cannot open. Error names the file, its owner and the command that fixes it.
type PermissionError struct {
	Dir   string // the state directory
	Path  string // the file or directory refused
	Owner string // Path's owner ("root", or a uid); "" when unknown
	User  string // who runs teamsface now; "" when unknown
	Err   error
}

func (e *PermissionError) Error() string {
	msg := e.Err.Error()
	if e.Owner != "" {
		msg += fmt.Sprintf("; %s belongs to %s", e.Path, e.Owner)
		if e.User != "" && e.User != e.Owner {
			msg += fmt.Sprintf(", not to %s, who runs teamsface now", e.User)
		}
	}
	who := "<user>"
	if e.User != "" {
		who = shellQuote(e.User)
	}
	// Without sudo: Debian installs none by default, and whoever can chown is root already.
	return msg + fmt.Sprintf(" (a run by hand as another user, e.g. with sudo, leaves such files; give the directory back as root with: chown -R %s %s)",
		who, shellQuote(e.Dir))
}

func (e *PermissionError) Unwrap() error { return e.Err }

// permissionHint turns a permission error about path, inside or being the state directory dir,
// into a *PermissionError; other errors are returned as they are.
func permissionHint(dir, path string, err error) error {
	if !errors.Is(err, fs.ErrPermission) {
		return err
	}
	e := &PermissionError{Dir: dir, Path: path, Err: err}
	if _, serr := os.Lstat(path); serr != nil {
		e.Path = dir // not there (yet): the directory it is to be created in refused
	}
	e.Owner = fileOwner(e.Path)
	if u, uerr := user.Current(); uerr == nil {
		e.User = u.Username
	}
	return e
}
