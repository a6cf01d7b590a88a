package mappingrules

import (
	"fmt"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        "rules",
		Description: "JavaScript mapping rules: directory, inline rules, limits and the runtime pool",
		New:         func() any { return new(App) },
	})
}

// App is the "rules" app: the configuration section `rules:` (Config) and
// the rule set compiled from it, shared by every map step of a runtime.
type App struct {
	Config `yaml:",inline"`
	set    *RuleSet
}

// Provision compiles every rule and builds one runtime, so that a broken
// rule or API fails the load, not the first request.
func (a *App) Provision(ctx sts.ProvisionContext) error {
	if a.HTTPClient.Enabled {
		return sts.ConfigErrorf("http_client.enabled", "the HttpClient helper is not available in this version of chainsts")
	}
	logger := ctx.Logger
	if logger == nil {
		logger = hclog.NewNullLogger()
	}
	var cache Cache
	switch a.Cache {
	case "", "store":
		// The store app is provisioned on demand (with its defaults when the
		// configuration has no store section), so a cache entry written on
		// one node is read on another.
		if ctx.Host == nil {
			return sts.ConfigErrorf("cache", "no store is available here; use cache: memory")
		}
		st, err := ctx.Host.App("store")
		if err != nil {
			return sts.ConfigErrorf("cache", "the store is not available (%v); use cache: memory for a single-node cache", err)
		}
		c, ok := st.(Cache)
		if !ok {
			return sts.ConfigErrorf("cache", "the store app does not provide a cache")
		}
		cache = c
	case "memory":
		logger.Info("IDMappingExtCache is in memory: entries are not shared between nodes")
		cache = NewMemoryCache()
	default:
		return sts.ConfigErrorf("cache", "unknown cache %q (store or memory)", a.Cache)
	}
	dir := ""
	if ctx.Host != nil {
		dir = ctx.Host.ConfigDir()
	}
	set, err := NewRuleSet(a.Config, dir, cache, logger)
	if err != nil {
		return err
	}
	if err := set.Warm(); err != nil {
		return fmt.Errorf("rules: %w", err)
	}
	a.set = set
	return nil
}

// Cleanup releases the runtimes.
func (a *App) Cleanup() error {
	if a.set != nil {
		return a.set.Close()
	}
	return nil
}

// Set returns the compiled rule set.
func (a *App) Set() *RuleSet { return a.set }

var (
	_ sts.Provisioner  = (*App)(nil)
	_ sts.CleanerUpper = (*App)(nil)
)
