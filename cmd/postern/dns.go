package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"postern/config"
	"postern/dnsrecords"
)

// dnsParams loads the config and the parameters of a served domain.
func dnsParams(env *cliEnv, domain string) (config.Config, dnsrecords.Params, error) {
	cfg, err := config.Load(config.Path(env.configFlag))
	if err != nil {
		return cfg, dnsrecords.Params{}, err
	}
	if !cfg.ServesDomain(domain) {
		return cfg, dnsrecords.Params{}, fmt.Errorf("domain %q is not served (domains = %q in the config)", domain, cfg.Domains)
	}
	p, err := dnsrecords.ParamsFor(&cfg, domain)
	return cfg, p, err
}

func runDNS(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	_, p, err := dnsParams(env, pos[0])
	if err != nil {
		return err
	}
	dnsrecords.WriteZone(env.stdout, p.Domain, dnsrecords.Records(p))
	return nil
}

func runDNSCheck(env *cliEnv, fs *flag.FlagSet, args []string) error {
	servers := fs.String("servers", "", "resolvers to ask, host:port[,host:port] (default [dns] servers, else /etc/resolv.conf)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	cfg, p, err := dnsParams(env, pos[0])
	if err != nil {
		return err
	}
	list := cfg.DNS.Servers
	if *servers != "" {
		list = strings.Split(*servers, ",")
	}
	results := dnsrecords.Check(context.Background(), dnsrecords.NewResolver(list), p, dnsrecords.Records(p))
	if !dnsrecords.WriteReport(env.stdout, results) {
		return errors.New("required DNS records are missing or wrong (see above)")
	}
	return nil
}
