//go:build unix

package cmd

import (
	"os"
	"syscall"
)

// hangup is the signal that makes sync watch re-read its configuration, as daemons do.
var hangup os.Signal = syscall.SIGHUP
