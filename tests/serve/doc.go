// Package serve runs the real chainsts binary for the end-to-end and
// interop tests: it builds `./cmd/chainsts` once per test process, starts
// `chainsts serve` on a configuration whose listeners are on port 0, learns
// the bound addresses from the JSON "serving" log line (no free-port race),
// keeps every log line for assertions and kills the process when the test
// ends. Only tests import it.
package serve
