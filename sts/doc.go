// Package sts is the core model of chainsts: the universal user (STSUU) and
// its XML and JSON forms, the Request and Response of one call into the STS,
// the module and app registries with the per-mode and lifecycle interfaces,
// and the Error type every entry point answers with.
//
// The package depends on nothing heavy (no HTTP router, no JavaScript
// engine); everything else in chainsts points inward to it.
package sts
