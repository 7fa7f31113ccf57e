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
	return withStore(env, func(cfg config.Config, st *storage.Store) error {
		alias := mailaddr.Normalize(pos[0])
		domainCheck := alias
		if strings.HasPrefix(alias, "@") {
			domainCheck = "catch-all" + alias
		}
		if err := checkDomain(cfg, domainCheck); err != nil {
			return err
		}
		if _, err := st.AccountByAddress(context.Background(), alias); err == nil {
			return fmt.Errorf("%s is an account; an alias cannot have the same address", alias)
		}
		if err := st.AddAlias(context.Background(), alias, pos[1:]); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s -> %s\n", alias, strings.Join(pos[1:], ", "))
		return nil
	})
}

func runAliasDel(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st *storage.Store) error {
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
	return withStore(env, func(_ config.Config, st *storage.Store) error {
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
