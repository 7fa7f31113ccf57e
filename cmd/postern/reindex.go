package main

import (
	"context"
	"flag"
	"fmt"

	"postern/config"
	"postern/mimeinfo"
	"postern/progress"
	"postern/storage"
)

// reindexBatch is how many bodies one write of `postern reindex` updates:
// a transaction of a few milliseconds, so that the running server's
// deliveries barely wait for it.
const reindexBatch = 100

// runReindex analyses again every stored message that an older version
// of the analysis (mimeinfo.Version) computed, while the server runs.
func runReindex(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		ctx := context.Background()
		total, err := st.StaleBodies(ctx)
		if err != nil {
			return err
		}
		if total == 0 {
			fmt.Fprintf(env.stdout, "every message is analysed by the current version (%d); nothing to do\n", mimeinfo.Version)
			return nil
		}
		rep := progress.New(env.stderr, progress.Options{Label: "reindex", Unit: "messages", Items: int64(total)})
		defer rep.Finish()
		done, next := 0, int64(0)
		for {
			n, after, err := st.ReindexBodies(ctx, next, reindexBatch)
			if err != nil {
				return fmt.Errorf("after %d of %d messages: %w (run it again to go on)", done, total, err)
			}
			if n == 0 {
				break
			}
			done, next = done+n, after
			rep.Add(int64(n), 0)
		}
		rep.Finish()
		// Counting again records that none is left, so that the server
		// need not look at its next start.
		if left, err := st.StaleBodies(ctx); err != nil {
			return err
		} else if left > 0 {
			return fmt.Errorf("%d messages are still to analyse (stored by an older postern meanwhile?); run it again", left)
		}
		fmt.Fprintf(env.stdout, "reindexed %s messages (analysis version %d)\n", progress.Count(int64(done)), mimeinfo.Version)
		return nil
	})
}
