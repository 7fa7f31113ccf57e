package maildir

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern/mailport"
)

func TestSplitName(t *testing.T) {
	for name, want := range map[string][2]string{
		"1.M1P2.host,S=10:2,FRS": {"1.M1P2.host,S=10", "FRS"},
		"1.M1P2.host;2,S":        {"1.M1P2.host", "S"},
		"1.M1P2.host":            {"1.M1P2.host", ""},
		"1.M1P2.host:1,xyz":      {"1.M1P2.host", ""},
		"a:2,b:2,S":              {"a:2,b", "S"},
	} {
		if b, l := SplitName(name); b != want[0] || l != want[1] {
			t.Errorf("SplitName(%q) = %q %q", name, b, l)
		}
	}
}

func TestParseFlags(t *testing.T) {
	kw, _ := ParseKeywords(strings.NewReader("0 $Forwarded\n1 work\n3 bad(kw\n27 far\nx junk\n25 last\r\n"))
	got := ParseFlags("DFPRSTabcdz?!Xz", kw)
	want := []string{`\Seen`, `\Answered`, `\Flagged`, `\Deleted`, `\Draft`, "$Forwarded", "last", "work"}
	if !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	if got := ParseFlags("abc", nil); got != nil {
		t.Fatalf("no keywords file: %q", got)
	}
}

func TestFormatFlags(t *testing.T) {
	kw := &Keywords{}
	letters, dropped := FormatFlags([]string{`\Seen`, "$Forwarded", `\Deleted`, "work", `\Recent`}, kw)
	if letters != "PSTab" || dropped != nil {
		t.Fatalf("letters %q dropped %q", letters, dropped)
	}
	if string(kw.Bytes()) != "0 $Forwarded\n1 work\n" {
		t.Fatalf("keywords file %q", kw.Bytes())
	}
	var many []string
	for i := range 30 {
		many = append(many, fmt.Sprintf("k%02d", i))
	}
	_, dropped = FormatFlags(many, kw)
	if len(dropped) != 6 {
		t.Fatalf("dropped %q, want 6 (26 letters, 2 taken)", dropped)
	}
}

func TestFolderNames(t *testing.T) {
	for name, dir := range map[string]string{
		"INBOX":       "",
		"Sent":        ".Sent",
		"Work/2024":   ".Work.2024",
		"Entwürfe":    ".Entw&APw-rfe",
		"a.b/c\\d":    `.a\2eb.c\5cd`,
		"~home/x&y":   `.\7ehome.x&-y`,
		"INBOX/Lists": ".INBOX.Lists",
	} {
		if got := FolderDir(name); got != dir {
			t.Errorf("FolderDir(%q) = %q, want %q", name, got, dir)
		}
		if dir == "" {
			continue
		}
		if got, err := FolderName(dir); got != name || err != nil {
			t.Errorf("FolderName(%q) = %q %v, want %q", dir, got, err, name)
		}
	}
	// Bad modified UTF-7 is imported under its raw name, with a problem.
	got, err := FolderName(".Bad&Jjo.ok")
	if got != "Bad&Jjo/ok" || err == nil {
		t.Fatalf("bad UTF-7: %q %v", got, err)
	}
	got, err = FolderName(`..a\01\zz..`)
	if got != `_/a_\zz/_/_` || err == nil {
		t.Fatalf("hostile levels: %q %v", got, err)
	}
}

type msg struct {
	mailport.Message
	body string
}

func readTree(t testing.TB, root string) ([]msg, []string) {
	t.Helper()
	src, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var out []msg
	var probs []string
	for {
		m, err := src.Next(context.Background())
		if err == io.EOF {
			return out, probs
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			probs = append(probs, err.Error())
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
			t.Fatalf("%s: %d octets, Size %d", m.Key, len(b), m.Size)
		}
		out = append(out, msg{*m, string(b)})
	}
}

func put(t testing.TB, path, data string, mtime time.Time) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	if !mtime.IsZero() {
		os.Chtimes(path, mtime, mtime)
	}
}

func mkMaildir(t testing.TB, dir string) {
	for _, s := range []string{"cur", "new", "tmp"} {
		os.MkdirAll(filepath.Join(dir, s), 0o755)
	}
}

