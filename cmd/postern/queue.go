package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"postern/config"
	"postern/delivery/outbound"
	"postern/storage"
)

// The queue commands work on the store directly, beside a running server: a
// retry takes effect at the server's next scan of the queue (within 30 s).

func parseQueueID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, fmt.Errorf("%q is not a queue ID (see \"postern queue list\")", s)
	}
	return id, nil
}

func notFound(err error, id int64) error {
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("no queue entry %d (delivered or dropped already?)", id)
	}
	return err
}

func runQueueList(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		list, err := st.QueueList(context.Background())
		if err != nil {
			return err
		}
		if len(list) == 0 {
			fmt.Fprintln(env.stdout, "the queue is empty")
			return nil
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tSENDER\tDOMAIN\tPENDING\tSIZE\tATTEMPTS\tNEXT ATTEMPT\tLAST ERROR")
		for _, e := range list {
			fmt.Fprintf(w, "%d\t%s\t%s\t%d\t%d\t%d\t%s\t%s\n", e.ID, sender(e.From), e.Domain, len(e.Pending()), e.Size, e.Attempts,
				e.NextAttempt.Local().Format(time.DateTime), shorten(e.LastError, 60))
		}
		return w.Flush()
	})
}

func sender(s string) string {
	if s == "" {
		return "<>"
	}
	return s
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

func runQueueShow(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id, err := parseQueueID(pos[0])
	if err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		e, err := st.QueueEntry(context.Background(), id)
		if err != nil {
			return notFound(err, id)
		}
		out := env.stdout
		fmt.Fprintf(out, "ID:           %d\nMessage:      %s\nSender:       %s\nDomain:       %s\nSize:         %d\n", e.ID, e.MsgID, sender(e.From), e.Domain, e.Size)
		fmt.Fprintf(out, "Queued:       %s\nAttempts:     %d\n", e.Created.Local().Format(time.DateTime), e.Attempts)
		if !e.LastAttempt.IsZero() {
			fmt.Fprintf(out, "Last attempt: %s\n", e.LastAttempt.Local().Format(time.DateTime))
		}
		fmt.Fprintf(out, "Next attempt: %s\n", e.NextAttempt.Local().Format(time.DateTime))
		if e.LastError != "" {
			fmt.Fprintf(out, "Last error:   %s\n", e.LastError)
		}
		if e.EnvelopeID != "" || e.Return != "" {
			fmt.Fprintf(out, "DSN:          ENVID=%s RET=%s\n", e.EnvelopeID, e.Return)
		}
		fmt.Fprintln(out, "Recipients:")
		for _, r := range e.Recipients {
			line := fmt.Sprintf("  %s  %s", r.Address, r.Status)
			if len(r.Notify) > 0 {
				line += "  NOTIFY=" + strings.Join(r.Notify, ",")
			}
			if r.Error != "" {
				line += "  (" + r.Error + ")"
			}
			fmt.Fprintln(out, line)
		}
		return nil
	})
}

func runQueueRetry(env *cliEnv, fs *flag.FlagSet, args []string) error {
	all := fs.Bool("all", false, "make every queued message due now")
	pos, err := parseArgs(fs, args, 0, 1)
	if err != nil {
		return err
	}
	if *all == (len(pos) == 1) {
		fs.Usage()
		return errUsage
	}
	var id int64
	if !*all {
		if id, err = parseQueueID(pos[0]); err != nil {
			return err
		}
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		n, err := st.QueueRetry(context.Background(), id, time.Now())
		if err != nil {
			return notFound(err, id)
		}
		fmt.Fprintf(env.stdout, "%d queue entr%s due now\n", n, map[bool]string{true: "y", false: "ies"}[n == 1])
		return nil
	})
}

func runQueueDrop(env *cliEnv, fs *flag.FlagSet, args []string) error {
	silent := fs.Bool("silent", false, "send no bounce to the sender")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	id, err := parseQueueID(pos[0])
	if err != nil {
		return err
	}
	return withStore(env, func(cfg config.Config, st storage.AdminStore) error {
		r := outbound.New(outbound.Options{Store: st, Hostname: cfg.Hostname, Domains: cfg.Domains})
		if err := r.Drop(context.Background(), id, *silent); err != nil {
			return notFound(err, id)
		}
		if *silent {
			fmt.Fprintf(env.stdout, "dropped %d\n", id)
		} else {
			fmt.Fprintf(env.stdout, "dropped %d; the sender is told\n", id)
		}
		return nil
	})
}
