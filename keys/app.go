package keys

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/chainsts/chainsts/sts"
)

func init() {
	sts.RegisterApp(sts.AppInfo{
		Name:        "keystores",
		Description: "named keystores (PEM/JWK files, HMAC secrets, dev keys) and /jwks.json",
		New:         func() any { return new(App) },
	})
}

// Policy values for weak keys and loose file permissions.
const (
	PolicyRefuse = "refuse"
	PolicyWarn   = "warn"
)

// App is the "keystores" app (configuration section `keystores:`). It loads
// every keystore once at provision, serves the public JWK Set, and keeps the
// remote JWK Sets modules ask for.
type App struct {
	// WeakKeys says what to do with RSA keys under 2048 bits and HMAC
	// secrets shorter than their hash: "refuse" (default) or "warn" (load
	// for verification only; such keys never sign).
	WeakKeys string `yaml:"weak_keys"`
	// FilePermissions says what to do with private key files readable by
	// anyone but their owner: "refuse" (default) or "warn".
	FilePermissions string `yaml:"file_permissions"`
	// JWKSMaxAge is the Cache-Control max-age of /jwks.json (default 5m).
	JWKSMaxAge time.Duration `yaml:"jwks_max_age"`
	// RemoteKeys configures the remote JWK Set cache (section remote).
	RemoteKeys RemoteOptions `yaml:"remote"`
	// Stores are the keystores by name.
	Stores map[string]*StoreConfig `yaml:"stores"`

	log     hclog.Logger
	stores  map[string]*Keystore
	jwks    []byte
	ctx     context.Context
	cancel  context.CancelFunc
	remMu   sync.Mutex
	remotes map[string]*RemoteSet
	now     func() time.Time // see SetClock; guarded by remMu
}

// StoreConfig configures one keystore.
type StoreConfig struct {
	// Dir is a directory of key files (relative to the config file).
	Dir string `yaml:"dir"`
	// Files are individual key files.
	Files []string `yaml:"files"`
	// Public publishes the keystore's public signing keys at /jwks.json.
	Public bool `yaml:"public"`
	// Dev generates an ES256 and an RS256 key in <data_dir>/keys/<name> on
	// first start and loads them on every start after.
	Dev bool `yaml:"dev"`
	// Keys sets per-label options for keys found in Dir, Files or the dev
	// directory.
	Keys map[string]KeyConfig `yaml:"keys"`
	// Secrets are HMAC (or AES key-wrap) secrets by label.
	Secrets map[string]SecretConfig `yaml:"secrets"`
}

// KeyConfig binds a loaded key to its algorithm, kid and use.
type KeyConfig struct {
	Alg string `yaml:"alg"`
	KID string `yaml:"kid"`
	Use string `yaml:"use"`
}

// SecretConfig is a symmetric key. Exactly one of Value, Env and File gives
// it; Encoding says how to read it.
type SecretConfig struct {
	Alg string `yaml:"alg"`
	KID string `yaml:"kid"`
	Use string `yaml:"use"`
	// Value is the secret itself (prefer Env or File).
	Value string `yaml:"value"`
	// Env names an environment variable holding the secret.
	Env string `yaml:"env"`
	// File is a file holding the secret (mode 0600; trailing newline
	// trimmed).
	File string `yaml:"file"`
	// Encoding is "raw" (default: the bytes as written), "base64",
	// "base64url" or "hex".
	Encoding string `yaml:"encoding"`
}

