package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/chainsts/chainsts/chains"
	"github.com/chainsts/chainsts/server"
)

func init() { addCommand(newServeCmd) }

func newServeCmd() *cobra.Command {
	var configPath string
	var watch time.Duration
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the STS server (public and admin listeners)",
		Long: `Run the STS server: the public listener (native STS API and the endpoints
of the configured apps) and the admin listener (/healthz, /readyz, /metrics).

SIGHUP reloads the configuration (a broken configuration is logged and the
running one keeps serving); SIGTERM or SIGINT shut down gracefully. With
--watch, a change to the configuration files (the file, or the *.yaml and
*.yml files of the directory) reloads too; files they refer to (rules, keys,
certificates) still need a SIGHUP.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, configPath, watch)
		},
	}
	addConfigFlag(cmd, &configPath)
	cmd.Flags().DurationVar(&watch, "watch", 0, "also reload when the configuration files change, checking at this interval (e.g. 2s); 0 disables")
	return cmd
}

func serve(cmd *cobra.Command, configPath string, watch time.Duration) error {
	started := time.Now()
	log := newLogger(cmd, configPath, "")
	v, c := buildVersion()
	log.Info("starting chainsts", "version", v, "commit", c, "config", configPath)
	// The watcher compares with the files as they were before the load, so
	// a change made while loading (or before the watcher first runs) is
	// not missed.
	var loadedStamp string
	if watch > 0 {
		loadedStamp = configStamp(configPath)
	}

	metrics := server.NewMetrics(v, c)
	ctx := cmd.Context()
	m, err := chains.NewManager(ctx, configPath, chains.Options{Logger: log, Observer: metrics})
	if err != nil {
		log.Error("the configuration has errors")
		return reportConfigErrors(cmd.ErrOrStderr(), err)
	}
	defer func() {
		if err := m.Close(); err != nil {
			log.Error("cleanup failed", "error", err)
		}
	}()
	rt := m.Current()
	for _, w := range rt.Warnings() {
		log.Warn("configuration warning", "problem", w.String())
	}
	applyLogLevel(cmd, log, m)

	srv, err := server.New(server.Options{Runtimes: server.FromManager(m), Logger: log, Metrics: metrics})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	sigCtx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	go func() {
		// After the first signal, a second one gets the default action
		// (exit at once) for an operator who does not want to wait.
		<-sigCtx.Done()
		stop()
	}()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	if watch > 0 {
		go watchConfig(sigCtx, configPath, loadedStamp, watch, hup, log)
	}
	go func() {
		for {
			select {
			case <-sigCtx.Done():
				return
			case <-hup:
				log.Info("reloading the configuration")
				if err := srv.Reload(sigCtx); err != nil {
					var ce *chains.ConfigErrors
					if errors.As(err, &ce) {
						for _, p := range ce.Problems {
							log.Error("configuration problem", "problem", p.String())
						}
					}
					continue
				}
				applyLogLevel(cmd, log, m)
			}
		}
	}()
	log.Info("ready", "startup_ms", time.Since(started).Milliseconds(), "chains", len(rt.Chains()))
	err = srv.Serve(sigCtx)
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	return err
}

// applyLogLevel sets the level from the current configuration's logging
// section, unless --log-level fixed it.
func applyLogLevel(cmd *cobra.Command, log hclog.Logger, m *chains.Manager) {
	if g, ok := cmd.Context().Value(flagsKey{}).(*globalFlags); ok && g.logLevel != "" {
		return
	}
	rt, release := m.Acquire()
	defer release()
	if rt == nil {
		return
	}
	a, err := rt.App(server.LoggingAppName)
	if err != nil {
		return
	}
	if l, ok := a.(*server.Logging); ok {
		if lvl := hclog.LevelFromString(l.Level); lvl != hclog.NoLevel && lvl != log.GetLevel() {
			log.SetLevel(lvl)
			log.Info("log level set", "level", l.Level)
		}
	}
}

// watchConfig sends on reload when the configuration files differ from
// last (their stamp when the serving configuration was read). It polls
// their names, sizes and modification times: simple, portable, and cheap
// at the intervals that make sense for configuration.
func watchConfig(ctx context.Context, path, last string, every time.Duration, reload chan<- os.Signal, log hclog.Logger) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		cur := configStamp(path)
		if cur == last {
			continue
		}
		last = cur
		log.Info("configuration files changed")
		select {
		case reload <- syscall.SIGHUP:
		default:
			// A reload is already pending.
		}
	}
}

// configStamp summarizes the configuration files' names, sizes and
// modification times (or why they cannot be listed, so that a directory
// that becomes readable again also counts as a change).
func configStamp(path string) string {
	files, err := chains.ConfigFiles(path)
	if err != nil {
		return "error:" + err.Error()
	}
	var b strings.Builder
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			fmt.Fprintf(&b, "%s:missing;", f)
			continue
		}
		fmt.Fprintf(&b, "%s:%d:%d;", f, fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}
