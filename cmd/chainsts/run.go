package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/sts"
)

func init() { addCommand(newRunCmd) }

type runFlags struct {
	config      string
	requestType string
	issuer      string
	appliesTo   string
	tokenType   string
	tokenFile   string
	clientID    string
	scope       string
	audiences   []string
	claims      []string
	trace       bool
}

func newRunCmd() *cobra.Command {
	f := &runFlags{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the chain a request selects, in process, on a token from a file or stdin",
		Long: `Run the chain a request selects, in process, and print the issued token
on stdout. With --trace, the per-step trace (module, mode, duration, what
changed) and the universal user (STSUU) after each step go to stderr.

Claims: --claim name=value sets a string, --claim name:=JSON a JSON value
(--claim 'exp:=3600', --claim 'roles:=["a","b"]').`,
		Example: `  chainsts run --config examples/quickstart/chainsts.yaml \
    --request-type validate --issuer http://issuer/stsuu --applies-to http://appliesto/stsuu \
    --token-file examples/quickstart/tokens/alice.stsuu.xml --trace`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runChain(cmd, f) },
	}
	addConfigFlag(cmd, &f.config)
	fl := cmd.Flags()
	fl.StringVar(&f.requestType, "request-type", "", "request type: issue, validate, exchange... or a WS-Trust URI (required)")
	fl.StringVar(&f.issuer, "issuer", "", "issuer address")
	fl.StringVar(&f.appliesTo, "applies-to", "", "applies-to address")
	fl.StringVar(&f.tokenType, "token-type", "", "input token type URI")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the input token, - for stdin")
	fl.StringVar(&f.clientID, "client-id", "", "client id to run as (for chains that look up by client)")
	fl.StringVar(&f.scope, "scope", "", "requested scope (space separated)")
	fl.StringArrayVar(&f.audiences, "audience", nil, "requested audience (repeatable)")
	fl.StringArrayVar(&f.claims, "claim", nil, "request claim name=value or name:=JSON (repeatable)")
	fl.BoolVar(&f.trace, "trace", false, "print the per-step trace and the STSUU after each step on stderr")
	_ = cmd.MarkFlagRequired("request-type")
	return cmd
}

func runChain(cmd *cobra.Command, f *runFlags) error {
	req := &sts.Request{
		ID:        "cli",
		Type:      sts.NormalizeRequestType(f.requestType),
		Issuer:    f.issuer,
		AppliesTo: f.appliesTo,
		TokenType: f.tokenType,
		ClientID:  f.clientID,
		Scopes:    strings.Fields(f.scope),
		Audiences: f.audiences,
		Trace:     f.trace,
	}
	claims, err := parseClaims(f.claims)
	if err != nil {
		return err
	}
	req.Claims = claims
	if f.tokenFile != "" {
		data, err := readTokenFile(cmd.InOrStdin(), f.tokenFile)
		if err != nil {
			return err
		}
		req.Base = &sts.Token{Type: f.tokenType, Data: data}
	}
	rt, err := loadRuntime(cmd, f.config)
	if err != nil {
		return err
	}
	defer rt.Close()

	resp, runErr := rt.Run(cmd.Context(), req)
	if f.trace && resp != nil {
		printTrace(cmd.ErrOrStderr(), resp)
	}
	if runErr != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "chainsts: %v\n", runErr)
		return exitCode(1)
	}
	if resp.Token == nil {
		return fmt.Errorf("chain %q issued no token", resp.Chain)
	}
	out := cmd.OutOrStdout()
	if _, err := out.Write(resp.Token.Data); err != nil {
		return err
	}
	if !bytes.HasSuffix(resp.Token.Data, []byte("\n")) {
		fmt.Fprintln(out)
	}
	return nil
}

// readTokenFile reads the input token; one trailing newline (as editors
// and shells add) is not part of a token.
func readTokenFile(stdin io.Reader, name string) ([]byte, error) {
	var data []byte
	var err error
	if name == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, 16<<20))
	} else {
		data, err = os.ReadFile(name)
	}
	if err != nil {
		return nil, fmt.Errorf("reading the token: %w", err)
	}
	data = bytes.TrimSuffix(data, []byte("\n"))
	return bytes.TrimSuffix(data, []byte("\r")), nil
}

// parseClaims reads --claim name=value (a string) and name:=JSON (any JSON
// value, numbers kept exact).
func parseClaims(in []string) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(in))
	for _, c := range in {
		i := strings.Index(c, "=")
		if i <= 0 {
			return nil, fmt.Errorf("--claim %q: write name=value or name:=JSON", c)
		}
		name, val := c[:i], c[i+1:]
		if strings.HasSuffix(name, ":") {
			name = strings.TrimSuffix(name, ":")
			v, err := sts.ParseJSONValue([]byte(val))
			if err != nil {
				return nil, fmt.Errorf("--claim %s: %q is not JSON: %v", name, val, err)
			}
			out[name] = v
			continue
		}
		out[name] = val
	}
	return out, nil
}

func printTrace(w io.Writer, resp *sts.Response) {
	fmt.Fprintf(w, "chain %s\n", resp.Chain)
	for i, t := range resp.Trace {
		fmt.Fprintf(w, "step %d/%d %s (%s %s) %.3f ms\n", i+1, len(resp.Trace), t.Step, t.Module, t.Mode, float64(t.Duration.Microseconds())/1000)
		for _, c := range t.Changes {
			fmt.Fprintf(w, "  %s\n", c)
		}
		if t.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", t.Error)
		}
		switch {
		case t.After == nil:
		case i > 0 && len(t.Changes) == 0 && t.Error == "":
			fmt.Fprintln(w, "  (STSUU unchanged)")
		default:
			fmt.Fprintln(w, "  STSUU after:")
			printSTSUU(w, t.After, "    ")
		}
	}
}

// printSTSUU writes the universal user one attribute per line, values as
// JSON so their types show: `roles (urn:...) ["reader","writer"]`.
func printSTSUU(w io.Writer, u *sts.STSUU, indent string) {
	section := func(name string, attrs sts.Attributes) {
		if len(attrs) == 0 {
			return
		}
		fmt.Fprintf(w, "%s%s:\n", indent, name)
		for _, a := range attrs {
			printAttribute(w, a, indent+"  ")
		}
	}
	section("principal", u.Principal)
	if len(u.Groups) > 0 {
		fmt.Fprintf(w, "%sgroups:\n", indent)
		for _, g := range u.Groups {
			fmt.Fprintf(w, "%s  %s (%s)\n", indent, g.Name, g.Type)
			for _, a := range g.Attributes {
				printAttribute(w, a, indent+"    ")
			}
		}
	}
	section("attributes", u.Attributes)
	section("rst", u.RST)
	section("context", u.Context)
	for i, st := range u.Statements {
		section(fmt.Sprintf("statement %d %s", i+1, st.ID), st.Attributes)
	}
}

func printAttribute(w io.Writer, a *sts.Attribute, indent string) {
	vals, err := json.Marshal(a.Values)
	if err != nil {
		vals = []byte(fmt.Sprint(a.StringValues()))
	}
	nick := ""
	if a.Nickname != "" {
		nick = " nickname=" + a.Nickname
	}
	fmt.Fprintf(w, "%s%s (%s)%s %s\n", indent, a.Name, a.Type, nick, vals)
}
