package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"

	"postern/config"
	"postern/mailaddr"
	"postern/storage"
)

func runAliasAdd(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 2, -1)
	if err != nil {
		return err
	}
	return withStore(env, func(cfg config.Config, st storage.AdminStore) error {
		ctx := context.Background()
		alias := mailaddr.Normalize(pos[0])
		domainCheck := alias
		if strings.HasPrefix(alias, "@") {
			domainCheck = "catch-all" + alias
		}
		if err := checkDomain(cfg, domainCheck); err != nil {
			return err
		}
		if _, err := st.AccountByAddress(ctx, alias); err == nil {
			return fmt.Errorf("%s is an account; an alias cannot have the same address", alias)
		}
		targets := make([]string, len(pos)-1)
		for i, t := range pos[1:] {
			if mailaddr.Key(t) == mailaddr.Key(alias) {
				return fmt.Errorf("refused: %s would loop (%s -> %s); mail to it would never arrive", alias, alias, alias)
			}
			if targets[i], err = checkAliasTarget(ctx, cfg, st, t); err != nil {
				return err
			}
		}
		if path := aliasLoop(ctx, st, alias, targets); path != nil {
			return fmt.Errorf("refused: %s would loop (%s); mail to it would never arrive", alias, strings.Join(path, " -> "))
		}
		if err := st.AddAlias(ctx, alias, targets); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s -> %s\n", alias, strings.Join(targets, ", "))
		return nil
	})
}

// checkAliasTarget accepts an address outside the served domains (mail is
// forwarded there) or an account or alias here, with or without a +tag,
// and returns it in normal form. A local address that is neither is a typo
// or an account yet to be made: mail to the alias would bounce.
func checkAliasTarget(ctx context.Context, cfg config.Config, st storage.AdminStore, target string) (string, error) {
	a, err := mailaddr.Parse(target)
	if err != nil {
		return "", fmt.Errorf("alias target %q is not an address: %w", target, err)
	}
	if !cfg.ServesDomain(a.Domain) {
		return a.String(), nil
	}
	candidates := []string{a.String()}
	if base, _, plus := strings.Cut(a.Local, "+"); plus && base != "" {
		candidates = append(candidates, mailaddr.Address{Local: base, Domain: a.Domain}.String())
	}
	for _, c := range candidates {
		if _, err := st.AccountByAddress(ctx, c); err == nil {
			return a.String(), nil
		}
		if _, err := st.AliasTargets(ctx, c); err == nil {
			return a.String(), nil
		}
	}
	return "", fmt.Errorf("alias target %s is neither an account nor an alias here (%s is served here): create it first with \"postern user add\" or \"postern alias add\", or check the spelling",
		a.String(), a.Domain)
}

// aliasLoop returns the path by which alias would reach itself through
// targets and the aliases already stored, or nil.
func aliasLoop(ctx context.Context, st storage.AdminStore, alias string, targets []string) []string {
	want := mailaddr.Key(alias)
	seen := map[string]bool{}
	var walk func(addr string, path []string) []string
	walk = func(addr string, path []string) []string {
		path = append(path, addr)
		k := mailaddr.Key(addr)
		if k == want {
			return path
		}
		if seen[k] || len(path) > 20 {
			return nil
		}
		seen[k] = true
		next, err := st.AliasTargets(ctx, addr)
		if err != nil {
			return nil
		}
		for _, n := range next {
			if p := walk(n, path); p != nil {
				return p
			}
		}
		return nil
	}
	for _, t := range targets {
		if p := walk(t, []string{alias}); p != nil {
			return p
		}
	}
	return nil
}

func runAliasDel(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		if err := st.DeleteAlias(context.Background(), pos[0]); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("no alias %s", pos[0])
			}
			return err
		}
		fmt.Fprintf(env.stdout, "deleted %s\n", mailaddr.Normalize(pos[0]))
		return nil
	})
}

func runAliasList(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		list, err := st.Aliases(context.Background())
		if err != nil {
			return err
		}
		for _, a := range list {
			fmt.Fprintf(env.stdout, "%s -> %s\n", a.Address, strings.Join(a.Targets, ", "))
		}
		return nil
	})
}
