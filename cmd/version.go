package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// version is set by -ldflags "-X github.com/teamsface/teamsface/cmd.version=..." in release builds;
// otherwise it comes from the module's build info (go install ...@v1.2.3).
var version = ""

// buildInfo returns the version, VCS commit and build (commit) time.
func buildInfo() (ver, commit, date string) {
	ver, commit, date = version, "unknown", "unknown"
	info, ok := debug.ReadBuildInfo()
	if !ok {
		if ver == "" {
			ver = "devel"
		}
		return ver, commit, date
	}
	if ver == "" {
		ver = info.Main.Version
		if ver == "" || ver == "(devel)" {
			ver = "devel"
		}
	}
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.time":
			date = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				commit += "-dirty"
			}
		}
	}
	return ver, commit, date
}

// userAgent is sent to both services.
func userAgent() string {
	v, _, _ := buildInfo()
	return "teamsface/" + v
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print teamsface's version, commit and build time",
		Long:    "Print the module version, the VCS commit and the commit time the binary was built from.",
		Example: "  teamsface version\n  teamsface version -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v, commit, date := buildInfo()
			if g.output == "json" {
				return printJSON(g.deps.Stdout, map[string]string{"version": v, "commit": commit, "date": date})
			}
			_, err := fmt.Fprintf(g.deps.Stdout, "teamsface %s (commit %s, built %s)\n", v, commit, date)
			return err
		},
	}
}
