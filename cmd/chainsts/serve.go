package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
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
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the STS server (public and admin listeners)",
		Long: `Run the STS server: the public listener (native STS API and the endpoints
of the configured apps) and the admin listener (/healthz, /readyz, /metrics).

SIGHUP reloads the configuration (a broken configuration is logged and the
running one keeps serving); SIGTERM or SIGINT shut down gracefully.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serve(cmd, configPath)
		},
	}
	addConfigFlag(cmd, &configPath)
	return cmd
}

func serve(cmd *cobra.Command, configPath string) error {
	started := time.Now()
	log := newLogger(cmd, configPath, "")
	v, c := buildVersion()
	log.Info("starting chainsts", "version", v, "commit", c, "config", configPath)

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
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go func() {
		for {
			select {
			case <-sigCtx.Done():
				return
			case <-hup:
				log.Info("SIGHUP: reloading the configuration")
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
