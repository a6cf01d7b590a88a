package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/mappingrules"
	"github.com/chainsts/chainsts/sts"
)

func init() { addCommand(newRuleCmd) }

type ruleTestFlags struct {
	config string
	stsuu  string
	expect string
}

func newRuleCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "rule", Short: "Work with JavaScript mapping rules"}
	f := &ruleTestFlags{}
	test := &cobra.Command{
		Use:   "test RULE --stsuu input.json|input.xml [--expect expected.json] [--config chainsts.yaml]",
		Short: "Run one mapping rule over an STSUU fixture and print (or check) the result",
		Long: `Run one mapping rule over a universal user (STSUU) read from a file (JSON,
or ISAM's XML) and print the resulting STSUU as JSON on stdout.

RULE is the name of a rule of the configuration's rules section (with
--config; LocalSTSClient calls then run the configuration's chains), or a
.js file (its directory is the rule directory, so importMappingRule finds
its neighbours; the cache is in memory).

With --expect, the result is compared with an expected STSUU (JSON or XML):
a difference is printed and the exit status is 1. IDMappingExtUtils.traceString
output appears with --log-level debug.`,
		Example: `  chainsts rule test examples/quickstart/rules/jwt_exchange.js --stsuu claims.json
  chainsts rule test jwt_exchange --config examples/quickstart/chainsts.yaml \
    --stsuu claims.json --expect expected.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return ruleTest(cmd, args[0], f) },
	}
	fl := test.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "configuration whose rules section holds RULE")
	fl.StringVar(&f.stsuu, "stsuu", "", "input STSUU file, JSON or XML (required; - for stdin)")
	fl.StringVar(&f.expect, "expect", "", "expected STSUU file, JSON or XML")
	_ = test.MarkFlagRequired("stsuu")
	cmd.AddCommand(test)
	return cmd
}

func readSTSUU(cmd *cobra.Command, path string) (*sts.STSUU, error) {
	var data []byte
	var err error
	if path == "-" {
		var b bytes.Buffer
		_, err = b.ReadFrom(cmd.InOrStdin())
		data = b.Bytes()
	} else {
		data, err = os.ReadFile(path)
	}
	if err != nil {
		return nil, err
	}
	var u *sts.STSUU
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '<' {
		u, err = sts.ParseXML(data)
	} else {
		u, err = sts.ParseJSON(data)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return u, nil
}

func ruleTest(cmd *cobra.Command, name string, f *ruleTestFlags) error {
	u, err := readSTSUU(cmd, f.stsuu)
	if err != nil {
		return err
	}
	var want *sts.STSUU
	if f.expect != "" {
		if want, err = readSTSUU(cmd, f.expect); err != nil {
			return err
		}
	}
	log := newLogger(cmd, f.config, "warn")
	call := &sts.Call{Request: &sts.Request{ID: "rule-test", Type: sts.RequestValidate}, User: u, Chain: "rule-test", Step: "map", Logger: log}
	var rule *mappingrules.Rule
	if f.config != "" {
		rt, err := loadRuntime(cmd, f.config)
		if err != nil {
			return err
		}
		defer rt.Close()
		a, err := rt.App("rules")
		if err != nil {
			return err
		}
		app, ok := a.(*mappingrules.App)
		if !ok {
			return fmt.Errorf("the rules app is %T", a)
		}
		if rule, err = app.Set().Rule(name); err != nil {
			return err
		}
		call.Runner = rt
	} else {
		if !strings.HasSuffix(name, ".js") {
			return fmt.Errorf("rule %q: give a .js file, or --config with a rules section", name)
		}
		abs, err := filepath.Abs(name)
		if err != nil {
			return err
		}
		// The rule's whole directory is loaded (for importMappingRule);
		// a missing file would otherwise read as an unknown rule name.
		if _, err := os.Stat(abs); err != nil {
			return fmt.Errorf("rule file: %w", err)
		}
		set, err := mappingrules.NewRuleSet(mappingrules.Config{Dir: filepath.Dir(abs)}, "", mappingrules.NewMemoryCache(), log)
		if err != nil {
			return err
		}
		defer set.Close()
		if rule, err = set.Rule(strings.TrimSuffix(filepath.Base(abs), ".js")); err != nil {
			return err
		}
	}
	res, err := rule.Evaluate(cmd.Context(), mappingrules.Input{User: u, Call: call, Logger: log})
	if err != nil {
		var exc *mappingrules.STSException
		if errors.As(err, &exc) {
			fmt.Fprintf(cmd.ErrOrStderr(), "%v\n(the chain would fail with %s: %s)\n", err, exc.Err.Code, exc.Err.Description)
			return exitCode(1)
		}
		return err
	}
	got := indentJSON(u.JSON())
	if res.Token != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "the rule set the output token (%s, %d bytes)\n", res.Token.Type, len(res.Token.Data))
	}
	if want == nil {
		fmt.Fprintln(cmd.OutOrStdout(), got)
		return nil
	}
	if u.Equal(want) {
		fmt.Fprintln(cmd.OutOrStdout(), "ok: the result matches", f.expect)
		return nil
	}
	diff := cmp.Diff(strings.Split(indentJSON(want.JSON()), "\n"), strings.Split(got, "\n"))
	fmt.Fprintf(cmd.OutOrStdout(), "the result differs from %s (-expected +got):\n%s", f.expect, diff)
	return exitCode(1)
}

func indentJSON(b []byte) string {
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return string(b)
	}
	return out.String()
}
