package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"postern/config"
	"postern/internal/server"
)

// runServe runs the server until SIGINT or SIGTERM, then stops accepting, lets
// in-flight commands finish (bounded by config.ShutdownTimeout) and exits 0.
// SIGHUP re-reads the TLS certificate and key and keeps serving.
func runServe(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	cfg, err := config.Load(config.Path(env.configFlag))
	if err != nil {
		return err
	}
	logger := server.NewLogger(cfg.LogFormat, env.stderr)
	srv, err := server.New(cfg, logger)
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		srv.Close()
		return err
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	srv.Serve()
	logger.Info("postern started", "version", version, "hostname", cfg.Hostname, "domains", cfg.Domains, "data_dir", cfg.DataDir)

	var runErr error
wait:
	for {
		select {
		case sig := <-sigs:
			if sig == syscall.SIGHUP {
				logger.Info("reloading", "signal", sig.String())
				srv.Reload() // logs what it did or refused
				continue
			}
			logger.Info("shutting down", "signal", sig.String())
			break wait
		case err := <-srv.Errors():
			runErr = fmt.Errorf("a listener stopped: %w", err)
			break wait
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Error("shutdown", "err", err)
	}
	logger.Info("stopped")
	return runErr
}
