package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"regexp"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/clients"
)

// Options configure a Server.
type Options struct {
	// Runtimes hands out the configuration each request works on.
	Runtimes Runtimes
	// Logger is the process logger.
	Logger hclog.Logger
	// Metrics receives request metrics; it should also be the chains
	// Observer. nil creates one.
	Metrics *Metrics
}

// Server is the HTTP front of chainsts: a public and an admin listener.
type Server struct {
	rts     Runtimes
	log     hclog.Logger
	metrics *Metrics
	now     func() time.Time

	// start is the server configuration read at start: addresses and
	// whether TLS is on cannot change without a restart.
	start          *Config
	publicLoopback bool

	limits   *limiters
	entry    atomic.Pointer[routerEntry]
	entryMu  sync.Mutex
	shutting atomic.Bool

	public, admin     *http.Server
	publicLn, adminLn net.Listener
}

// routerEntry is the public router built for one runtime.
type routerEntry struct {
	rt      Runtime
	cfg     *Config
	router  http.Handler
	clients func() (*clients.App, error)
}

func entryFrom(ctx context.Context) *routerEntry {
	if st := stateFrom(ctx); st != nil {
		return st.entry
	}
	return nil
}

// New creates a server from the current runtime's `server` configuration.
func New(opts Options) (*Server, error) {
	if opts.Runtimes == nil {
		return nil, errors.New("server: no runtimes")
	}
	s := &Server{rts: opts.Runtimes, log: opts.Logger, metrics: opts.Metrics, now: time.Now, limits: newLimiters()}
	if s.log == nil {
		s.log = hclog.NewNullLogger()
	}
	if s.metrics == nil {
		s.metrics = NewMetrics("", "")
	}
	rt, release := s.rts.Acquire()
	defer release()
	if rt == nil {
		return nil, errors.New("server: no runtime loaded")
	}
	cfg, err := serverConfig(rt)
	if err != nil {
		return nil, err
	}
	s.start = cfg
	s.publicLoopback = IsLoopbackAddr(cfg.Listen)
	return s, nil
}

func serverConfig(rt Runtime) (*Config, error) {
	a, err := rt.App(AppName)
	if err != nil {
		return nil, fmt.Errorf("server configuration: %w", err)
	}
	cfg, ok := a.(*Config)
	if !ok {
		return nil, fmt.Errorf("server configuration is %T", a)
	}
	return cfg, nil
}

// Config returns the server configuration read at start.
func (s *Server) Config() *Config { return s.start }

// entryFor returns the router for rt, building it on the first request
// that reaches a new runtime.
func (s *Server) entryFor(rt Runtime) (*routerEntry, error) {
	if e := s.entry.Load(); e != nil && e.rt == rt {
		return e, nil
	}
	s.entryMu.Lock()
	defer s.entryMu.Unlock()
	if e := s.entry.Load(); e != nil && e.rt == rt {
		return e, nil
	}
	e, err := s.buildEntry(rt)
	if err != nil {
		return nil, err
	}
	s.entry.Store(e)
	return e, nil
}

func (s *Server) buildEntry(rt Runtime) (*routerEntry, error) {
	cfg, err := serverConfig(rt)
	if err != nil {
		return nil, err
	}
	e := &routerEntry{rt: rt, cfg: cfg}
	e.clients = sync.OnceValues(func() (*clients.App, error) {
		a, err := rt.App(clients.AppName)
		if err != nil {
			return nil, err
		}
		ca, ok := a.(*clients.App)
		if !ok {
			return nil, fmt.Errorf("clients app is %T", a)
		}
		return ca, nil
	})
	r := mux.NewRouter()
	r.NotFoundHandler = s.metrics.instrument("not_found", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		WriteJSON(w, http.StatusNotFound, ErrorBody{Error: "not_found", Description: "no such endpoint"})
	}))
	r.MethodNotAllowedHandler = s.metrics.instrument("method_not_allowed", http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if allow := allowedMethods(r, req.URL.Path); allow != "" {
			w.Header().Set("Allow", allow)
		}
		WriteJSON(w, http.StatusMethodNotAllowed, ErrorBody{Error: "invalid_request", Description: "method not allowed"})
	}))
	seen := map[string]string{}
	add := func(owner, pattern string, h http.Handler) {
		method, path, ok := strings.Cut(pattern, " ")
		if !ok {
			method, path = "", pattern
		}
		if !strings.HasPrefix(path, "/") {
			s.log.Error("ignoring a route with a malformed pattern", "app", owner, "pattern", pattern)
			return
		}
		key := method + " " + path
		if prev, dup := seen[key]; dup {
			s.log.Error("ignoring a route already served", "app", owner, "pattern", pattern, "served_by", prev)
			return
		}
		seen[key] = owner
		route := r.Handle(path, s.metrics.instrument(path, h))
		if method != "" {
			route.Methods(method)
		}
	}
	if cfg.APIEnabled() {
		add("api", "POST "+APIPath, http.HandlerFunc(s.handleAPI))
	}
	for _, name := range rt.Apps() {
		a, err := rt.App(name)
		if err != nil {
			continue
		}
		rp, ok := a.(RouteProvider)
		if !ok {
			continue
		}
		routes := rp.HTTPRoutes()
		patterns := make([]string, 0, len(routes))
		for p := range routes {
			patterns = append(patterns, p)
		}
		sort.Strings(patterns)
		for _, p := range patterns {
			add(name, p, routes[p])
		}
	}
	e.router = r
	return e, nil
}

