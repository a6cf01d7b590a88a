package server

import (
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/chainsts/chainsts/sts"
)

// Metrics are the server's Prometheus metrics, namespace chainsts. It
// implements chains.Observer, so chain and step latencies land here too.
// Label values are bounded: endpoints are route templates, chains and steps
// come from the configuration, results are "ok" or an OAuth error code.
type Metrics struct {
	reg *prometheus.Registry

	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	inFlight     prometheus.Gauge
	chainTotal   *prometheus.CounterVec
	chainLatency *prometheus.HistogramVec
	stepLatency  *prometheus.HistogramVec
	reloads      *prometheus.CounterVec
	reloadOK     prometheus.Gauge
	reloadTime   prometheus.Gauge
}

// latencyBuckets cover the range an STS lives in: tens of microseconds for
// a map step to seconds for a slow callout.
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// NewMetrics creates the metrics in a registry of their own, with the Go
// runtime and process collectors and a build_info gauge.
func NewMetrics(version, commit string) *Metrics {
	const ns = "chainsts"
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests by endpoint and status code.",
		}, []string{"endpoint", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "http", Name: "request_duration_seconds",
			Help: "HTTP request latency by endpoint.", Buckets: latencyBuckets,
		}, []string{"endpoint"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: "http", Name: "requests_in_flight",
			Help: "HTTP requests being served.",
		}),
		chainTotal: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: "chain", Name: "requests_total",
			Help: "Chain executions by chain and result (ok or an OAuth error code).",
		}, []string{"chain", "result"}),
		chainLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "chain", Name: "duration_seconds",
			Help: "Chain execution latency by chain.", Buckets: latencyBuckets,
		}, []string{"chain"}),
		stepLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: "step", Name: "duration_seconds",
			Help: "Step latency by chain, step, module, mode and result.", Buckets: latencyBuckets,
		}, []string{"chain", "step", "module", "mode", "result"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: "config", Name: "reloads_total",
			Help: "Configuration reloads by result (ok, error).",
		}, []string{"result"}),
		reloadOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: "config", Name: "last_reload_successful",
			Help: "1 when the last configuration reload succeeded (or none was tried), 0 otherwise.",
		}),
		reloadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: "config", Name: "last_load_timestamp_seconds",
			Help: "When the serving configuration was loaded.",
		}),
	}
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Namespace: ns, Name: "build_info", Help: "Build information; always 1.",
		ConstLabels: prometheus.Labels{"version": version, "commit": commit, "goversion": runtime.Version()},
	})
	build.Set(1)
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
	m.reg.MustRegister(m.httpRequests, m.httpDuration, m.inFlight, m.chainTotal, m.chainLatency,
		m.stepLatency, m.reloads, m.reloadOK, m.reloadTime, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry, for components that add their own
// metrics (rule durations, JWKS refreshes, store latency).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Result is the metric label for an outcome: "ok" or the OAuth error code.
func Result(err error) string {
	if err == nil {
		return "ok"
	}
	return sts.AsError(err).Code
}

// ObserveChain implements chains.Observer.
func (m *Metrics) ObserveChain(chain string, d time.Duration, err error) {
	if chain == "" {
		chain = "none"
	}
	m.chainTotal.WithLabelValues(chain, Result(err)).Inc()
	m.chainLatency.WithLabelValues(chain).Observe(d.Seconds())
}

// ObserveStep implements chains.Observer.
func (m *Metrics) ObserveStep(chain, step, module string, mode sts.Mode, d time.Duration, err error) {
	m.stepLatency.WithLabelValues(chain, step, module, string(mode), Result(err)).Observe(d.Seconds())
}

// lazySeries resolves one labelled series on first use and keeps it, so
// the request path does not hash label values on every call; resolving
// late (rather than at bind time) keeps series that never saw a request
// out of /metrics, as WithLabelValues on demand would.
type lazySeries[T any] struct {
	p    atomic.Pointer[T]
	make func() T
}

func newLazySeries[T any](make func() T) *lazySeries[T] { return &lazySeries[T]{make: make} }

func (l *lazySeries[T]) get() T {
	if p := l.p.Load(); p != nil {
		return *p
	}
	v := l.make()
	// Concurrent first uses resolve the same series.
	l.p.Store(&v)
	return v
}

// BindStep implements chains.BoundObserver: the successful outcome, which
// is nearly every call, goes to a series resolved once; errors take the
// ObserveStep path.
func (m *Metrics) BindStep(chain, step, module string, mode sts.Mode) func(time.Duration, error) {
	ok := newLazySeries(func() prometheus.Observer {
		return m.stepLatency.WithLabelValues(chain, step, module, string(mode), "ok")
	})
	return func(d time.Duration, err error) {
		if err != nil {
			m.ObserveStep(chain, step, module, mode, d, err)
			return
		}
		ok.get().Observe(d.Seconds())
	}
}

// BindChain implements chains.BoundObserver, like BindStep.
func (m *Metrics) BindChain(chain string) func(time.Duration, error) {
	if chain == "" {
		chain = "none"
	}
	total := newLazySeries(func() prometheus.Counter { return m.chainTotal.WithLabelValues(chain, "ok") })
	latency := newLazySeries(func() prometheus.Observer { return m.chainLatency.WithLabelValues(chain) })
	return func(d time.Duration, err error) {
		if err != nil {
			m.ObserveChain(chain, d, err)
			return
		}
		total.get().Inc()
		latency.get().Observe(d.Seconds())
	}
}

// ObserveReload records a configuration reload.
func (m *Metrics) ObserveReload(err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		m.reloadOK.Set(0)
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
	m.reloadOK.Set(1)
	m.reloadTime.SetToCurrentTime()
}

// endpointSeries are one endpoint's series, resolved on first use: its
// latency histogram and a request counter per status code.
type endpointSeries struct {
	duration *lazySeries[prometheus.Observer]
	codes    [600]atomic.Pointer[prometheus.Counter]
}

func (m *Metrics) requests(es *endpointSeries, endpoint string, status int) prometheus.Counter {
	if status < 100 || status >= len(es.codes) {
		return m.httpRequests.WithLabelValues(endpoint, statusLabel(status))
	}
	if p := es.codes[status].Load(); p != nil {
		return *p
	}
	c := m.httpRequests.WithLabelValues(endpoint, statusLabel(status))
	es.codes[status].Store(&c)
	return c
}

// instrument counts and times the requests of one endpoint.
func (m *Metrics) instrument(endpoint string, h http.Handler) http.Handler {
	es := &endpointSeries{duration: newLazySeries(func() prometheus.Observer { return m.httpDuration.WithLabelValues(endpoint) })}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		rec, ok := w.(*statusRecorder)
		if !ok {
			rec = &statusRecorder{ResponseWriter: w}
			w = rec
		}
		h.ServeHTTP(w, r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		m.requests(es, endpoint, status).Inc()
		es.duration.get().Observe(time.Since(start).Seconds())
	})
}

func statusLabel(code int) string {
	if code < 100 || code > 999 {
		return "other"
	}
	return strconv.Itoa(code)
}
