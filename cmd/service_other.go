//go:build !windows

package cmd

// serviceSupported says whether `teamsface service` works here.
const serviceSupported = false

// The commands never get this far elsewhere (PreRunE refuses them); these keep the build whole.

func installService(*globals, serviceOptions, []string) error { return errWindowsOnly() }
func uninstallService(*globals, serviceOptions) error         { return errWindowsOnly() }
func startService(*globals, serviceOptions) error             { return errWindowsOnly() }
func stopService(*globals, serviceOptions) error              { return errWindowsOnly() }
func runService(*globals, serviceOptions, []string) error     { return errWindowsOnly() }
