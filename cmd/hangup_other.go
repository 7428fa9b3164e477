//go:build !unix

package cmd

import "os"

// hangup is nil where there is no SIGHUP (Windows): sync watch there re-reads its
// configuration only when restarted.
var hangup os.Signal