// Provision loads every keystore. Errors are *sts.ConfigError pointing at
// the keystore or key that failed.
func (a *App) Provision(ctx sts.ProvisionContext) error {
	a.log = ctx.Logger
	if a.log == nil {
		a.log = hclog.NewNullLogger()
	}
	if a.WeakKeys == "" {
		a.WeakKeys = PolicyRefuse
	}
	if a.FilePermissions == "" {
		a.FilePermissions = PolicyRefuse
	}
	if a.WeakKeys != PolicyRefuse && a.WeakKeys != PolicyWarn {
		return sts.ConfigErrorf("weak_keys", "must be %q or %q", PolicyRefuse, PolicyWarn)
	}
	if a.FilePermissions != PolicyRefuse && a.FilePermissions != PolicyWarn {
		return sts.ConfigErrorf("file_permissions", "must be %q or %q", PolicyRefuse, PolicyWarn)
	}
	if a.JWKSMaxAge == 0 {
		a.JWKSMaxAge = 5 * time.Minute
	}
	if a.JWKSMaxAge < 0 {
		return sts.ConfigErrorf("jwks_max_age", "must not be negative")
	}
	if err := a.RemoteKeys.setDefaults(); err != nil {
		return err
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	a.stores = map[string]*Keystore{}
	a.remotes = map[string]*RemoteSet{}
	for _, name := range a.storeNames() {
		ks, err := a.loadStore(ctx.Host, name, a.Stores[name])
		if err != nil {
			return err
		}
		a.stores[name] = ks
	}
	jwks, err := a.buildJWKS()
	if err != nil {
		return err
	}
	a.jwks = jwks
	return nil
}

func (a *App) storeNames() []string {
	names := make([]string, 0, len(a.Stores))
	for n := range a.Stores {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (a *App) loadStore(host sts.Host, name string, sc *StoreConfig) (*Keystore, error) {
	path := "stores." + name
	if sc == nil {
		sc = &StoreConfig{}
	}
	strict := a.FilePermissions == PolicyRefuse
	warn := func(err error) { a.log.Warn("key file permissions", "keystore", name, "problem", err.Error()) }
	var loaded []LoadedKey
	if sc.Dev {
		if host == nil || host.DataDir() == "" {
			return nil, sts.ConfigErrorf(path+".dev", "dev keys need a data directory")
		}
		dir := filepath.Join(host.DataDir(), "keys", name)
		created, err := EnsureDevKeys(dir)
		if err != nil {
			return nil, sts.ConfigErrorf(path+".dev", "%v", err)
		}
		for _, f := range created {
			a.log.Info("generated development key", "keystore", name, "file", f)
		}
		lks, err := LoadDir(dir, strict, warn)
		if err != nil {
			return nil, sts.ConfigErrorf(path+".dev", "%v", err)
		}
		for i := range lks {
			if filepath.Base(lks[i].File) == DevES256File || filepath.Base(lks[i].File) == DevRS256File {
				lks[i].generated = true
			}
		}
		loaded = append(loaded, lks...)
	}
	if sc.Dir != "" {
		lks, err := LoadDir(sts.ResolvePath(host, sc.Dir), strict, warn)
		if err != nil {
			return nil, sts.ConfigErrorf(path+".dir", "%v", err)
		}
		loaded = append(loaded, lks...)
	}
	for i, f := range sc.Files {
		p := sts.ResolvePath(host, f)
		lks, err := LoadFile(p)
		if err == nil && len(lks) > 0 && lks[0].Secret {
			if perr := CheckPermissions(p); perr != nil {
				if strict {
					err = perr
				} else {
					warn(perr)
				}
			}
		}
		if err != nil {
			return nil, sts.ConfigErrorf(path+".files["+strconv.Itoa(i)+"]", "%v", err)
		}
		loaded = append(loaded, lks...)
	}
	ks, _ := NewKeystore(name, sc.Public)
	used := map[string]bool{}
	for _, lk := range loaded {
		kc := sc.Keys[lk.Label]
		used[lk.Label] = true
		opts := KeyOptions{Label: lk.Label, Key: lk.Key, Certificates: lk.Certificates,
			Alg: first(kc.Alg, lk.Alg), KID: first(kc.KID, lk.KID), Use: first(kc.Use, lk.Use),
			AllowWeak: a.WeakKeys == PolicyWarn}
		k, err := NewKey(opts)
		if err == nil {
			err = lk.CheckKeyOps(k.Use)
		}
		var w *WeakKeyWarning
		if errors.As(err, &w) {
			a.log.Warn("weak key loaded for verification only", "keystore", name, "label", lk.Label, "problem", w.Error())
			err = nil
		}
		if err != nil {
			return nil, sts.ConfigErrorf(path, "key %q (%s): %v", lk.Label, lk.File, err)
		}
		k.Generated = lk.generated
		if err := ks.add(k); err != nil {
			return nil, sts.ConfigErrorf(path, "%v", err)
		}
	}
	for label := range sc.Keys {
		if !used[label] {
			return nil, sts.ConfigErrorf(path+".keys."+label, "no key file with label %q", label)
		}
	}
	labels := make([]string, 0, len(sc.Secrets))
	for l := range sc.Secrets {
		labels = append(labels, l)
	}
	sort.Strings(labels)
	for _, label := range labels {
		scfg := sc.Secrets[label]
		sp := path + ".secrets." + label
		secret, err := scfg.read(host)
		if err != nil {
			return nil, sts.ConfigErrorf(sp, "%v", err)
		}
		if scfg.File != "" {
			if perr := CheckPermissions(sts.ResolvePath(host, scfg.File)); perr != nil {
				if strict {
					return nil, sts.ConfigErrorf(sp+".file", "%v", perr)
				}
				warn(perr)
			}
		}
		k, err := NewKey(KeyOptions{Label: label, Key: secret, Alg: first(scfg.Alg, "HS256"), KID: scfg.KID,
			Use: scfg.Use, AllowWeak: a.WeakKeys == PolicyWarn})
		var w *WeakKeyWarning
		if errors.As(err, &w) {
			a.log.Warn("weak secret loaded for verification only", "keystore", name, "label", label, "problem", w.Error())
			err = nil
		}
		if err != nil {
			return nil, sts.ConfigErrorf(sp, "%v", err)
		}
		if err := ks.add(k); err != nil {
			return nil, sts.ConfigErrorf(sp, "%v", err)
		}
	}
	return ks, nil
}

func first(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// read resolves the secret's bytes.
func (s SecretConfig) read(host sts.Host) ([]byte, error) {
	n := 0
	var raw string
	if s.Value != "" {
		n++
		raw = s.Value
	}
	if s.Env != "" {
		n++
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return nil, fmt.Errorf("environment variable %s is not set", s.Env)
		}
		raw = v
	}
	if s.File != "" {
		n++
		b, err := os.ReadFile(sts.ResolvePath(host, s.File))
		if err != nil {
			return nil, err
		}
		raw = strings.TrimRight(string(b), "\r\n")
	}
	if n != 1 {
		return nil, errors.New("exactly one of value, env and file is required")
	}
	return DecodeSecret(raw, s.Encoding)
}

// DecodeSecret decodes a configured secret: "raw" (or empty) takes the bytes
// as written; "base64", "base64url" (padding optional) and "hex" decode.
func DecodeSecret(raw, encoding string) ([]byte, error) {
	switch encoding {
	case "", "raw":
		return []byte(raw), nil
	case "base64":
		return base64.StdEncoding.DecodeString(raw)
	case "base64url":
		return base64.RawURLEncoding.DecodeString(strings.TrimRight(raw, "="))
	case "hex":
		return hex.DecodeString(raw)
	}
	return nil, fmt.Errorf("encoding %q: must be raw, base64, base64url or hex", encoding)
}

// Keystore returns the keystore with the name.
func (a *App) Keystore(name string) (*Keystore, bool) {
	ks, ok := a.stores[name]
	return ks, ok
}

// Keystores returns every keystore, sorted by name.
func (a *App) Keystores() []*Keystore {
	out := make([]*Keystore, 0, len(a.stores))
	for _, n := range a.storeNames() {
		if ks, ok := a.stores[n]; ok {
			out = append(out, ks)
		}
	}
	return out
}

// buildJWKS serializes the public keys of the public keystores once.
func (a *App) buildJWKS() ([]byte, error) {
	set := struct {
		Keys []map[string]any `json:"keys"`
	}{Keys: []map[string]any{}}
	seen := map[string]bool{}
	for _, ks := range a.Keystores() {
		if !ks.Public {
			continue
		}
		for _, k := range ks.Keys() {
			if k.IsSymmetric() || k.Public == nil {
				continue // never publish a secret
			}
			jwk, err := k.PublicJWK()
			if err != nil {
				return nil, sts.ConfigErrorf("stores."+ks.Name, "%v", err)
			}
			id := k.KID + "\x00" + k.Alg
			if seen[id] {
				continue
			}
			seen[id] = true
			set.Keys = append(set.Keys, jwk)
		}
	}
	return json.Marshal(set)
}

// JWKS returns the JSON JWK Set of the public keystores' public keys.
func (a *App) JWKS() []byte { return a.jwks }

// JWKSHandler serves GET /jwks.json with the public JWK Set and a
// Cache-Control that lets relying parties cache it for JWKSMaxAge.
func (a *App) JWKSHandler() http.Handler {
	maxAge := "public, max-age=" + strconv.Itoa(int(a.JWKSMaxAge/time.Second))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "application/jwk-set+json")
		h.Set("Cache-Control", maxAge)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Length", strconv.Itoa(len(a.jwks)))
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.jwks)
	})
}

// HTTPRoutes contributes GET /jwks.json to the public listener (the
// server mounts the routes of every app implementing it).
func (a *App) HTTPRoutes() map[string]http.Handler {
	h := a.JWKSHandler()
	return map[string]http.Handler{"GET /jwks.json": h, "HEAD /jwks.json": h}
}

// Ready reports whether the keystores loaded.
func (a *App) Ready() error {
	if a.stores == nil {
		return errors.New("keystores not loaded")
	}
	return nil
}

// Cleanup stops the remote JWK Set refreshers.
func (a *App) Cleanup() error {
	if a.cancel != nil {
		a.cancel()
	}
	return nil
}

var (
	_ sts.Provisioner      = (*App)(nil)
	_ sts.CleanerUpper     = (*App)(nil)
	_ sts.ReadinessChecker = (*App)(nil)
)
