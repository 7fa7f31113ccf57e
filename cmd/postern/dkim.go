package main

import (
	"flag"
	"fmt"

	"postern/config"
	"postern/dkim"
)

func runDKIMKeygen(env *cliEnv, fs *flag.FlagSet, args []string) error {
	kind := fs.String("type", dkim.Ed25519, "key type: ed25519 or rsa (RSA-2048; verified by every receiver)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cfg, err := config.Load(config.Path(env.configFlag))
	if err != nil {
		return err
	}
	if !cfg.ServesDomain(pos[0]) {
		return fmt.Errorf("domain %q is not served (domains = %q in the config)", pos[0], cfg.Domains)
	}
	k, err := dkim.Generate(cfg.DataDir, pos[0], cfg.DKIM.Selector, *kind)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stderr, "wrote %s; publish this DNS record, then restart postern:\n", k.Path)
	fmt.Fprintln(env.stdout, k.Record())
	return nil
}
