// Command postern is a mail server in one binary: SMTP in, IMAP and POP3 out,
// over one SQLite store. Run "postern help" for the commands.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"slices"
	"strings"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// command is one CLI command: "serve", "user add", ...
type command struct {
	name  string
	args  string // synopsis of the arguments
	short string
	run   func(env *cliEnv, fs *flag.FlagSet, args []string) error
}

var commands = []command{
	{"serve", "", "run the mail server", runServe},
	{"user add", "ADDRESS", "create an account (password from stdin, or prompted)", runUserAdd},
	{"user passwd", "ADDRESS", "change an account's password", runUserPasswd},
	{"user del", "ADDRESS [--yes]", "delete an account and all its mail (asks first; --yes does not)", runUserDel},
	{"user disable", "ADDRESS", "refuse an account's logins and mail, keeping its mail", runUserDisable},
	{"user enable", "ADDRESS", "undo user disable", runUserEnable},
	{"user list", "", "list accounts", runUserList},
	{"alias add", "ALIAS TARGET...", "add an alias (ALIAS is local@domain, or @domain for a catch-all)", runAliasAdd},
	{"alias del", "ALIAS", "delete an alias", runAliasDel},
	{"alias list", "", "list aliases", runAliasList},
	{"auth blocked", "", "list the addresses locked out after failed logins", runAuthBlocked},
	{"auth unblock", "ADDRESS [ACCOUNT]", "lift the lockouts of ADDRESS (of ACCOUNT only, if given) in the running server", runAuthUnblock},
	{"queue list", "", "list the outbound queue", runQueueList},
	{"queue show", "ID", "show a queued message and its recipients", runQueueShow},
	{"queue retry", "ID|--all", "try a queued message (or all) again now", runQueueRetry},
	{"queue drop", "ID [--silent]", "remove a queued message, with a bounce to the sender unless --silent", runQueueDrop},
	{"reindex", "", "analyse stored messages again after an upgrade that improves the analysis (the server keeps running)", runReindex},
	{"dkim keygen", "DOMAIN [-type ed25519|rsa]", "make a DKIM key for DOMAIN and print its DNS record", runDKIMKeygen},
	{"dns check", "DOMAIN [-servers HOST:PORT,...]", "look up DOMAIN's DNS records and report what is missing or wrong", runDNSCheck},
	{"dns", "DOMAIN", "print the DNS records DOMAIN needs, in zone-file form", runDNS},
	{"config check", "", "check the config file and report every problem; exit 1 if there is one", runConfigCheck},
	{"health", "", "ask the running server's /healthz (for container health checks)", runHealth},
	{"version", "", "print the version and the revision it was built from", runVersion},
}

// cliEnv is what commands read and write; tests substitute it.
type cliEnv struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	configFlag     string
	isTerminal     func() bool
}

// errUsage means the command line was wrong; usage has been printed.
var errUsage = errors.New("usage")

func main() {
	env := &cliEnv{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, isTerminal: stdinIsTerminal}
	os.Exit(run(env, os.Args[1:]))
}

func run(env *cliEnv, args []string) int {
	top := flag.NewFlagSet("postern", flag.ContinueOnError)
	top.SetOutput(env.stderr)
	top.StringVar(&env.configFlag, "config", "", "config file (default $POSTERN_CONFIG, else ./config.toml)")
	top.Usage = func() {}
	if err := top.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			usage(env.stdout)
			return 0
		}
		usage(env.stderr)
		return 2
	}
	args = top.Args()
	if len(args) == 0 {
		usage(env.stderr)
		return 2
	}
	if isHelp(args[0]) {
		// "postern help user add" is "postern user add -h".
		if len(args) == 1 {
			usage(env.stdout)
			return 0
		}
		args = append(args[1:], "-h")
	}
	c := findCommand(args)
	if c == nil {
		if g := group(args[0]); len(g) > 0 {
			if len(args) == 1 || isHelp(args[1]) {
				w, code := env.stdout, 0
				if len(args) == 1 {
					w, code = env.stderr, 2
				}
				groupUsage(w, args[0], g)
				return code
			}
			fmt.Fprintf(env.stderr, "postern: unknown command %q\n\n", strings.Join(args, " "))
			groupUsage(env.stderr, args[0], g)
			return 2
		}
		fmt.Fprintf(env.stderr, "postern: unknown command %q\n\n", strings.Join(args, " "))
		usage(env.stderr)
		return 2
	}
	rest := args[len(strings.Fields(c.name)):]
	fs := flag.NewFlagSet("postern "+c.name, flag.ContinueOnError)
	// Help asked for goes to stdout; help after a mistake to stderr.
	out := env.stderr
	if slices.ContainsFunc(rest, isHelp) {
		out = env.stdout
	}
	fs.SetOutput(out)
	fs.StringVar(&env.configFlag, "config", env.configFlag, "config file (default $POSTERN_CONFIG, else ./config.toml)")
	fs.Usage = func() { commandUsage(out, c, fs) }
	if err := c.run(env, fs, rest); err != nil {
		switch {
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			return 2
		case errors.Is(err, errProblems):
			return 1 // printed already
		}
		fmt.Fprintf(env.stderr, "postern %s: %v\n", c.name, err)
		return 1
	}
	return 0
}

