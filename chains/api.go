package chains

import (
	"context"
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// Options configure how a configuration is turned into a Runtime.
type Options struct {
	// Logger is the parent logger; components get named sub-loggers.
	Logger hclog.Logger
	// DataDir overrides the configuration's data directory (keys, sqlite).
	DataDir string
	// MaxDepth bounds chain-calls-chain nesting (LocalSTSClient); 0 means
	// the default (8).
	MaxDepth int
	// Observer, when set, receives every step's and chain's outcome (the
	// server feeds Prometheus with it).
	Observer Observer
}

// Severity says whether a Problem stops the configuration from loading.
type Severity string

// The severities.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
)

// Problem is one thing wrong with a configuration, with its position.
type Problem struct {
	Severity Severity
	File     string
	Line     int
	Column   int
	// Path is the YAML path of the offending value ("$.chains[2].lookup.issuer").
	Path    string
	Message string
}

// String formats the problem as "file:line:col: severity: message (path)".
func (p Problem) String() string {
	pos := p.File
	if p.Line > 0 {
		pos = fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
	}
	s := fmt.Sprintf("%s: %s: %s", pos, p.Severity, p.Message)
	if p.Path != "" {
		s += " (" + p.Path + ")"
	}
	return s
}

// ConfigErrors is returned by Load when the configuration has errors; it
// lists every problem found, not only the first.
type ConfigErrors struct {
	Problems []Problem
}

// Error implements error.
func (e *ConfigErrors) Error() string {
	n := 0
	first := ""
	for _, p := range e.Problems {
		if p.Severity == SeverityError {
			if n == 0 {
				first = p.String()
			}
			n++
		}
	}
	switch n {
	case 0:
		return fmt.Sprintf("configuration has %d warnings and no errors", len(e.Problems))
	case 1:
		return first
	}
	return fmt.Sprintf("%s (and %d more problems)", first, n-1)
}

// ChainInfo describes a loaded chain for listings and the admin API.
type ChainInfo struct {
	Name        string
	Description string
	// File and Line say where the chain is defined.
	File string
	Line int
	// Lookup holds the chain's criteria as configured, by key
	// ("applies_to": "REGEXP:(http://appliesto/.*)").
	Lookup map[string]string
	Steps  []StepInfo
}

// StepInfo describes one step of a loaded chain.
type StepInfo struct {
	ID string
	// Module is the module as the chain names it: a named instance or a
	// module type; Type is the module type.
	Module string
	Type   string
	Mode   sts.Mode
}

// compile-time check that the runtime serves chain calls.
var _ sts.ChainRunner = (*Runtime)(nil)

// Load reads the configuration at path (a YAML file, or a directory whose
// *.yaml and *.yml files are read in name order), provisions every app and
// module, and returns the ready Runtime. On any error it cleans up what it
// provisioned and returns a *ConfigErrors listing every problem found.
// Warnings (shadowed chains) are available from Runtime.Warnings.
func Load(ctx context.Context, path string, opts Options) (*Runtime, error) {
	return load(ctx, path, opts)
}

// Check loads and provisions the configuration like Load, then releases it,
// and returns every problem found, errors and warnings, in file order.
func Check(ctx context.Context, path string, opts Options) []Problem {
	return check(ctx, path, opts)
}
