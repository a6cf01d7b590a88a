// Package standard pulls every module type shipped with chainsts into a
// binary through blank imports, so that each module registers itself in its
// init function. Only cmd/chainsts (and tests that need the full set of
// modules) import it; the core never imports a module.
package standard
