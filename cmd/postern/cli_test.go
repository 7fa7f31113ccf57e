package main

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postern/config"
	"postern/mimeinfo"
	"postern/storage"
	"postern/storage/sqlite"
)

// writeConfig writes a config whose data_dir is a fresh temp dir and returns its path.
func writeConfig(t *testing.T, extra string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	text := "hostname = \"localhost\"\ndata_dir = \"" + filepath.Join(dir, "data") + "\"\ndomains = [\"example.test\"]\n" + extra
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// cli runs one command in-process with stdin and returns exit code and output.
func cli(t *testing.T, cfgPath, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb, isTerminal: func() bool { return false }}
	code := run(env, append([]string{"-config", cfgPath}, args...))
	return code, out.String(), errb.String()
}

func TestUserCommands(t *testing.T) {
	cfg := writeConfig(t, "")
	if code, out, errs := cli(t, cfg, "correct horse\n", "user", "add", "alice@example.test"); code != 0 || !strings.Contains(out, "created alice@example.test") {
		t.Fatalf("user add: %d %q %q", code, out, errs)
	}
	cases := []struct {
		stdin string
		args  []string
		want  string
	}{
		{"long enough password\n", []string{"user", "add", "alice@example.test"}, "already exists"},
		{"long enough password\n", []string{"user", "add", "bob@elsewhere.test"}, "not served"},
		{"short\n", []string{"user", "add", "bob@example.test"}, "too short: 5 characters, want at least 10 ([auth] min_password_length)"},
		{"short\n", []string{"user", "passwd", "alice@example.test"}, "too short"},
		{"\n", []string{"user", "add", "bob@example.test"}, "password is empty"},
		{"", []string{"user", "add", "bob@example.test"}, "password is empty"},
		{"long enough password\n", []string{"user", "add", "not-an-address"}, "not an email address"},
		{"long enough password\n", []string{"user", "passwd", "nobody@example.test"}, "no account"},
		{"", []string{"user", "del", "nobody@example.test"}, "no account"},
		{"", []string{"alias", "del", "nothing@example.test"}, "no alias"},
		{"", []string{"alias", "add", "x@elsewhere.test", "alice@example.test"}, "not served"},
		{"", []string{"alias", "add", "alice@example.test", "bob@example.test"}, "is an account"},
	}
	for _, c := range cases {
		code, _, errs := cli(t, cfg, c.stdin, c.args...)
		if code != 1 || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 1 and %q", c.args, code, errs, c.want)
		}
	}
	// The CLI takes the config from $POSTERN_CONFIG too, and -config after the arguments.
	t.Setenv("POSTERN_CONFIG", cfg)
	var out bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader("second password\n"), stdout: &out, stderr: &out, isTerminal: func() bool { return false }}
	if code := run(env, []string{"user", "add", "bob@example.test"}); code != 0 {
		t.Fatalf("user add via $POSTERN_CONFIG: %d %s", code, out.String())
	}
	if code, _, errs := cli(t, "", "third password\n", "user", "add", "carol@example.test", "-config", cfg); code != 0 {
		t.Fatalf("flag after args: %s", errs)
	}
	code, out2, _ := cli(t, cfg, "", "user", "list")
	if code != 0 || !strings.Contains(out2, "alice@example.test") || !strings.Contains(out2, "bob@example.test") || !strings.Contains(out2, "carol@example.test") {
		t.Errorf("user list: %q", out2)
	}
	if code, _, errs := cli(t, cfg, "new password\n", "user", "passwd", "alice@example.test"); code != 0 {
		t.Errorf("passwd: %s", errs)
	}
	if code, _, errs := cli(t, cfg, "", "alias", "add", "team@example.test", "alice@example.test", "bob@example.test"); code != 0 {
		t.Errorf("alias add: %s", errs)
	}
	if code, _, errs := cli(t, cfg, "", "alias", "add", "@example.test", "alice@example.test"); code != 0 {
		t.Errorf("catch-all add: %s", errs)
	}
	if _, out, _ := cli(t, cfg, "", "alias", "list"); !strings.Contains(out, "team@example.test -> alice@example.test, bob@example.test") || !strings.Contains(out, "@example.test -> alice@example.test") {
		t.Errorf("alias list: %q", out)
	}
	if code, _, _ := cli(t, cfg, "", "alias", "del", "team@example.test"); code != 0 {
		t.Error("alias del failed")
	}
	if code, _, _ := cli(t, cfg, "", "user", "del", "bob@example.test", "--yes"); code != 0 {
		t.Error("user del failed")
	}
	if _, out, _ := cli(t, cfg, "", "user", "list"); strings.Contains(out, "bob@") {
		t.Errorf("deleted user still listed: %q", out)
	}
}

