// Adding a subcommand from another file of this package (keys.go,
// rule.go, token.go...): write a constructor and register it in init.
//
//	func init() { addCommand(newKeysCmd) }
//
//	func newKeysCmd() *cobra.Command {
//		var configPath string
//		cmd := &cobra.Command{Use: "keys", Short: "..."}
//		gen := &cobra.Command{Use: "generate", RunE: func(cmd *cobra.Command, args []string) error {
//			rt, err := loadRuntime(cmd, configPath) // full load, problems printed
//			if err != nil {
//				return err
//			}
//			defer rt.Close()
//			...
//			fmt.Fprintln(cmd.OutOrStdout(), ...)
//			return nil
//		}}
//		addConfigFlag(gen, &configPath)
//		cmd.AddCommand(gen)
//		return cmd
//	}
//
// Constructors are called for every execution (tests run the CLI many times
// in one process), so keep flag variables local to them. Write output with
// cmd.OutOrStdout() / cmd.ErrOrStderr() and read input with cmd.InOrStdin().
// Return exitCode(n) to exit with status n without an extra message; any
// other error is printed as "chainsts: <error>" with status 1. newLogger
// builds the process logger (the config's logging section, the --log-level
// and --log-format flags).

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/server"
)

// commandConstructors are the subcommands, registered with addCommand.
var commandConstructors []func() *cobra.Command

// addCommand registers a subcommand constructor; call it from init.
func addCommand(newCmd func() *cobra.Command) {
	commandConstructors = append(commandConstructors, newCmd)
}

// globalFlags are the root command's persistent flags.
type globalFlags struct {
	logLevel  string
	logFormat string
}

type flagsKey struct{}

// newRootCmd builds the whole command tree.
func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "chainsts",
		Short: "chainsts is a Security Token Service: it validates one token and issues another through chains of modules",
		Long: `chainsts is a Security Token Service. It validates one security token and
issues another through configurable chains of modules (validate, map,
issue), with mapping rules shaping identities between them.

Start with: chainsts serve --config examples/quickstart/chainsts.yaml`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			cmd.SetContext(context.WithValue(cmd.Context(), flagsKey{}, g))
		},
	}
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "", "log level: trace, debug, info, warn, error (default: the config's logging.level)")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "", "log format: text or json (default: the config's logging.format)")
	cmds := make([]*cobra.Command, 0, len(commandConstructors))
	for _, c := range commandConstructors {
		cmds = append(cmds, c())
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name() < cmds[j].Name() })
	root.AddCommand(cmds...)
	return root
}

// exitCode is an error that only sets the exit status; whatever needed
// saying was printed already.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// execute runs the CLI with the arguments and streams and returns the exit
// status.
func execute(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	fmt.Fprintf(stderr, "chainsts: %v\n", err)
	return 1
}

// addConfigFlag adds the required --config (-c) flag.
func addConfigFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "config", "c", "", "configuration file, or directory of *.yaml files (required)")
	_ = cmd.MarkFlagRequired("config")
}

// newLogger builds the process logger: the logging section of the
// configuration at configPath (when not empty), overridden by --log-level
// and --log-format; defaultLevel applies when neither sets a level (the
// one-shot commands keep stderr quiet with "warn").
func newLogger(cmd *cobra.Command, configPath, defaultLevel string) hclog.Logger {
	l := &server.Logging{Level: "info", Format: "text"}
	if configPath != "" {
		l = server.ReadLogging(configPath)
	}
	if defaultLevel != "" {
		l.Level = defaultLevel
	}
	if g, ok := cmd.Context().Value(flagsKey{}).(*globalFlags); ok {
		if g.logLevel != "" {
			l.Level = g.logLevel
		}
		if g.logFormat != "" {
			l.Format = g.logFormat
		}
	}
	return server.NewLogger(l, cmd.ErrOrStderr())
}

// loadRuntime loads and provisions the configuration for a one-shot
// command, printing every problem on stderr when it fails.
func loadRuntime(cmd *cobra.Command, configPath string) (*chains.Runtime, error) {
	log := newLogger(cmd, configPath, "warn")
	rt, err := chains.Load(cmd.Context(), configPath, chains.Options{Logger: log})
	if err != nil {
		return nil, reportConfigErrors(cmd.ErrOrStderr(), err)
	}
	return rt, nil
}

// reportConfigErrors prints a *chains.ConfigErrors problem by problem and
// returns exitCode(1); other errors are returned as they are.
func reportConfigErrors(w io.Writer, err error) error {
	var ce *chains.ConfigErrors
	if !errors.As(err, &ce) {
		return err
	}
	for _, p := range ce.Problems {
		fmt.Fprintln(w, p.String())
	}
	return exitCode(1)
}
