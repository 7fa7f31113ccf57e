package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"golang.org/x/term"

	"postern/config"
	"postern/mailaddr"
	"postern/storage"
	"postern/storage/sqlite"
)

// openStore loads the config and opens the store it names. The CLI runs beside a
// live server: SQLite's locking and the store's busy timeout make that safe.
func openStore(env *cliEnv) (config.Config, *sqlite.Store, error) {
	cfg, err := config.Load(config.Path(env.configFlag))
	if err != nil {
		return cfg, nil, err
	}
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{})
	return cfg, st, err
}

// withStore runs fn with the config and the store it names, and closes the
// store after.
func withStore(env *cliEnv, fn func(cfg config.Config, st storage.AdminStore) error) error {
	cfg, st, err := openStore(env)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(cfg, st)
}

// checkDomain refuses an address outside the served domains: mail for it could
// never arrive here.
func checkDomain(cfg config.Config, address string) error {
	_, domain, ok := mailaddr.Split(address)
	if !ok {
		return fmt.Errorf("%q is not an email address (want local@domain)", address)
	}
	if !cfg.ServesDomain(domain) {
		return fmt.Errorf("%s: domain %q is not served (domains = %q in the config)", address, domain, cfg.Domains)
	}
	return nil
}

func stdinIsTerminal() bool { return term.IsTerminal(int(os.Stdin.Fd())) }

// readPassword reads a new password and checks its length against
// [auth] min_password_length.
func readPassword(env *cliEnv, cfg config.Config) (string, error) {
	pw, err := readPasswordLine(env)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(pw); n < cfg.Auth.MinPasswordLength {
		return "", fmt.Errorf("the password is too short: %d characters, want at least %d ([auth] min_password_length); a few words make a long one that is easy to type",
			n, cfg.Auth.MinPasswordLength)
	}
	return pw, nil
}

// readPasswordLine reads one line from stdin when it is not a terminal
// (scripts, docker exec -i), else prompts twice without echo.
func readPasswordLine(env *cliEnv) (string, error) {
	if !env.isTerminal() {
		line, err := bufio.NewReader(io.LimitReader(env.stdin, 4096)).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			if errors.Is(err, io.EOF) {
				return "", errors.New("password is empty (give it as one line on stdin)")
			}
			return "", err
		}
		pw := strings.TrimRight(line, "\r\n")
		if pw == "" {
			return "", errors.New("password is empty")
		}
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	fmt.Fprint(env.stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(env.stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(env.stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords do not match")
	}
	if len(a) == 0 {
		return "", errors.New("password is empty")
	}
	return string(a), nil
}

func runUserAdd(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(cfg config.Config, st storage.AdminStore) error {
		addr := mailaddr.Normalize(pos[0])
		if err := checkDomain(cfg, addr); err != nil {
			return err
		}
		if _, err := st.AccountByAddress(context.Background(), addr); err == nil {
			return fmt.Errorf("account %s already exists (use \"postern user passwd\" to change its password)", addr)
		}
		pw, err := readPassword(env, cfg)
		if err != nil {
			return err
		}
		if _, err := st.CreateAccount(context.Background(), addr, pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "created %s\n", addr)
		return nil
	})
}

func runUserPasswd(env *cliEnv, fs *flag.FlagSet, args []string) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(cfg config.Config, st storage.AdminStore) error {
		if _, err := st.AccountByAddress(context.Background(), pos[0]); err != nil {
			return fmt.Errorf("no account %s", pos[0])
		}
		pw, err := readPassword(env, cfg)
		if err != nil {
			return err
		}
		if err := st.SetPassword(context.Background(), pos[0], pw); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "password changed for %s\n", mailaddr.Normalize(pos[0]))
		return nil
	})
}

func runUserDel(env *cliEnv, fs *flag.FlagSet, args []string) error {
	yes := fs.Bool("yes", false, "delete without asking (for scripts)")
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		a, err := st.AccountByAddress(context.Background(), pos[0])
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("no account %s", pos[0])
			}
			return err
		}
		if !*yes {
			if !env.isTerminal() {
				return fmt.Errorf("not deleted: %s and all its mail would be gone for good; add --yes to delete without asking", a.Address)
			}
			fmt.Fprintf(env.stderr, "Delete %s and all its mail? This cannot be undone. [y/N] ", a.Address)
			line, _ := bufio.NewReader(io.LimitReader(env.stdin, 256)).ReadString('\n')
			if answer := strings.ToLower(strings.TrimSpace(line)); answer != "y" && answer != "yes" {
				return errors.New("not deleted")
			}
		}
		if err := st.DeleteAccount(context.Background(), a.Address); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("no account %s", pos[0])
			}
			return err
		}
		fmt.Fprintf(env.stdout, "deleted %s\n", a.Address)
		return nil
	})
}

func runUserDisable(env *cliEnv, fs *flag.FlagSet, args []string) error {
	return setUserDisabled(env, fs, args, true)
}

func runUserEnable(env *cliEnv, fs *flag.FlagSet, args []string) error {
	return setUserDisabled(env, fs, args, false)
}

func setUserDisabled(env *cliEnv, fs *flag.FlagSet, args []string, disable bool) error {
	pos, err := parseArgs(fs, args, 1, 1)
	if err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		a, err := st.AccountByAddress(context.Background(), pos[0])
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("no account %s", pos[0])
			}
			return err
		}
		set, done := st.EnableAccount, "enabled"
		if disable {
			set, done = st.DisableAccount, "disabled"
		}
		if err := set(context.Background(), a.Address); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s %s\n", done, a.Address)
		return nil
	})
}

func runUserList(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	return withStore(env, func(_ config.Config, st storage.AdminStore) error {
		accts, err := st.Accounts(context.Background())
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(env.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ADDRESS\tCREATED\tSTATUS")
		for _, a := range accts {
			status := "active"
			if a.Disabled {
				status = "disabled"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\n", a.Address, a.Created.UTC().Format("2006-01-02 15:04"), status)
		}
		return w.Flush()
	})
}
