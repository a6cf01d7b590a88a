package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Set with -ldflags "-X main.version=... -X main.commit=..." by the
// Makefile; the build information fills them in otherwise.
var (
	version = ""
	commit  = ""
)

func init() { addCommand(newVersionCmd) }

// buildVersion returns the version and commit, from the linker flags or
// the module build information (go install, go build with VCS stamping).
func buildVersion() (v, c string) {
	v, c = version, commit
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return orDefault(v, "dev"), orDefault(c, "unknown")
	}
	if v == "" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	if c == "" {
		modified := false
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				c = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if c != "" && modified {
			c += "-dirty"
		}
	}
	return orDefault(v, "dev"), orDefault(c, "unknown")
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, commit and Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v, c := buildVersion()
			fmt.Fprintf(cmd.OutOrStdout(), "chainsts %s\ncommit    %s\ngo        %s %s/%s\n", v, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return nil
		},
	}
}
