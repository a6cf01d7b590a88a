package server

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        AppName,
		Description: "HTTP listeners, TLS, limits and timeouts",
		New:         func() any { return NewConfig() },
	})
	sts.RegisterApp(sts.AppInfo{
		Name:        LoggingAppName,
		Description: "log level and format",
		New:         func() any { return &Logging{Level: "info", Format: "text"} },
	})
}

// App names.
const (
	AppName        = "server"
	LoggingAppName = "logging"
)

// Config is the `server` app: how chainsts listens. Listener addresses and
// TLS on/off are read when the server starts; a reload that changes them
// is logged and takes effect at the next restart. Certificates, limits,
// timeouts and API options follow reloads.
type Config struct {
	// Listen is the public listener's address (default 127.0.0.1:8080).
	Listen string `yaml:"listen"`
	// AdminListen is the admin listener's address (default
	// 127.0.0.1:9090); "off" disables it.
	AdminListen string `yaml:"admin_listen"`
	// TLS enables HTTPS on the public listener.
	TLS *TLSConfig `yaml:"tls"`
	// Limits bound request sizes.
	Limits Limits `yaml:"limits"`
	// Timeouts bound how long requests and connections may take.
	Timeouts Timeouts `yaml:"timeouts"`
	// API configures the native STS API.
	API API `yaml:"api"`
	// GC tunes the Go garbage collector of the serving process.
	GC GC `yaml:"gc"`

	cert *tls.Certificate
}

// GC tunes the Go garbage collector, read when the server starts. A token
// request allocates tens of kilobytes that die with it while the live heap
// stays small, so at Go's default target (a collection each time the heap
// doubles) the collector ran every few milliseconds under load and took
// about a fifth of the CPU. The GOGC and GOMEMLIMIT environment variables,
// when set, take precedence over these settings.
type GC struct {
	// Percent is the collection target: collect when the heap has grown by
	// this percentage of the live heap (default 400; Go's own default is
	// 100). A negative value leaves the runtime's setting alone.
	Percent int `yaml:"percent"`
	// MemoryLimitMB is a soft limit on the memory the Go runtime manages,
	// in MiB: near it the collector runs more often whatever Percent says
	// (default 0: no limit). Set it below a container's memory limit.
	MemoryLimitMB int64 `yaml:"memory_limit_mb"`
}

// DefaultGCPercent is the default of server.gc.percent.
const DefaultGCPercent = 400

// TLSConfig names the public listener's certificate and key (PEM files,
// relative to the configuration directory).
type TLSConfig struct {
	CertFile string `yaml:"cert_file"`
	KeyFile  string `yaml:"key_file"`
}

// Limits bound request sizes.
type Limits struct {
	// MaxBodyBytes bounds request bodies (default 1 MiB).
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
	// MaxHeaderBytes bounds request headers (default 32 KiB).
	MaxHeaderBytes int `yaml:"max_header_bytes"`
	// MaxTokenBytes bounds an input token (default 64 KiB).
	MaxTokenBytes int `yaml:"max_token_bytes"`
}

// Timeouts bound how long requests and connections may take.
type Timeouts struct {
	// ReadHeader bounds reading request headers (default 5s).
	ReadHeader time.Duration `yaml:"read_header"`
	// Read bounds reading a whole request (default 15s).
	Read time.Duration `yaml:"read"`
	// Write bounds writing a response (default 30s).
	Write time.Duration `yaml:"write"`
	// Idle bounds keep-alive connections (default 2m).
	Idle time.Duration `yaml:"idle"`
	// Request is the deadline of each request's work (default 10s).
	Request time.Duration `yaml:"request"`
	// ShutdownDelay is how long the server keeps serving after readiness
	// turned false on shutdown, so load balancers stop sending (default 0;
	// set it to a few seconds behind a load balancer).
	ShutdownDelay time.Duration `yaml:"shutdown_delay"`
	// Shutdown bounds waiting for in-flight requests on shutdown
	// (default 30s).
	Shutdown time.Duration `yaml:"shutdown"`
}

// API configures the native STS API.
type API struct {
	// Enabled turns POST /sts/v1/request on (default true).
	Enabled *bool `yaml:"enabled"`
	// AllowAnonymousLoopback accepts requests without client credentials
	// when both the listener and the caller are on a loopback address.
	AllowAnonymousLoopback bool `yaml:"allow_anonymous_loopback"`
	// RateLimit bounds request rates per client and failed
	// authentications per source address.
	RateLimit RateLimit `yaml:"rate_limit"`
}