func TestHelpAndUsage(t *testing.T) {
	cfg := writeConfig(t, "")
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}, {"help", "user", "add"}, {"user", "-h"}, {"help", "user"},
		{"user", "--help"}, {"queue", "-h"}, {"auth", "help"}, {"config", "-h"}} {
		if code, out, errs := cli(t, cfg, "", args...); code != 0 || !strings.Contains(out, "Usage: postern") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errs)
		}
	}
	if _, out, _ := cli(t, cfg, "", "help", "user"); !strings.Contains(out, "user del ADDRESS") || strings.Contains(out, "queue list") {
		t.Errorf("help user lists %q", out)
	}
	if _, out, _ := cli(t, cfg, "", "help", "user", "del"); !strings.Contains(out, "-yes") {
		t.Errorf("help user del does not list its options: %q", out)
	}
	// Every command's -h prints its help on stdout and exits 0; so does
	// "help COMMAND".
	for _, c := range commands {
		for _, args := range [][]string{append(strings.Fields(c.name), "-h"), append([]string{"help"}, strings.Fields(c.name)...)} {
			if code, out, _ := cli(t, cfg, "", args...); code != 0 || !strings.Contains(out, "Usage: postern "+c.name) {
				t.Errorf("%v: exit %d, %q", args, code, out)
			}
		}
	}
	if code, _, errs := cli(t, cfg, "", "frobnicate"); code != 2 || !strings.Contains(errs, "unknown command") {
		t.Errorf("unknown command: %d %q", code, errs)
	}
	if code, _, errs := cli(t, cfg, "", "user", "frob"); code != 2 || !strings.Contains(errs, "unknown command \"user frob\"") || !strings.Contains(errs, "user add") {
		t.Errorf("unknown subcommand: %d %q", code, errs)
	}
	if code, _, errs := cli(t, cfg, "", "user"); code != 2 || !strings.Contains(errs, "Usage: postern [-config FILE] user COMMAND") {
		t.Errorf("a group without a command: %d %q", code, errs)
	}
	if code, _, errs := cli(t, cfg, "", "user", "add"); code != 2 || !strings.Contains(errs, "Usage: postern user add") {
		t.Errorf("missing argument: exit %d, %q; want 2 and the usage on stderr", code, errs)
	}
	if code, out, _ := cli(t, cfg, "", "version"); code != 0 || !strings.HasPrefix(out, "postern ") {
		t.Errorf("version: %q", out)
	}
	bad := writeConfig(t, "bogus_key = 1\n")
	if code, _, errs := cli(t, bad, "", "user", "list"); code != 1 || !strings.Contains(errs, "unknown key bogus_key") {
		t.Errorf("bad config: %d %q", code, errs)
	}
}

