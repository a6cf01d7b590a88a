package server

import (
	"context"
	"net/http"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

// Runtime is what the server needs from one loaded configuration
// (*chains.Runtime).
type Runtime interface {
	sts.ChainRunner
	// App returns a provisioned app.
	App(name string) (any, error)
	// Apps names the apps provisioned in this runtime.
	Apps() []string
	// Ready reports whether every component can serve.
	Ready() error
}

// Runtimes hands out the runtime each request works on and reloads the
// configuration (*chains.Manager, through FromManager).
type Runtimes interface {
	// Acquire returns the current runtime and a release function the
	// caller calls when its request is done.
	Acquire() (Runtime, func())
	// Reload loads the configuration again and swaps it in; on error the
	// current runtime stays.
	Reload(ctx context.Context) error
}

// RouteProvider is implemented by apps that serve HTTP routes on the public
// listener (the keys app's JWKS, the oauth app's endpoints). HTTPRoutes is
// called once per runtime, when the first request reaches that runtime; it
// maps patterns "METHOD /path" (or "/path" for any method; gorilla/mux path
// templates such as "/oauth2/{name}") to handlers. The handlers belong to
// the app's runtime, so they see that runtime's configuration. Handlers find
// the request id, logger and runtime with RequestID, Logger and
// RuntimeFrom, and write errors with WriteError.
//
// The interface uses only net/http types, so an app implements it without
// importing this package.
type RouteProvider interface {
	HTTPRoutes() map[string]http.Handler
}

// requestState is what the server attaches to a request's context: one
// context value (each context.WithValue is an allocation and a link that
// every later Value lookup walks) for the request id, logger, runtime and
// router entry.
type requestState struct {
	id    string
	log   hclog.Logger
	rt    Runtime
	entry *routerEntry
}

type stateKey struct{}

func stateFrom(ctx context.Context) *requestState {
	st, _ := ctx.Value(stateKey{}).(*requestState)
	return st
}

// RuntimeFrom returns the runtime serving the request, for handlers that
// run chains.
func RuntimeFrom(ctx context.Context) Runtime {
	if st := stateFrom(ctx); st != nil && st.rt != nil {
		return st.rt
	}
	return nil
}
