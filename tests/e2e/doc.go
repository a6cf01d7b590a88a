// Package e2e holds end-to-end tests that build the chainsts binary and
// drive it as a user would: start `chainsts serve` on loopback ports, call
// its HTTP API, send it signals. The tests live in the _test.go files and
// run the binary through tests/serve; this file only names the package.
package e2e
