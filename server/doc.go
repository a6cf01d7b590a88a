// Package server is the HTTP side of `chainsts serve`: the public listener
// with the native STS API (POST /sts/v1/request) and the routes other
// components contribute, the admin listener (/healthz, /readyz, /metrics),
// request ids, limits, deadlines, logging, Prometheus metrics, graceful
// shutdown and reload.
//
// Every request works on one runtime (one fully loaded configuration),
// acquired when it starts and released when it ends, so a reload never
// changes the configuration under a running request. The public router is
// rebuilt for each new runtime, so routes contributed by apps (the keys
// app's /jwks.json, the oauth app's /oauth2/token) always belong to the
// runtime serving the request.
//
// The package also registers two apps: `server` (listeners, TLS, limits,
// timeouts, API options) and `logging` (level and format).
package server
