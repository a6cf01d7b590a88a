package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/chains"
)

func init() { addCommand(newCheckCmd) }

func newCheckCmd() *cobra.Command {
	var configPath string
	var strict bool
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Load and provision a configuration and report its problems",
		Long: `Load and provision a configuration exactly as serve would (modules,
rules, keys, clients), then release it. Every problem is printed as
"file:line:col: severity: message (path)"; chains that can never be selected
are reported as warnings. The exit status is 1 when there are errors (or
warnings, with --strict).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := newLogger(cmd, configPath, "warn")
			problems := chains.Check(cmd.Context(), configPath, chains.Options{Logger: log})
			errs, warns := 0, 0
			for _, p := range problems {
				fmt.Fprintln(cmd.OutOrStdout(), p.String())
				if p.Severity == chains.SeverityError {
					errs++
				} else {
					warns++
				}
			}
			if errs == 0 && warns == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s: ok\n", configPath)
				return nil
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s: %d error(s), %d warning(s)\n", configPath, errs, warns)
			if errs > 0 || (strict && warns > 0) {
				return exitCode(1)
			}
			return nil
		},
	}
	addConfigFlag(cmd, &configPath)
	cmd.Flags().BoolVar(&strict, "strict", false, "treat warnings as errors")
	return cmd
}