func TestReadTree(t *testing.T) {
	root := t.TempDir()
	d1 := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	mkMaildir(t, root)
	put(t, filepath.Join(root, "dovecot-keywords"), "0 $Forwarded\n1 NonJunk\n", time.Time{})
	put(t, filepath.Join(root, "dovecot-uidlist"), "3 V1 N3\n2 :1600000000.M2P1.h,S=3\n1 :1700000000.M1P1.h,S=3\n", time.Time{})
	put(t, filepath.Join(root, "cur", "1600000000.M2P1.h,S=3:2,RSab"), "two", d1)
	put(t, filepath.Join(root, "cur", "1700000000.M1P1.h,S=3:2,FXyz,!"), "one", d1)
	put(t, filepath.Join(root, "new", "1800000000.M3P1.h"), "three\r\n", time.Unix(0, 0))
	put(t, filepath.Join(root, "tmp", "1800000001.M4P1.h"), "in delivery", time.Time{})
	put(t, filepath.Join(root, "cur", ".hidden"), "no", time.Time{})
	// The same message twice (crash between link and unlink).
	put(t, filepath.Join(root, "new", "1700000000.M1P1.h,S=3"), "one", d1)

	mkMaildir(t, filepath.Join(root, ".Sent"))
	put(t, filepath.Join(root, ".Sent", "cur", "1500000000.M1P1.h:2,S"), "sent\x00NUL", d1)
	mkMaildir(t, filepath.Join(root, ".Entw&APw-rfe.Alt"))
	put(t, filepath.Join(root, ".Entw&APw-rfe.Alt", "cur", "1500000000.M1P1.h:2,T"), "draft", d1)
	mkMaildir(t, filepath.Join(root, ".Bad&Jjo"))
	put(t, filepath.Join(root, ".Bad&Jjo", "new", "1500000000.M9P1.h"), "bad name", d1)
	mkMaildir(t, filepath.Join(root, ".Empty"))
	// fs layout below the top.
	mkMaildir(t, filepath.Join(root, "Lists", "go"))
	put(t, filepath.Join(root, "Lists", "go", "cur", "1500000000.M1P1.h:2,"), "list", d1)

	// Hostile: links out of the tree, a FIFO, a directory where a message should be.
	outside := filepath.Join(t.TempDir(), "secret")
	put(t, outside, "secret", time.Time{})
	os.Symlink(outside, filepath.Join(root, "cur", "1500000000.M7P1.h:2,S"))
	os.Symlink(filepath.Dir(outside), filepath.Join(root, ".Linked"))
	os.Symlink("..", filepath.Join(root, "Up"))
	syscall.Mkfifo(filepath.Join(root, "cur", "1500000000.M8P1.h:2,"), 0o600)
	os.Mkdir(filepath.Join(root, "new", "1500000000.M9P1.h"), 0o700)
	mkMaildir(t, filepath.Join(root, ".Fake"))
	os.RemoveAll(filepath.Join(root, ".Fake", "cur"))
	os.Symlink(filepath.Dir(outside), filepath.Join(root, ".Fake", "cur"))
	os.RemoveAll(filepath.Join(root, ".Fake", "new"))

	src, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	boxes, _ := src.Mailboxes(context.Background())
	src.Close()
	if want := []string{"INBOX", "Bad&Jjo", "Empty", "Entwürfe/Alt", "Sent", "Lists/go"}; !slices.Equal(boxes, want) {
		t.Fatalf("mailboxes %q, want %q", boxes, want)
	}
	msgs, probs := readTree(t, root)
	var got []string
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s %s %q %s", m.Mailboxes[0], m.body, m.Flags, m.InternalDate.UTC().Format(time.DateOnly)))
	}
	want := []string{
		`INBOX one ["\\Flagged"] 2021-03-04`,                                  // UID 1
		`INBOX two ["\\Seen" "\\Answered" "$Forwarded" "NonJunk"] 2021-03-04`, // UID 2
		"INBOX three\r\n [] 2027-01-15",                                       // not in the uidlist; mtime 0: the name's time
		`Bad&Jjo bad name [] 2021-03-04`,
		`Entwürfe/Alt draft ["\\Deleted"] 2021-03-04`,
		"Sent sent\x00NUL [\"\\\\Seen\"] 2021-03-04",
		`Lists/go list [] 2021-03-04`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if msgs[0].Key != "maildir:./1700000000.M1P1.h,S=3" || msgs[4].Key != "maildir:.Entw&APw-rfe.Alt/1500000000.M1P1.h" {
		t.Fatalf("keys %q %q", msgs[0].Key, msgs[4].Key)
	}
	joined := strings.Join(probs, "\n")
	for _, w := range []string{
		"1500000000.M7P1.h:2,S: symbolic link",
		".Linked: symbolic link",
		"Up: symbolic link",
		"1500000000.M8P1.h:2,: not a regular file",
		"1500000000.M9P1.h: not a regular file",
		"a second file of the same message",
		"not valid modified UTF-7",
	} {
		if !strings.Contains(joined, w) {
			t.Errorf("problems lack %q:\n%s", w, joined)
		}
	}
	if strings.Contains(joined, "secret") || strings.Contains(strings.Join(got, ""), "secret") {
		t.Fatal("read outside the tree")
	}
}

