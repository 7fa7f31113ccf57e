package mbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern/mailport"
)

type got struct {
	mailport.Message
	body string
}

func readAll(t testing.TB, data string, opts *Options) ([]got, []error) {
	t.Helper()
	r := NewReader(strings.NewReader(data), int64(len(data)), "test.mbox", "INBOX", opts)
	return drain(t, r)
}

func drain(t testing.TB, src interface {
	Next(context.Context) (*mailport.Message, error)
}) ([]got, []error) {
	t.Helper()
	var out []got
	var probs []error
	for {
		m, err := src.Next(context.Background())
		if err == io.EOF {
			return out, probs
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			probs = append(probs, err)
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != m.Size {
			t.Fatalf("message %s: Size %d, body %d octets", m.Key, m.Size, len(b))
		}
		out = append(out, got{*m, string(b)})
	}
}

func bodies(gs []got) []string {
	var out []string
	for _, g := range gs {
		out = append(out, g.body)
	}
	return out
}

func TestSplitAndUnquote(t *testing.T) {
	msgs := []string{
		"Subject: one\n\nFrom the desk of a poet\n>From a quote\n>>From deeper\nend\n",
		"Subject: two\r\n\r\nCRLF body\r\nFrom sender Mon Jan  2 15:04:05 2006\r\nmixed LF\nlast\r\n",
		"Subject: three\n\nNUL \x00 bytes \x00\x00 and a blank line at the end\n\n",
	}
	rd, _ := readAll(t, writeRDFull(msgs...), nil)
	if !slices.Equal(bodies(rd), msgs) {
		t.Fatalf("mboxrd read back:\n%q\nwant\n%q", bodies(rd), msgs)
	}
	// mboxo cannot tell an original ">From " from a quoted "From ": only
	// messages without one survive unchanged.
	o := []string{msgs[1], "Subject: four\n\nFrom here\n>>From stays\n"}
	got, _ := readAll(t, writeOFull(o...), &Options{Format: MboxO})
	if !slices.Equal(bodies(got), o) {
		t.Fatalf("mboxo read back:\n%q\nwant\n%q", bodies(got), o)
	}
	// The same mboxo file read as mboxrd loses one ">" of ">>From ".
	got, _ = readAll(t, writeOFull(o...), nil)
	if want := strings.Replace(o[1], ">>From", ">From", 1); got[1].body != want {
		t.Fatalf("mboxo as mboxrd: %q, want %q", got[1].body, want)
	}
}

// writeRDFull writes messages as an mboxrd writer does: every ">*From " line
// gets one more ">", a blank line follows each message.
func writeRDFull(msgs ...string) string {
	return writeWith(regexp.MustCompile(`(?m)^(>*From )`), msgs)
}

// writeOFull writes messages as an mboxo writer does: only "From " is quoted.
func writeOFull(msgs ...string) string {
	return writeWith(regexp.MustCompile(`(?m)^(From )`), msgs)
}

func writeWith(re *regexp.Regexp, msgs []string) string {
	var b strings.Builder
	for _, m := range msgs {
		b.WriteString("From sender@example.com Mon Jan  2 15:04:05 2006\n")
		b.WriteString(re.ReplaceAllString(m, ">$1"))
		b.WriteString("\n")
	}
	return b.String()
}

func TestThunderbirdIsMboxo(t *testing.T) {
	data := "From - Tue Jan 21 08:48:02 2020\nX-Mozilla-Status: 0001\nSubject: a\n\n>>From stays, Thunderbird never adds a >\n>From unquoted\n\n"
	got, _ := readAll(t, data, nil)
	if want := "X-Mozilla-Status: 0001\nSubject: a\n\n>>From stays, Thunderbird never adds a >\nFrom unquoted\n"; len(got) != 1 || got[0].body != want {
		t.Fatalf("%q", bodies(got))
	}
}

func TestFromLinesInBodies(t *testing.T) {
	// A careless writer left "From " lines unquoted; without a date they
	// are body text.
	data := "From a@b Mon Jan  2 15:04:05 2006\nSubject: x\n\nFrom me to you\nFrom: not a header here\nFrom 12 ways\n\n" +
		"From a@b Tue Jan  3 15:04:05 2006\nSubject: y\n\ny\n"
	got, _ := readAll(t, data, nil)
	if len(got) != 2 || !strings.Contains(got[0].body, "From 12 ways\n") || got[1].body != "Subject: y\n\ny\n" {
		t.Fatalf("%q", bodies(got))
	}
	if !got[1].InternalDate.Equal(time.Date(2006, 1, 3, 15, 4, 5, 0, time.UTC)) {
		t.Fatalf("date %v", got[1].InternalDate)
	}
}

func TestContentLength(t *testing.T) {
	body := "From sender Mon Jan  2 15:04:05 2006\n>From kept\nend\n"
	hdr := "Subject: cl\nContent-Length: " + strconv.Itoa(len(body)) + "\n\n"
	data := "From a@b Mon Jan  2 15:04:05 2006\n" + hdr + body + "\n" +
		"From a@b Mon Jan  2 15:04:05 2006\nSubject: next\n\nnext\n"
	got, _ := readAll(t, data, nil)
	if len(got) != 2 || got[0].body != hdr+body || got[1].body != "Subject: next\n\nnext\n" {
		t.Fatalf("%q", bodies(got))
	}
	// A length that does not end before a From_ line is ignored.
	bad := strings.Replace(data, "Content-Length: "+strconv.Itoa(len(body)), "Content-Length: 7", 1)
	got, _ = readAll(t, bad, nil)
	if len(got) != 3 {
		t.Fatalf("bad Content-Length: %q", bodies(got))
	}
	huge := strings.Replace(data, "Content-Length: "+strconv.Itoa(len(body)), "Content-Length: 99999999999999999999", 1)
	if got, _ = readAll(t, huge, nil); len(got) != 3 {
		t.Fatalf("huge Content-Length: %q", bodies(got))
	}
	// mboxcl2 by choice: a valid length, nothing unquoted.
	cl := "From a@b Mon Jan  2 15:04:05 2006\nContent-Length: 11\n\n>From x\nyz\n"
	got, _ = readAll(t, cl, &Options{Format: MboxCL2})
	if len(got) != 1 || got[0].body != "Content-Length: 11\n\n>From x\nyz\n" {
		t.Fatalf("%q", bodies(got))
	}
}

func TestFlagsFromHeaders(t *testing.T) {
	data := writeRDFull(
		"Status: RO\nX-Status: AFT\nX-Keywords: $Label1 work,bad(kw\nSubject: a\n\na\n",
		"X-Mozilla-Status: 1004\nX-Mozilla-Keys: $label2 \nSubject: b\n\nb\n",
		"X-Mozilla-Status: 0009\nSubject: deleted in Thunderbird\n\nc\n",
		"Status: O\nX-Status: D\n\nd\n",
		"Received: from x by y; Tue, 1 Feb 2022 10:00:00 +0100\nDate: Mon, 31 Jan 2022 09:00:00 +0000\n\ne\n",
	)
	got, _ := readAll(t, data, nil)
	want := [][]string{
		{`\Seen`, `\Answered`, `\Flagged`, `\Draft`, "$Label1", "work"},
		{`\Flagged`, "$Forwarded", "$label2"},
		{`\Deleted`},
		nil,
	}
	if len(got) != 4 {
		t.Fatalf("%d messages, want 4 (the expunged one left out)", len(got))
	}
	for i, w := range want[:3] {
		if !slices.Equal(got[i].Flags, w) {
			t.Errorf("message %d flags %q, want %q", i, got[i].Flags, w)
		}
	}
	if d := got[3].InternalDate; !d.Equal(time.Date(2022, 2, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("INTERNALDATE from Received: %v", d)
	}
	if d := got[0].InternalDate; !d.Equal(time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC)) {
		t.Errorf("INTERNALDATE from the From_ line: %v", d)
	}
}

func TestPseudoMessage(t *testing.T) {
	data := writeRDFull(
		"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\nX-IMAP: 1234 5\n\nfolder data\n",
		"Subject: real\n\nreal\n",
	)
	got, _ := readAll(t, data, nil)
	if len(got) != 1 || got[0].body != "Subject: real\n\nreal\n" {
		t.Fatalf("%q", bodies(got))
	}
}

func TestTakeoutLabels(t *testing.T) {
	from := "From 1690000000000000001@xxx Tue Jul 25 08:48:02 +0000 2023\n"
	data := from + "X-GM-THRID: 1\nX-Gmail-Labels: Inbox,Important,Opened,Category Updates,Work/Projects,\"a, b\"\nSubject: 1\n\n1\n\n" +
		from + "X-Gmail-Labels: Archived,Starred,Unread,Opened\nSubject: 2\n\n2\n\n" +
		from + "X-Gmail-Labels: Spam,Work\nSubject: 3\n\n3\n\n" +
		from + "X-Gmail-Labels: Sent,=?UTF-8?Q?F=C3=A9vrier?=\nSubject: 4\n\n4\n\n"
	got, _ := readAll(t, data, nil)
	want := []struct{ boxes, flags []string }{
		{[]string{"INBOX", "Work/Projects", "a, b"}, []string{`\Seen`, "$Important"}},
		{[]string{"Archive"}, []string{`\Flagged`}},
		{[]string{"Junk"}, nil},
		{[]string{"Sent", "Février"}, nil},
	}
	if len(got) != len(want) {
		t.Fatalf("%d messages", len(got))
	}
	for i, w := range want {
		if !slices.Equal(got[i].Mailboxes, w.boxes) || !slices.Equal(got[i].Flags, w.flags) {
			t.Errorf("message %d: %q %q, want %q %q", i, got[i].Mailboxes, got[i].Flags, w.boxes, w.flags)
		}
	}
	if d := got[0].InternalDate; !d.Equal(time.Date(2023, 7, 25, 8, 48, 2, 0, time.UTC)) {
		t.Errorf("date %v", d)
	}
	got, _ = readAll(t, data, &Options{IgnoreLabels: true})
	if !slices.Equal(got[0].Mailboxes, []string{"INBOX"}) {
		t.Errorf("IgnoreLabels: %q", got[0].Mailboxes)
	}
}

func TestKeysStable(t *testing.T) {
	a := "Subject: a\n\na\n"
	b := "Subject: b\n\nb\n"
	got1, _ := readAll(t, writeRDFull(a, b, a, b), nil)
	got2, _ := readAll(t, writeRDFull(b, a), nil) // the first a and b were deleted
	keys := func(gs []got) []string {
		var k []string
		for _, g := range gs {
			k = append(k, g.Key)
		}
		return k
	}
	k1, k2 := keys(got1), keys(got2)
	if len(slices.Compact(slices.Sorted(slices.Values(k1)))) != 4 {
		t.Fatalf("keys not unique: %q", k1)
	}
	if k2[0] != k1[1] || k2[1] != k1[0] {
		t.Fatalf("keys moved with the offsets: %q then %q", k1, k2)
	}
	if !strings.HasPrefix(k1[0], "mbox:test.mbox:") || !strings.HasSuffix(k1[2], ":1") {
		t.Fatalf("key form: %q", k1)
	}
}

func TestNotMbox(t *testing.T) {
	r := NewReader(strings.NewReader("Subject: x\n\nno From line\n"), 26, "x", "INBOX", nil)
	if _, err := r.Next(context.Background()); !errors.Is(err, ErrNotMbox) {
		t.Fatalf("got %v", err)
	}
	r = NewReader(strings.NewReader(""), 0, "x", "INBOX", nil)
	if _, err := r.Next(context.Background()); err != io.EOF {
		t.Fatalf("empty file: %v", err)
	}
}

func TestTree(t *testing.T) {
	dir := t.TempDir()
	mk := func(rel, data string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tb := "From - Tue Jan 21 08:48:02 2020\nSubject: %s\n\nbody\n\n"
	mk("Inbox", strings.ReplaceAll(tb, "%s", "in"))
	mk("Inbox.msf", "// <!-- <mdb:mork:z v=\"1.4\"/> -->")
	mk("Inbox.sbd/Lists", strings.ReplaceAll(tb, "%s", "list"))
	mk("Inbox.sbd/Lists.sbd/Go", strings.ReplaceAll(tb, "%s", "go"))
	mk("Sent", strings.ReplaceAll(tb, "%s", "sent"))
	mk("Trash", "")
	mk("Junk E-mail", strings.ReplaceAll(tb, "%s", "spam"))
	mk("popstate.dat", "# POP3 State File")
	mk("notes.txt", "not mail")
	mk(".hidden", strings.ReplaceAll(tb, "%s", "hidden"))
	outside := filepath.Join(t.TempDir(), "outside")
	if err := os.WriteFile(outside, []byte(strings.ReplaceAll(tb, "%s", "outside")), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "Linked")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("..", filepath.Join(dir, "Inbox.sbd", "Up.sbd")); err != nil {
		t.Fatal(err)
	}
	src, err := Open(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	boxes, _ := src.Mailboxes(context.Background())
	if want := []string{"INBOX", "INBOX/Lists", "INBOX/Lists/Go", "Junk", "Sent", "Trash"}; !slices.Equal(slices.Sorted(slices.Values(boxes)), want) {
		t.Fatalf("mailboxes %q, want %q", boxes, want)
	}
	got, probs := drain(t, src)
	var where []string
	for _, g := range got {
		where = append(where, g.Mailboxes[0]+" "+strings.SplitN(g.body, "\n", 2)[0])
	}
	slices.Sort(where)
	if want := []string{"INBOX Subject: in", "INBOX/Lists Subject: list", "INBOX/Lists/Go Subject: go", "Junk Subject: spam", "Sent Subject: sent"}; !slices.Equal(where, want) {
		t.Fatalf("got %q, want %q", where, want)
	}
	var ps []string
	for _, p := range probs {
		ps = append(ps, p.Error())
	}
	joined := strings.Join(ps, "\n")
	for _, w := range []string{"Linked: symbolic link", "Up.sbd: symbolic link", "notes.txt: not an mbox"} {
		if !strings.Contains(joined, w) {
			t.Errorf("problems %q lack %q", ps, w)
		}
	}
	if len(ps) != 3 {
		t.Errorf("problems: %q", ps)
	}
}

func TestSingleFileNames(t *testing.T) {
	dir := t.TempDir()
	data := writeRDFull("Subject: a\n\na\n")
	for name, want := range map[string]string{"mbox": "INBOX", "alice": "INBOX", "Sent Items.mbox": "Sent", "Work.mbox": "Work"} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(data), 0o644)
		src, err := Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := drain(t, src)
		src.Close()
		if len(got) != 1 || got[0].Mailboxes[0] != want {
			t.Errorf("%s: %v, want %s", name, got, want)
		}
	}
	p := filepath.Join(dir, "notmbox")
	os.WriteFile(p, []byte("hello\n"), 0o644)
	if _, err := Open(p, nil); !errors.Is(err, ErrNotMbox) {
		t.Fatalf("Open of a non-mbox: %v", err)
	}
}

func TestFromDates(t *testing.T) {
	for line, want := range map[string]time.Time{
		"From a@b Mon Jan  2 15:04:05 2006":                time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC),
		"From - Tue Jan 21 08:48:02 2020":                  time.Date(2020, 1, 21, 8, 48, 2, 0, time.UTC),
		"From 123@xxx Tue Jul 25 08:48:02 +0200 2023":      time.Date(2023, 7, 25, 6, 48, 2, 0, time.UTC),
		"From MAILER-DAEMON Fri Jul  8 12:08 2011":         time.Date(2011, 7, 8, 12, 8, 0, 0, time.UTC),
		"From a@b Mon Jan 2 15:04:05 MST 2006":             time.Date(2006, 1, 2, 15, 4, 5, 0, time.UTC),
		"From \"a b\"@c Mon Jan 2 15:04:05 2006 -0100\r\n": time.Date(2006, 1, 2, 16, 4, 5, 0, time.UTC),
	} {
		got, ok := parseFromDate([]byte(line))
		if !ok || !got.Equal(want) {
			t.Errorf("%q: %v %v, want %v", line, got, ok, want)
		}
	}
	for _, line := range []string{"From me to you", "From Jan 2", "From a Feb 31 10:00:00 2020", "From a Jan 2 25:00:00 2020", "From a Jan 2 10:00:00 20"} {
		if _, ok := parseFromDate([]byte(line)); ok {
			t.Errorf("%q parsed as a date", line)
		}
	}
}

func TestLongLinesAndNoFinalNewline(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	msgs := []string{"Subject: long\n\n" + long + "\n>From " + long + "\n", "Subject: " + long + "\n\nend"}
	data := writeRDFull(msgs[0]) + "From a@b Mon Jan  2 15:04:05 2006\n" + msgs[1]
	got, _ := readAll(t, data, nil)
	if len(got) != 2 || got[0].body != msgs[0] || got[1].body != msgs[1] {
		t.Fatalf("long lines: %d messages", len(got))
	}
	if !bytes.Equal([]byte(got[1].body[len(got[1].body)-3:]), []byte("end")) {
		t.Fatal("last message lost its end")
	}
}
