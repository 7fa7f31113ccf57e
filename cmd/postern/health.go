package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"postern/config"
)

// healthTimeout bounds "postern health"; a container health check must not
// hang.
const healthTimeout = 10 * time.Second

// runHealth asks the running server's /healthz over the configured HTTP
// listener. It exists so that container images without curl can run a
// HEALTHCHECK with the binary itself.
func runHealth(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	cfg, err := config.Load(config.Path(env.configFlag))
	if err != nil {
		return err
	}
	url, err := healthURL(cfg)
	if err != nil {
		return err
	}
	client := &http.Client{
		Timeout: healthTimeout,
		// The server's certificate names its public hostname, not the
		// loopback address asked here.
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
	}
	resp, err := client.Get(url)
	if err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprint(env.stdout, string(body))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}

// healthURL is /healthz on the HTTP listener, reached over loopback when it
// listens on all addresses.
func healthURL(cfg config.Config) (string, error) {
	scheme, addr := "http", cfg.HTTP.Listen
	if addr == "" {
		scheme, addr = "https", cfg.HTTP.ListenTLS
	}
	if addr == "" {
		return "", errors.New("[http] listen and listen_tls are both off: no /healthz to ask")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("[http] listen: %w", err)
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port + "/healthz", nil
}
