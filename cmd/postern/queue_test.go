package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"postern/config"
	"postern/dkim"
	"postern/storage"
	"postern/storage/sqlite"
)

// seedQueue queues two messages from alice and returns their entry IDs.
func seedQueue(t *testing.T, cfgPath string) []int64 {
	t.Helper()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if _, err := st.CreateAccount(ctx, "alice@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	body := storage.NewBody([]byte("From: alice@example.test\r\nSubject: queued\r\n\r\nhi\r\n"))
	if err := st.Enqueue(ctx, storage.QueueItem{MsgID: "m1", From: "alice@example.test", Body: body,
		Recipients: []storage.QueueRecipient{{Address: "bob@remote.test", Notify: []string{"FAILURE"}}, {Address: "carol@far.test"}}}); err != nil {
		t.Fatal(err)
	}
	list, err := st.QueueList(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("seed: %v %v", list, err)
	}
	return []int64{list[0].ID, list[1].ID}
}

func inboxCount(t *testing.T, cfgPath string) uint32 {
	t.Helper()
	cfg, _ := config.Load(cfgPath)
	st, err := sqlite.Open(cfg.DataDir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	a, err := st.AccountByAddress(context.Background(), "alice@example.test")
	if err != nil {
		t.Fatal(err)
	}
	mb, err := st.Mailbox(context.Background(), a.ID, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	return mb.UIDNext - 1
}

func TestQueueCommands(t *testing.T) {
	cfg := writeConfig(t, "")
	if code, out, _ := cli(t, cfg, "", "queue", "list"); code != 0 || !strings.Contains(out, "empty") {
		t.Errorf("empty list: %d %q", code, out)
	}
	ids := seedQueue(t, cfg)
	code, out, errs := cli(t, cfg, "", "queue", "list")
	if code != 0 || !strings.Contains(out, "remote.test") || !strings.Contains(out, "far.test") || !strings.Contains(out, "alice@example.test") {
		t.Errorf("list: %d %q %q", code, out, errs)
	}
	code, out, _ = cli(t, cfg, "", "queue", "show", itoa(ids[0]))
	if code != 0 || !strings.Contains(out, "bob@remote.test  pending  NOTIFY=FAILURE") || !strings.Contains(out, "Sender:       alice@example.test") {
		t.Errorf("show: %d %q", code, out)
	}
	if code, out, _ := cli(t, cfg, "", "queue", "retry", "--all"); code != 0 || !strings.Contains(out, "2 queue entries due now") {
		t.Errorf("retry --all: %d %q", code, out)
	}
	if code, out, _ := cli(t, cfg, "", "queue", "retry", itoa(ids[1])); code != 0 || !strings.Contains(out, "1 queue entry due now") {
		t.Errorf("retry ID: %d %q", code, out)
	}
	// Drop with a bounce, then silently.
	if code, out, errs := cli(t, cfg, "", "queue", "drop", itoa(ids[0])); code != 0 || !strings.Contains(out, "sender is told") {
		t.Errorf("drop: %d %q %q", code, out, errs)
	}
	if n := inboxCount(t, cfg); n != 1 {
		t.Errorf("%d bounces in alice's INBOX after drop, want 1", n)
	}
	if code, _, errs := cli(t, cfg, "", "queue", "drop", itoa(ids[1]), "--silent"); code != 0 {
		t.Errorf("drop --silent: %d %q", code, errs)
	}
	if n := inboxCount(t, cfg); n != 1 {
		t.Errorf("drop --silent bounced (%d messages)", n)
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"queue", "show", itoa(ids[0])}, 1, "no queue entry"},
		{[]string{"queue", "drop", itoa(ids[0])}, 1, "no queue entry"},
		{[]string{"queue", "retry", "77"}, 1, "no queue entry"},
		{[]string{"queue", "show", "abc"}, 1, "not a queue ID"},
		{[]string{"queue", "show", "-5"}, 2, ""},
		{[]string{"queue", "retry"}, 2, ""},
		{[]string{"queue", "retry", "1", "--all"}, 2, ""},
		{[]string{"queue", "show"}, 2, ""},
	} {
		code, _, errs := cli(t, cfg, "", c.args...)
		if code != c.code || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d stderr %q; want %d and %q", c.args, code, errs, c.code, c.want)
		}
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestDKIMKeygen(t *testing.T) {
	cfg := writeConfig(t, "[dkim]\nselector = \"s1\"\n")
	code, out, errs := cli(t, cfg, "", "dkim", "keygen", "example.test")
	if code != 0 || !strings.HasPrefix(out, "s1._domainkey.example.test. IN TXT \"v=DKIM1; k=ed25519; p=") {
		t.Fatalf("keygen: %d %q %q", code, out, errs)
	}
	c, _ := config.Load(cfg)
	if !strings.Contains(errs, filepath.Join(c.DataDir, "dkim", "example.test.s1.key")) {
		t.Errorf("stderr does not name the key file: %q", errs)
	}
	// The printed record verifies what the loaded key signs.
	keys, err := dkim.Load(c.DataDir, c.Domains, "s1")
	if err != nil || keys["example.test"] == nil {
		t.Fatalf("load: %v %v", keys, err)
	}
	signed, err := keys["example.test"].Sign([]byte("From: a@example.test\r\nSubject: x\r\n\r\nbody\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	_, val, _ := strings.Cut(strings.TrimSpace(out), " IN TXT ")
	txt := strings.ReplaceAll(strings.Trim(val, `"`), `" "`, "")
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(signed), &msgdkim.VerifyOptions{
		LookupTXT: func(string) ([]string, error) { return []string{txt}, nil }})
	if err != nil || len(vs) != 1 || vs[0].Err != nil {
		t.Errorf("verify against the printed record: %v %v", vs, err)
	}
	if code, _, errs := cli(t, cfg, "", "dkim", "keygen", "example.test"); code != 1 || !strings.Contains(errs, "exists already") {
		t.Errorf("second keygen: %d %q", code, errs)
	}
	if code, _, errs := cli(t, cfg, "", "dkim", "keygen", "other.test"); code != 1 || !strings.Contains(errs, "not served") {
		t.Errorf("unserved domain: %d %q", code, errs)
	}
	if code, _, _ := cli(t, cfg, "", "dkim", "keygen", "example.test", "-type", "dsa"); code != 1 {
		t.Error("bad key type accepted")
	}
}
