// Package mappingrules runs JavaScript mapping rules in goja with the ISAM
// rule API (ISAM-COMPAT §3, §5): the stsuu object and its containers,
// Attribute, Group, AttributeStatement, IDMappingExtUtils and its cache,
// LocalSTSClient, BASE64Utility, the pure parts of OAuthMappingExtUtils, and
// the Rhino idioms (importClass, importPackage, Packages.*, java.lang.String,
// java.util collections) that rules written for ISAM depend on.
//
// Rules are compiled once when the rule set is loaded (source maps
// disabled) and evaluated on a bounded pool of runtimes. Every evaluation
// gets a clean global scope: built-ins and the API are frozen when a runtime
// is created, and each evaluation runs against a new global object whose
// prototype is that frozen base, so nothing a rule sets survives it. An
// evaluation has a deadline (Runtime.Interrupt), a bounded call stack, no
// eval/Function/require, no filesystem and no network, and caps on what it
// can grow through the API.
//
// The rules app (top-level configuration key "rules") owns the rule set; the
// map module (modules/map) runs one rule per chain step.
package mappingrules
