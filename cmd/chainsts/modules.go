package main

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/sts"
)

func init() { addCommand(newListModulesCmd) }

func newListModulesCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "list-modules",
		Short: "List the module types built into this binary, with their modes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tMODES\tDESCRIPTION")
			for _, mi := range sts.Modules() {
				modes := make([]string, 0, 5)
				for _, m := range mi.Modes() {
					modes = append(modes, string(m))
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", mi.Name, strings.Join(modes, ","), mi.Description)
			}
			return tw.Flush()
		},
	}
}