func TestBodyChangesWhileRead(t *testing.T) {
	root := t.TempDir()
	mkMaildir(t, root)
	p := filepath.Join(root, "cur", "1.M1P1.h:2,")
	put(t, p, "0123456789", time.Time{})
	src, err := Open(root)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	m, err := src.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(p, []byte("01234"), 0o600)
	if _, err := io.ReadAll(m.Body); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("a file that shrank: %v", err)
	}
}

func TestExportRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "export")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	date := time.Date(2020, 2, 29, 23, 59, 58, 0, time.UTC)
	type in struct {
		boxes []string
		flags []string
		body  string
	}
	ins := []in{
		{[]string{"INBOX"}, []string{`\Seen`, "$Forwarded"}, "Subject: 1\r\n\r\none\r\n"},
		{[]string{"INBOX", "Work/2024"}, []string{`\Flagged`, `\Answered`, "work"}, "Subject: 2\r\n\r\ntwo\r\n"},
		{[]string{"a.b/c\\d"}, []string{`\Draft`, `\Deleted`}, "x\x00y"},
		{[]string{"Entwürfe"}, nil, ""},
		{[]string{"~x&y"}, []string{"NonJunk"}, strings.Repeat("big\r\n", 100000)},
	}
	for i, m := range ins {
		err := w.Write(&mailport.Message{Mailboxes: m.boxes, Flags: mailport.NormalizeFlags(m.flags),
			InternalDate: date.Add(time.Duration(i) * time.Hour), Size: int64(len(m.body)), Body: strings.NewReader(m.body), Key: fmt.Sprint(i)})
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Mkdir("Empty/Child"); err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&mailport.Message{Mailboxes: []string{"INBOX"}, Size: 5, Body: strings.NewReader("abc")}); err == nil {
		t.Fatal("a short body was written")
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "tmp", "*")); len(left) != 0 {
		t.Fatalf("left in tmp/: %q", left)
	}

	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	boxes, _ := src.Mailboxes(context.Background())
	src.Close()
	if want := []string{"INBOX", "Empty/Child", "Entwürfe", "Work/2024", "a.b/c\\d", "~x&y"}; !slices.Equal(slices.Sorted(slices.Values(boxes)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("mailboxes %q, want %q", boxes, want)
	}
	msgs, probs := readTree(t, dir)
	if len(probs) != 0 {
		t.Fatalf("problems: %q", probs)
	}
	var got, want []string
	for i, m := range ins {
		for _, b := range m.boxes {
			want = append(want, fmt.Sprintf("%s %q %q %s", b, mailport.NormalizeFlags(m.flags), m.body, date.Add(time.Duration(i)*time.Hour).Format(time.RFC3339)))
		}
	}
	for _, m := range msgs {
		got = append(got, fmt.Sprintf("%s %q %q %s", m.Mailboxes[0], m.Flags, m.body, m.InternalDate.UTC().Format(time.RFC3339)))
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("round trip:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	kw, _ := os.ReadFile(filepath.Join(dir, "dovecot-keywords"))
	if !bytes.Equal(kw, []byte("0 $Forwarded\n1 work\n")) {
		t.Fatalf("INBOX dovecot-keywords: %q", kw)
	}
}

// normalize sorts flag names as mailport.NormalizeFlags does.
func normalize(flags []string) []string { return mailport.NormalizeFlags(flags) }

// TestExportHostileNames: whatever a mailbox is called, its folder is a
// directory directly under the export, and reads back under that name.
func TestExportHostileNames(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "export")
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"../../etc", "..", ".", "a/../../b", "~root", `x\2ey`, "tmp", "cur"}
	for _, n := range names {
		if err := w.Mkdir(n); err != nil {
			t.Fatal(err)
		}
	}
	for _, bad := range []string{"", "a//b", "/a", "a/"} {
		if err := w.Mkdir(bad); err == nil {
			t.Errorf("Mkdir(%q) accepted", bad)
		}
	}
	w.Close()
	ents, _ := os.ReadDir(filepath.Dir(dir))
	if len(ents) != 1 {
		t.Fatalf("the export wrote beside itself: %v", ents)
	}
	src, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	boxes, _ := src.Mailboxes(context.Background())
	if want := append([]string{"INBOX"}, names...); !slices.Equal(slices.Sorted(slices.Values(boxes)), slices.Sorted(slices.Values(want))) {
		t.Fatalf("mailboxes %q, want %q", boxes, want)
	}
}
