package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"postern/auth"
	"postern/config"
	"postern/mailaddr"
	"postern/storage"
)

// runAuthBlocked lists the login lockouts in force, as the running server
// keeps them in the store.
func runAuthBlocked(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		now := time.Now()
		blocks, err := st.AuthBlocks(context.Background(), now)
		if err != nil {
			return err
		}
		if len(blocks) == 0 {
			fmt.Fprintln(env.stdout, "no address is locked out")
			return nil
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ADDRESS\tACCOUNT\tUNTIL\tFAILURES\tREASON")
		for _, b := range blocks {
			account := b.Account
			if account == "" {
				account = "(every account)"
			}
			left := b.Until.Sub(now).Round(time.Second)
			fmt.Fprintf(w, "%s\t%s\t%s (%s)\t%d\t%s\n", b.Source, account, b.Until.UTC().Format("2006-01-02 15:04:05Z"), left, b.Failures, b.Reason)
		}
		return w.Flush()
	})
}

// runAuthUnblock lifts the lockouts of an address (of one account only,
// if named). The running server sees it at the address's next attempt.
func runAuthUnblock(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 2)
	if err != nil {
		return err
	}
	src, err := auth.ParseSource(pos[0])
	if err != nil {
		return fmt.Errorf("%w (give the address \"postern auth blocked\" lists)", err)
	}
	account := ""
	if len(pos) == 2 {
		account = mailaddr.Normalize(pos[1])
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		source := auth.SourceString(src)
		n, err := st.DeleteAuthBlocks(context.Background(), source, account)
		if err != nil {
			return err
		}
		if n == 0 {
			what := source
			if account != "" {
				what += " for " + account
			}
			return fmt.Errorf("no lockout of %s (\"postern auth blocked\" lists them)", what)
		}
		fmt.Fprintf(env.stdout, "unblocked %s (%d lockout(s) lifted)\n", source, n)
		return nil
	})
}
