// Command teamsface keeps Microsoft Teams presence and STARFACE Do-Not-Disturb in step.
package main

import (
	"context"
	"os"

	"github.com/teamsface/teamsface/cmd"
)

func main() {
	os.Exit(cmd.Execute(context.Background()))
}
