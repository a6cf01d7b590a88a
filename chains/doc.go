// Package chains turns a chainsts configuration into a running STS: it reads
// the YAML configuration strictly (one file or a directory, every problem
// reported with its file, line, column and path), provisions the apps and
// one module instance per chain step, compiles templates and chains with
// their lookup criteria, selects the chain for each request, runs its steps
// over one STSUU with a per-step trace, and reports chains that can never be
// selected.
//
// A Runtime is one fully provisioned configuration; a Manager swaps
// runtimes atomically on reload and retires the old one once its requests
// are done. docs/chains.md describes the behaviour; docs/configuration.md
// the keys.
package chains