// ServeHTTP serves the public listener: request id, runtime, deadline,
// body limit, panic recovery and an access log line around the router.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	id := r.Header.Get(RequestIDHeader)
	if !validRequestID(id) {
		id = newRequestID()
	}
	w.Header().Set(RequestIDHeader, id)
	// The request logger is built only if a line is written: at the
	// default level the access line below does; above it, nothing may.
	log := chains.LazyWith(s.log, "request_id", id)
	st := &requestState{id: id, log: log}
	ctx := context.WithValue(r.Context(), stateKey{}, st)
	rec := &statusRecorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			log.Error("panic serving request", "panic", fmt.Sprint(p))
			if rec.status == 0 {
				WriteJSON(rec, http.StatusInternalServerError, ErrorBody{Error: "server_error", Description: "the server could not process the request"})
			}
		}
		if log.IsInfo() {
			log.Info("request", "method", r.Method, "path", r.URL.Path, "status", rec.status,
				"duration_ms", float64(s.now().Sub(start).Microseconds())/1000, "remote", r.RemoteAddr)
		}
	}()

	rt, release := s.rts.Acquire()
	defer release()
	if rt == nil {
		WriteError(rec, r.WithContext(ctx), errUnavailable)
		return
	}
	e, err := s.entryFor(rt)
	if err != nil {
		WriteError(rec, r.WithContext(ctx), fmt.Errorf("building routes: %w", err))
		return
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeouts.Request)
	defer cancel()
	st.rt, st.entry = rt, e
	r.Body = http.MaxBytesReader(rec, r.Body, e.cfg.Limits.MaxBodyBytes)
	e.router.ServeHTTP(rec, r.WithContext(ctx))
}

var errUnavailable = errors.New("no configuration loaded")

// AdminHandler serves /healthz, /readyz and /metrics.
func (s *Server) AdminHandler() http.Handler {
	r := mux.NewRouter()
	r.Handle("/healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writePlainJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/readyz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if err := s.Ready(); err != nil {
			writePlainJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
			return
		}
		writePlainJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})).Methods(http.MethodGet, http.MethodHead)
	r.Handle("/metrics", s.metrics.Handler()).Methods(http.MethodGet)
	return r
}

func writePlainJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Cache-Control", "no-store")
	WriteJSON(w, status, v)
}

// Ready reports whether the server should receive traffic: not shutting
// down, and every component of the current runtime ready.
func (s *Server) Ready() error {
	if s.shutting.Load() {
		return errors.New("shutting down")
	}
	rt, release := s.rts.Acquire()
	defer release()
	if rt == nil {
		return errUnavailable
	}
	return rt.Ready()
}

// Listen binds the listeners (so that their addresses are known, e.g. with
// port 0) and warns about exposed plain-HTTP listeners.
func (s *Server) Listen() error {
	cfg := s.start
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("public listener: %w", err)
	}
	if cfg.TLS != nil {
		ln = tls.NewListener(ln, &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: s.getCertificate,
		})
	}
	for _, w := range listenWarnings(cfg) {
		s.log.Warn(w)
	}
	s.publicLn = ln
	s.public = s.httpServer(s, cfg)
	if cfg.AdminEnabled() {
		aln, err := net.Listen("tcp", cfg.AdminListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("admin listener: %w", err)
		}
		s.adminLn = aln
		s.admin = s.httpServer(s.AdminHandler(), cfg)
	}
	return nil
}

func (s *Server) httpServer(h http.Handler, cfg *Config) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: cfg.Timeouts.ReadHeader,
		ReadTimeout:       cfg.Timeouts.Read,
		WriteTimeout:      cfg.Timeouts.Write,
		IdleTimeout:       cfg.Timeouts.Idle,
		MaxHeaderBytes:    cfg.Limits.MaxHeaderBytes,
		ErrorLog:          s.log.Named("http").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug}),
	}
}

// getCertificate serves the current runtime's certificate, so a reload
// picks up a renewed certificate.
func (s *Server) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	rt, release := s.rts.Acquire()
	defer release()
	if rt != nil {
		if cfg, err := serverConfig(rt); err == nil && cfg.cert != nil {
			return cfg.cert, nil
		}
	}
	if s.start.cert != nil {
		return s.start.cert, nil
	}
	return nil, errors.New("no TLS certificate")
}