func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// group returns the commands whose name starts with word ("user": user
// add, user del, ...), when there are several.
func group(word string) []*command {
	var out []*command
	for i := range commands {
		if w, _, ok := strings.Cut(commands[i].name, " "); ok && w == word {
			out = append(out, &commands[i])
		}
	}
	return out
}

func groupUsage(w io.Writer, word string, cmds []*command) {
	fmt.Fprintf(w, "Usage: postern [-config FILE] %s COMMAND [ARGS]\n\nCommands:\n", word)
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-32s %s\n", strings.TrimSpace(c.name+" "+c.args), c.short)
	}
	fmt.Fprintf(w, "\nRun \"postern %s COMMAND -h\" for a command's options.\n", word)
}

// findCommand matches the longest command name at the start of args.
func findCommand(args []string) *command {
	for i := range commands {
		words := strings.Fields(commands[i].name)
		if len(args) >= len(words) && strings.Join(args[:len(words)], " ") == commands[i].name {
			return &commands[i]
		}
	}
	return nil
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "Postern %s: a mail server (SMTP, IMAP, POP3) in one binary.\n\nUsage: postern [-config FILE] COMMAND [ARGS]\n\nCommands:\n", version)
	for _, c := range commands {
		fmt.Fprintf(w, "  %-28s %s\n", strings.TrimSpace(c.name+" "+c.args), c.short)
	}
	fmt.Fprintf(w, "\nRun \"postern COMMAND -h\" for a command's options. The config file is -config FILE,\nelse $POSTERN_CONFIG, else ./config.toml.\n")
}

func commandUsage(w io.Writer, c *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "Usage: postern %s [-config FILE] %s\n\n%s.\n", c.name, c.args, strings.ToUpper(c.short[:1])+c.short[1:])
	if fs != nil {
		fmt.Fprintln(w, "\nOptions:")
		fs.SetOutput(w)
		fs.PrintDefaults()
	}
}

// parseArgs parses a command's flags and checks the number of positional args.
func parseArgs(fs *flag.FlagSet, args []string, min, max int) ([]string, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, errUsage
	}
	rest := fs.Args()
	// Allow flags after positional arguments too ("user add bob@x -config f").
	var pos []string
	for len(rest) > 0 {
		pos = append(pos, rest[0])
		if err := fs.Parse(rest[1:]); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		rest = fs.Args()
	}
	if len(pos) < min || (max >= 0 && len(pos) > max) {
		fs.Usage()
		return nil, errUsage
	}
	return pos, nil
}

func runVersion(env *cliEnv, fs *flag.FlagSet, args []string) error {
	if _, err := parseArgs(fs, args, 0, 0); err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, versionLine())
	return nil
}

// versionLine is the version with what the build info says: the module
// version (a release) or the VCS revision it was built from, its time, and
// whether the tree had changes; and the Go version.
func versionLine() string {
	v := version
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "postern " + v
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var rev, when, modified string
	for _, st := range info.Settings {
		switch st.Key {
		case "vcs.revision":
			rev = st.Value
		case "vcs.time":
			when = st.Value
		case "vcs.modified":
			if st.Value == "true" {
				modified = ", with uncommitted changes"
			}
		}
	}
	line := "postern " + v
	if rev != "" {
		line += " (revision " + rev
		if when != "" {
			line += " of " + when
		}
		line += modified + ")"
	}
	return line + " " + info.GoVersion
}
