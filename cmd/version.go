package cmd

import (
	"fmt"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Release builds stamp these with -ldflags "-X github.com/teamsface/teamsface/cmd.version=1.2.3
// -X ...cmd.commit=... -X ...cmd.commitTime=..." (see .goreleaser.yaml); otherwise they come from
// the module's build info (go install ...@v1.2.3, or a build in a git checkout).
var (
	version    = ""
	commit     = ""
	commitTime = ""
)

// buildInfo returns the version, the VCS commit and the commit's time (not the build's: Go
// records the commit time, which makes builds reproducible).
func buildInfo() (ver, rev, revTime string) {
	ver, rev, revTime = version, commit, commitTime
	info, ok := debug.ReadBuildInfo()
	if ok {
		if ver == "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version
		}
		dirty := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if rev == "" {
					rev = s.Value
				}
			case "vcs.time":
				if revTime == "" {
					revTime = s.Value
				}
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if dirty && commit == "" && rev != "" {
			rev += "-dirty"
		}
	}
	if ver == "" {
		ver = "devel"
	}
	if rev == "" {
		rev = "unknown"
	}
	if revTime == "" {
		revTime = "unknown"
	}
	return ver, rev, revTime
}

// versionLine is what `teamsface version` and `teamsface --version` print.
func versionLine() string {
	v, rev, revTime := buildInfo()
	return fmt.Sprintf("teamsface %s (commit %s, committed %s)\n", v, rev, revTime)
}

// userAgent is sent to both services.
func userAgent() string {
	v, _, _ := buildInfo()
	return "teamsface/" + v
}

func newVersionCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "version",
		Short:   "Print teamsface's version, commit and commit time",
		Long:    "Print the module version, the VCS commit the binary was built from and that commit's time.\n\"teamsface --version\" prints the same line.",
		Example: "  teamsface version\n  teamsface version -o json",
		Args:    cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			v, rev, revTime := buildInfo()
			if g.output == "json" {
				return printJSON(g.deps.Stdout, map[string]string{"version": v, "commit": rev, "commit_time": revTime})
			}
			_, err := fmt.Fprint(g.deps.Stdout, versionLine())
			return err
		},
	}
}
