// Package storetest holds the conformance suite every store.Store backend
// runs (Run), and Failing, a wrapper that makes a store fail on demand so
// that tests of the endpoints can check a store outage answers 503 and
// issues nothing.
package storetest