// PublicAddr is the public listener's address after Listen.
func (s *Server) PublicAddr() net.Addr { return s.publicLn.Addr() }

// AdminAddr is the admin listener's address after Listen, nil when off.
func (s *Server) AdminAddr() net.Addr {
	if s.adminLn == nil {
		return nil
	}
	return s.adminLn.Addr()
}

// Serve serves until ctx is cancelled, then shuts down gracefully:
// readiness turns false, the server keeps serving for the shutdown delay,
// stops accepting, and waits for in-flight requests (up to the shutdown
// timeout). Listen must have been called.
func (s *Server) Serve(ctx context.Context) error {
	if s.public == nil {
		return errors.New("server: Serve before Listen")
	}
	errc := make(chan error, 2)
	go func() { errc <- s.public.Serve(s.publicLn) }()
	if s.admin != nil {
		go func() { errc <- s.admin.Serve(s.adminLn) }()
	}
	tuneGC(s.start.GC, os.Getenv, s.log)
	attrs := []any{"listen", s.publicLn.Addr().String(), "tls", s.start.TLS != nil}
	if s.adminLn != nil {
		attrs = append(attrs, "admin", s.adminLn.Addr().String())
	}
	s.log.Info("serving", attrs...)
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
		s.log.Error("listener failed", "error", serveErr)
	}
	return errors.Join(serveErr, s.shutdown())
}

func (s *Server) shutdown() error {
	s.shutting.Store(true)
	cfg := s.start
	if rt, release := s.rts.Acquire(); rt != nil {
		if c, err := serverConfig(rt); err == nil {
			cfg = c
		}
		release()
	} else {
		release()
	}
	s.log.Info("shutting down: readiness is now false", "delay", cfg.Timeouts.ShutdownDelay.String())
	if cfg.Timeouts.ShutdownDelay > 0 {
		time.Sleep(cfg.Timeouts.ShutdownDelay)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeouts.Shutdown)
	defer cancel()
	err := s.public.Shutdown(ctx)
	if err != nil {
		s.log.Error("in-flight requests did not finish in time", "error", err)
	}
	if s.admin != nil {
		err = errors.Join(err, s.admin.Shutdown(ctx))
	}
	s.log.Info("stopped")
	return err
}

// Reload loads the configuration again. On failure the current
// configuration keeps serving and the error is returned (and logged by the
// caller); listener addresses that changed are reported, as they need a
// restart.
func (s *Server) Reload(ctx context.Context) error {
	err := s.rts.Reload(ctx)
	s.metrics.ObserveReload(err)
	if err != nil {
		return err
	}
	rt, release := s.rts.Acquire()
	defer release()
	if cfg, err := serverConfig(rt); err == nil {
		if cfg.Listen != s.start.Listen || cfg.AdminListen != s.start.AdminListen || (cfg.TLS == nil) != (s.start.TLS == nil) {
			s.log.Warn("listener addresses or TLS on/off changed: restart to apply", "listen", s.start.Listen, "admin_listen", s.start.AdminListen)
		}
	}
	return nil
}

// allowedMethods lists the methods the routes for path accept, for the
// Allow header of a 405 answer (RFC 9110 §15.5.6).
func allowedMethods(r *mux.Router, path string) string {
	var methods []string
	_ = r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		re, err := route.GetPathRegexp()
		if err != nil {
			return nil
		}
		if ok, _ := regexp.MatchString(re, path); !ok {
			return nil
		}
		ms, err := route.GetMethods()
		if err == nil {
			methods = append(methods, ms...)
		}
		return nil
	})
	sort.Strings(methods)
	return strings.Join(slices.Compact(methods), ", ")
}

// tuneGC applies server.gc to the process, except the knobs the GOGC and
// GOMEMLIMIT environment variables already set.
func tuneGC(c GC, getenv func(string) string, log hclog.Logger) {
	if c.Percent >= 0 && getenv("GOGC") == "" {
		debug.SetGCPercent(c.Percent)
		log.Debug("garbage collector target set", "gc_percent", c.Percent)
	}
	if c.MemoryLimitMB > 0 && getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(c.MemoryLimitMB << 20)
		log.Debug("garbage collector soft memory limit set", "memory_limit_mb", c.MemoryLimitMB)
	}
}

// listenWarnings are the configuration's exposure risks, logged at start
// (SECURITY §4.4).
func listenWarnings(cfg *Config) []string {
	var out []string
	if cfg.TLS == nil && !IsLoopbackAddr(cfg.Listen) {
		out = append(out, fmt.Sprintf("the public listener %s is not on a loopback address and has no TLS: tokens and client secrets travel in clear; configure server.tls or terminate TLS in front", cfg.Listen))
	}
	if cfg.AdminEnabled() && !IsLoopbackAddr(cfg.AdminListen) {
		out = append(out, fmt.Sprintf("the admin listener %s (metrics, health) is not on a loopback address and has no authentication", cfg.AdminListen))
	}
	return out
}
