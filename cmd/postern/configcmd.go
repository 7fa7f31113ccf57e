package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"postern/config"
)

// errProblems means problems were found and printed.
var errProblems = errors.New("the configuration has problems")

// runConfigCheck reads the config file as "serve" does and prints every
// problem it has, one a line, or that it is fine.
func runConfigCheck(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	path := config.Path(env.configFlag)
	cfg, err := config.Load(path)
	if err != nil {
		var problems []string
		for _, line := range strings.Split(err.Error(), "\n") {
			line = strings.TrimPrefix(line, path+": ")
			if line != "" {
				problems = append(problems, line)
			}
		}
		fmt.Fprintf(env.stdout, "%s: %d problem(s):\n", path, len(problems))
		for _, p := range problems {
			fmt.Fprintf(env.stdout, "  %s\n", p)
		}
		return errProblems
	}
	if fi, err := os.Stat(cfg.DataDir); err == nil && !fi.IsDir() {
		fmt.Fprintf(env.stdout, "%s: 1 problem(s):\n  data_dir: %s is not a directory\n", path, cfg.DataDir)
		return errProblems
	}
	on := 0
	for _, l := range cfg.Listeners() {
		if l.Addr != "" {
			on++
		}
	}
	fmt.Fprintf(env.stdout, "%s: OK (data_dir %s; %d domain(s); %d mail listener(s))\n", path, cfg.DataDir, len(cfg.Domains), on)
	return nil
}
