// Package memory is an in-process store.Store for tests and single-process
// experiments: state lives in maps behind one mutex and is lost on exit.
// It registers the "memory" driver; stores opened with the same name share
// their state within a process.
package memory