// NewConfig returns the defaults.
func NewConfig() *Config {
	return &Config{
		Listen:      "127.0.0.1:8080",
		AdminListen: "127.0.0.1:9090",
		Limits: Limits{
			MaxBodyBytes:   1 << 20,
			MaxHeaderBytes: 32 << 10,
			MaxTokenBytes:  64 << 10,
		},
		Timeouts: Timeouts{
			ReadHeader: 5 * time.Second,
			Read:       15 * time.Second,
			Write:      30 * time.Second,
			Idle:       2 * time.Minute,
			Request:    10 * time.Second,
			Shutdown:   30 * time.Second,
		},
		GC: GC{Percent: DefaultGCPercent},
	}
}

// APIEnabled reports whether the native API is served.
func (c *Config) APIEnabled() bool { return c.API.Enabled == nil || *c.API.Enabled }

// AdminEnabled reports whether the admin listener is on.
func (c *Config) AdminEnabled() bool { return c.AdminListen != "off" && c.AdminListen != "" }

// Provision implements sts.Provisioner: it loads the TLS certificate.
func (c *Config) Provision(ctx sts.ProvisionContext) error {
	if c.TLS != nil {
		if c.TLS.CertFile == "" || c.TLS.KeyFile == "" {
			return sts.ConfigErrorf("tls", "tls needs cert_file and key_file")
		}
		cert, err := tls.LoadX509KeyPair(sts.ResolvePath(ctx.Host, c.TLS.CertFile), sts.ResolvePath(ctx.Host, c.TLS.KeyFile))
		if err != nil {
			return sts.ConfigErrorf("tls.cert_file", "loading the TLS certificate: %v", err)
		}
		c.cert = &cert
	}
	return nil
}

// Validate implements sts.Validator.
func (c *Config) Validate() error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return sts.ConfigErrorf("listen", "listen address %q: %v", c.Listen, err)
	}
	if c.AdminEnabled() {
		if _, _, err := net.SplitHostPort(c.AdminListen); err != nil {
			return sts.ConfigErrorf("admin_listen", "admin listen address %q: %v", c.AdminListen, err)
		}
	}
	if c.AdminEnabled() && c.AdminListen == c.Listen && !strings.HasSuffix(c.Listen, ":0") {
		return sts.ConfigErrorf("admin_listen", "the admin listener needs its own address, not listen's %q", c.Listen)
	}
	if c.API.AllowAnonymousLoopback && !IsLoopbackAddr(c.Listen) {
		return sts.ConfigErrorf("api.allow_anonymous_loopback",
			"anonymous access is only allowed when listen is a loopback address, not %q", c.Listen)
	}
	for _, v := range []struct {
		path string
		n    int64
	}{
		{"limits.max_body_bytes", c.Limits.MaxBodyBytes},
		{"limits.max_header_bytes", int64(c.Limits.MaxHeaderBytes)},
		{"limits.max_token_bytes", int64(c.Limits.MaxTokenBytes)},
	} {
		if v.n <= 0 {
			return sts.ConfigErrorf(v.path, "must be positive")
		}
	}
	for _, v := range []struct {
		path string
		d    time.Duration
	}{
		{"timeouts.read_header", c.Timeouts.ReadHeader},
		{"timeouts.read", c.Timeouts.Read},
		{"timeouts.write", c.Timeouts.Write},
		{"timeouts.idle", c.Timeouts.Idle},
		{"timeouts.request", c.Timeouts.Request},
		{"timeouts.shutdown", c.Timeouts.Shutdown},
	} {
		if v.d <= 0 {
			return sts.ConfigErrorf(v.path, "must be a positive duration")
		}
	}
	if c.Timeouts.ShutdownDelay < 0 {
		return sts.ConfigErrorf("timeouts.shutdown_delay", "must not be negative")
	}
	if c.GC.MemoryLimitMB < 0 {
		return sts.ConfigErrorf("gc.memory_limit_mb", "must not be negative")
	}
	return nil
}

// IsLoopbackAddr reports whether a host:port listens on loopback only
// ("localhost" counts; an empty host, which listens everywhere, does not).
func IsLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Logging is the `logging` app. The format is read when the process starts
// (see ReadLogging); the level follows reloads.
type Logging struct {
	// Level is trace, debug, info (default), warn or error.
	Level string `yaml:"level"`
	// Format is text (default) or json.
	Format string `yaml:"format"`
}

// Validate implements sts.Validator.
func (l *Logging) Validate() error {
	if hclog.LevelFromString(l.Level) == hclog.NoLevel {
		return sts.ConfigErrorf("level", "unknown log level %q (trace, debug, info, warn, error)", l.Level)
	}
	if l.Format != "text" && l.Format != "json" {
		return sts.ConfigErrorf("format", "unknown log format %q (text or json)", l.Format)
	}
	return nil
}

// String describes the settings.
func (l *Logging) String() string { return fmt.Sprintf("level=%s format=%s", l.Level, l.Format) }

// Interface guards.
var (
	_ sts.Provisioner = (*Config)(nil)
	_ sts.Validator   = (*Config)(nil)
	_ sts.Validator   = (*Logging)(nil)
)
