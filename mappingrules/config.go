package mappingrules

import (
	"runtime"
	"time"
)

// Defaults for a rule set.
const (
	DefaultTimeout        = 100 * time.Millisecond
	DefaultMaxCallStack   = 512
	DefaultMaxValueBytes  = 64 << 10
	DefaultMaxValues      = 1000
	DefaultMaxAttributes  = 2000
	DefaultMaxStringBytes = 1 << 20
	DefaultMaxOutputBytes = 1 << 20
	// maxImportDepth bounds importMappingRule nesting independently of cycle
	// detection, so a long acyclic include chain cannot exhaust the stack.
	maxImportDepth = 16
)

// Config is the top-level "rules" section: where rules come from and the
// limits every evaluation runs under.
//
//	rules:
//	  dir: rules                       # *.js files, relative to the config
//	  files: { Oauth_20_TokenExchange: oauth/token_exchange.js }
//	  inline: { add_group: "stsuu.addGroup(new Group('g', null, null));" }
//	  timeout: 100ms
//	  pool_size: 4
//	  max_call_stack: 512
//	  limits: { max_value_bytes: 65536, max_output_bytes: 1048576 }
//	  cache: store                     # store | memory
type Config struct {
	// Dir holds the rule files (*.js); a rule's name is its file's base
	// name without the extension.
	Dir string `yaml:"dir"`
	// Files maps rule names (as ISAM knows them, e.g.
	// "Oauth_20_TokenExchange") to files, relative to Dir.
	Files map[string]string `yaml:"files"`
	// Inline holds rules written in the configuration, by name.
	Inline map[string]string `yaml:"inline"`
	// Timeout is the deadline of one evaluation (default 100ms). A request's
	// own deadline, when sooner, wins.
	Timeout time.Duration `yaml:"timeout"`
	// PoolSize bounds the runtimes kept and the evaluations running at once
	// (default 2 × GOMAXPROCS).
	PoolSize int `yaml:"pool_size"`
	// MaxCallStack bounds the JavaScript call depth (default 512).
	MaxCallStack int `yaml:"max_call_stack"`
	// Limits caps what a rule can grow.
	Limits Limits `yaml:"limits"`
	// Cache selects the IDMappingExtCache backend: "store" (the default:
	// the store app, shared by every node) or "memory" (this process only).
	Cache string `yaml:"cache"`
	// FreshRuntimes makes every evaluation use a newly built runtime instead
	// of a pooled one. Isolation is the same either way (see doc.go); this
	// trades speed for a smaller attack surface.
	FreshRuntimes bool `yaml:"fresh_runtimes"`
	// HTTPClient grants rules the HttpClient helper.
	HTTPClient HTTPClientConfig `yaml:"http_client"`
}

// HTTPClientConfig is the grant for the HttpClient helper. It is off by
// default; this version of chainsts does not ship the helper, so enabling
// it is a configuration error rather than a silent no-op.
type HTTPClientConfig struct {
	Enabled      bool     `yaml:"enabled"`
	AllowedHosts []string `yaml:"allowed_hosts"`
}

// Limits caps what one evaluation can produce through the API.
type Limits struct {
	// MaxValueBytes caps one attribute value (a string, or the JSON form of
	// an object or array) set by a rule.
	MaxValueBytes int `yaml:"max_value_bytes"`
	// MaxValues caps the values of one attribute.
	MaxValues int `yaml:"max_values"`
	// MaxAttributes caps the attributes of one STSUU section.
	MaxAttributes int `yaml:"max_attributes"`
	// MaxStringBytes caps strings built by the amplifying built-ins
	// (String.prototype.repeat, padStart, padEnd, Array.prototype.join,
	// fill, Array.from), which run natively and cannot be interrupted.
	MaxStringBytes int `yaml:"max_string_bytes"`
	// MaxOutputBytes caps the size of the STSUU after the rule ran.
	MaxOutputBytes int `yaml:"max_output_bytes"`
}

func (l Limits) withDefaults() Limits {
	if l.MaxValueBytes <= 0 {
		l.MaxValueBytes = DefaultMaxValueBytes
	}
	if l.MaxValues <= 0 {
		l.MaxValues = DefaultMaxValues
	}
	if l.MaxAttributes <= 0 {
		l.MaxAttributes = DefaultMaxAttributes
	}
	if l.MaxStringBytes <= 0 {
		l.MaxStringBytes = DefaultMaxStringBytes
	}
	if l.MaxOutputBytes <= 0 {
		l.MaxOutputBytes = DefaultMaxOutputBytes
	}
	return l
}

func (c Config) withDefaults() Config {
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.PoolSize <= 0 {
		c.PoolSize = 2 * runtime.GOMAXPROCS(0)
	}
	if c.MaxCallStack <= 0 {
		c.MaxCallStack = DefaultMaxCallStack
	}
	c.Limits = c.Limits.withDefaults()
	return c
}
