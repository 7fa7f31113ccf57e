package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testkit/dovecot"
	"postern/mailport"
	"postern/mailport/imapsrc"
	"postern/mailport/maildir"
)

type rec struct {
	boxes []string
	flags []string
	date  time.Time
	body  string
}

func (r rec) String() string {
	return fmt.Sprintf("%q %q %s %q", r.boxes, r.flags, r.date.UTC().Format(time.RFC3339), r.body)
}

// collect reads a whole source.
func collect(t *testing.T, spec string, opts *Options) ([]rec, []string) {
	t.Helper()
	src, _, err := Open(context.Background(), spec, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	boxes, err := src.(mailport.Lister).Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	for {
		m, err := src.Next(context.Background())
		if err == io.EOF {
			return out, boxes
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			t.Fatalf("problem: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec{m.Mailboxes, m.Flags, m.InternalDate, string(b)})
	}
}

// export writes records into a Maildir++ tree, as `postern export` will.
func export(t *testing.T, recs []rec, boxes []string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	w, err := maildir.Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range boxes {
		if err := w.Mkdir(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs {
		if err := w.Write(&mailport.Message{Mailboxes: r.boxes, Flags: r.flags, InternalDate: r.date,
			Size: int64(len(r.body)), Body: strings.NewReader(r.body)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func sorted(recs []rec) []string {
	var out []string
	for _, r := range recs {
		for _, b := range r.boxes {
			r2 := r
			r2.boxes = []string{b}
			out = append(out, r2.String())
		}
	}
	slices.Sort(out)
	return out
}

// TestExportImportRoundTrip imports from Debian's Dovecot over IMAP, exports
// to Maildir++, imports the export: the same mailboxes, flags, dates and
// octets. So does the Maildir Dovecot wrote, and a Thunderbird folder tree.
func TestExportImportRoundTrip(t *testing.T) {
	srv := dovecot.Start(t, dovecot.Options{})
	c := srv.Dial(t)
	date := time.Date(2017, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, mb := range []string{"Entwürfe", "Work.a&b", "Empty"} {
		if err := c.Create(mb, nil).Wait(); err != nil {
			t.Fatal(err)
		}
	}
	for i, m := range []struct {
		mb    string
		flags []imap.Flag
		body  string
	}{
		{"INBOX", []imap.Flag{imap.FlagSeen, "$Forwarded", "work", "$label1"}, "Subject: 1\r\n\r\none\r\n"},
		{"INBOX", []imap.Flag{imap.FlagDeleted, imap.FlagAnswered}, "Subject: 2\r\n\r\nFrom the start\r\n>From quoted\r\n"},
		{"Entwürfe", []imap.Flag{imap.FlagDraft}, "Subject: 3\r\n\r\n" + strings.Repeat("x", 100000) + "\r\n"},
		{"Work.a&b", []imap.Flag{imap.FlagFlagged, "NonJunk"}, "Subject: 4\r\n\r\nfour\r\n"},
	} {
		dovecot.Append(t, c, m.mb, m.flags, date.Add(time.Duration(i)*time.Hour), m.body)
	}
	c.Logout().Wait()

	url := "imaps://" + srv.User + "@" + srv.IMAPSAddr
	for name, spec := range map[string]string{"IMAP": url, "Dovecot's Maildir": srv.Maildir()} {
		opts := &Options{IMAP: imapsrcOptions(srv)}
		first, boxes := collect(t, spec, opts)
		if len(first) != 4 || !slices.Contains(boxes, "Empty") || !slices.Contains(boxes, "Work/a&b") {
			t.Fatalf("%s: %d messages, mailboxes %q", name, len(first), boxes)
		}
		dir := export(t, first, boxes)
		again, boxes2 := collect(t, dir, nil)
		if !slices.Equal(sorted(again), sorted(first)) {
			t.Fatalf("%s: export read back\n%s\nwant\n%s", name, strings.Join(sorted(again), "\n"), strings.Join(sorted(first), "\n"))
		}
		if !slices.Equal(slices.Sorted(slices.Values(boxes2)), slices.Sorted(slices.Values(boxes))) {
			t.Fatalf("%s: mailboxes %q, want %q", name, boxes2, boxes)
		}
	}

	tb := t.TempDir()
	os.MkdirAll(filepath.Join(tb, "Inbox.sbd"), 0o755)
	os.WriteFile(filepath.Join(tb, "Inbox"), []byte("From - Mon Jan  2 15:04:05 2006\nX-Mozilla-Status: 0005\nX-Mozilla-Keys: $label1\nSubject: tb\n\n>From quoted\n\n"), 0o644)
	os.WriteFile(filepath.Join(tb, "Inbox.sbd", "Lists"), []byte("From - Mon Jan  2 15:04:05 2006\nX-Mozilla-Status: 1000\nSubject: list\n\nlist\n"), 0o644)
	first, boxes := collect(t, tb, nil)
	again, _ := collect(t, export(t, first, boxes), nil)
	if !slices.Equal(sorted(again), sorted(first)) || len(first) != 2 {
		t.Fatalf("Thunderbird: export read back\n%s\nwant\n%s", strings.Join(sorted(again), "\n"), strings.Join(sorted(first), "\n"))
	}
	if want := `["INBOX"] ["\\Seen" "\\Flagged" "$label1"] 2006-01-02T15:04:05Z "X-Mozilla-Status: 0005\nX-Mozilla-Keys: $label1\nSubject: tb\n\nFrom quoted\n"`; first[0].String() != want {
		t.Fatalf("Thunderbird message %s", first[0])
	}
}

func TestDetect(t *testing.T) {
	dir := t.TempDir()
	md := filepath.Join(dir, "Maildir")
	os.MkdirAll(filepath.Join(md, "cur"), 0o755)
	fs := filepath.Join(dir, "mbsync")
	os.MkdirAll(filepath.Join(fs, "INBOX", "new"), 0o755)
	tb := filepath.Join(dir, "Local Folders")
	os.MkdirAll(tb, 0o755)
	os.WriteFile(filepath.Join(tb, "Inbox"), []byte("From - Mon Jan  2 15:04:05 2006\n\nx\n"), 0o644)
	for spec, want := range map[string]Kind{
		"imaps://a@h": IMAP, "IMAP://a@h:143": IMAP,
		md: Maildir, fs: Maildir, tb: Mbox, filepath.Join(tb, "Inbox"): Mbox,
	} {
		if got, err := Detect(spec); got != want || err != nil {
			t.Errorf("Detect(%s) = %v %v, want %v", spec, got, err, want)
		}
	}
	if _, err := Detect(filepath.Join(dir, "missing")); err == nil {
		t.Error("a missing path detected")
	}
}

func imapsrcOptions(srv *dovecot.Server) imapsrc.Options {
	return imapsrc.Options{Password: srv.Password, TLSConfig: srv.TLSConfig}
}