// "user disable" keeps the account and its mail but refuses its logins;
// "user enable" undoes it. "user list" shows which.
func TestUserDisableEnable(t *testing.T) {
	cfg := writeConfig(t, "")
	if code, _, errs := cli(t, cfg, "dave's password\n", "user", "add", "dave@example.test"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, errs := cli(t, cfg, "", "user", "disable", "Dave@Example.test"); code != 0 || !strings.Contains(out, "disabled dave@example.test") {
		t.Fatalf("disable: %d %q %q", code, out, errs)
	}
	if _, out, _ := cli(t, cfg, "", "user", "list"); !strings.Contains(out, "dave@example.test") || !strings.Contains(out, "disabled") {
		t.Errorf("user list after disable: %q", out)
	}
	st := openCLIStore(t, cfg)
	if _, err := st.Authenticate(context.Background(), "dave@example.test", "dave's password"); !errors.Is(err, storage.ErrAccountDisabled) {
		t.Errorf("login of a disabled account: %v", err)
	}
	st.Close()
	if code, out, errs := cli(t, cfg, "", "user", "enable", "dave@example.test"); code != 0 || !strings.Contains(out, "enabled dave@example.test") {
		t.Fatalf("enable: %d %q %q", code, out, errs)
	}
	if _, out, _ := cli(t, cfg, "", "user", "list"); strings.Contains(out, "disabled") {
		t.Errorf("user list after enable: %q", out)
	}
	st = openCLIStore(t, cfg)
	if _, err := st.Authenticate(context.Background(), "dave@example.test", "dave's password"); err != nil {
		t.Errorf("login after enable: %v", err)
	}
	st.Close()
	for _, verb := range []string{"disable", "enable"} {
		if code, _, errs := cli(t, cfg, "", "user", verb, "nobody@example.test"); code != 1 || !strings.Contains(errs, "no account nobody@example.test") {
			t.Errorf("%s of an unknown account: %d %q", verb, code, errs)
		}
	}
}

// openCLIStore opens the store the config names, as the CLI does.
func openCLIStore(t *testing.T, cfgPath string) *sqlite.Store {
	t.Helper()
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(c.DataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestReindex(t *testing.T) {
	cfg := writeConfig(t, "")
	if code, _, errs := cli(t, cfg, "a long enough password\n", "user", "add", "dave@example.test"); code != 0 {
		t.Fatal(errs)
	}
	if code, out, _ := cli(t, cfg, "", "reindex"); code != 0 || !strings.Contains(out, "nothing to do") {
		t.Errorf("reindex of an empty store: %d %q", code, out)
	}
	st := openCLIStore(t, cfg)
	dave, err := st.AccountByAddress(context.Background(), "dave@example.test")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		body := storage.NewBody([]byte("Subject: Re: note " + strconv.Itoa(i) + "\r\n\r\nx\r\n"))
		if _, err := st.Append(context.Background(), []storage.AppendItem{{AccountID: dave.ID, Body: body}}); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	makeStale(t, cfg)
	code, out, errs := cli(t, cfg, "", "reindex")
	if code != 0 || !strings.Contains(out, "reindexed 3 messages") || !strings.Contains(errs, "reindex") || !strings.Contains(errs, "3") {
		t.Errorf("reindex: %d, stdout %q, stderr %q", code, out, errs)
	}
	st = openCLIStore(t, cfg)
	defer st.Close()
	if n, err := st.StaleBodies(context.Background()); n != 0 || err != nil {
		t.Errorf("%d bodies stale after reindex, %v", n, err)
	}
	inbox, _ := st.Mailbox(context.Background(), dave.ID, "INBOX")
	rows, _ := st.SearchHeaders(context.Background(), inbox.ID, storage.SearchBaseSubject)
	if len(rows) != 3 || rows[2].BaseSubject != "note 2" {
		t.Errorf("after reindex: %+v", rows)
	}
}

// makeStale marks every body of the config's store as analysed by the
// version before, with the columns that version did not fill empty.
func makeStale(t *testing.T, cfgPath string) {
	t.Helper()
	c, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite3", filepath.Join(c.DataDir, sqlite.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE meta SET value = 1 WHERE key = 'analysis_min'; UPDATE bodies SET analysis = ?;
		UPDATE body_search SET base_subject = ''`, mimeinfo.Version-1); err != nil {
		t.Fatal(err)
	}
}
