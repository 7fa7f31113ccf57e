package sieve

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

// crlf joins lines with CRLF and ends the last one too.
func crlf(lines ...string) string { return strings.Join(lines, "\r\n") + "\r\n" }

// script turns a script written with LF line ends into CRLF, as RFC 5228
// §2.2 has it.
func script(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// The example messages of RFC 5228 §1.2.
var (
	messageA = crlf(
		"Date: Tue, 1 Apr 1997 09:06:31 -0800 (PST)",
		"From: coyote@desert.example.org",
		"To: roadrunner@acme.example.com",
		"Subject: I have a present for you",
		"",
		"Look, I'm sorry about the whole anvil thing, and I really",
		"didn't mean to try and drop it on you from the top of the",
		"cliff.  I want to try to make it up to you.  I've got some",
		"great birdseed over here at my place--top of the line",
		"stuff--and if you come by, I'll have it all wrapped up",
		"for you.  I'm really sorry for all the problems I've caused",
		"for you over the years, but I know we can work this out.",
		"--",
		`Wile E. Coyote   "Super Genius"   coyote@desert.example.org`)
	messageB = crlf(
		"From: youcouldberich!@reply-by-postal-mail.invalid",
		"Sender: b1ff@de.res.example.com",
		"To: rube@landru.example.com",
		"Date:  Mon, 31 Mar 1997 18:26:10 -0800",
		"Subject: $$$ YOU, TOO, CAN BE A MILLIONAIRE! $$$",
		"",
		"YOU MAY HAVE ALREADY WON TEN MILLION DOLLARS, BUT I DOUBT",
		"IT!  SO JUST POST THIS TO SIX HUNDRED NEWSGROUPS!  IT WILL",
		"GUARANTEE THAT YOU GET AT LEAST FIVE RESPONSES WITH MONEY!",
		"MONEY! MONEY! COLD HARD CASH!  YOU WILL RECEIVE OVER",
		"$20,000 IN LESS THAN TWO MONTHS!  AND IT'S LEGAL!!!!!!!!!",
		"!!!!!!!!!!!!!!!!!!111111111!!!!!!!11111111111!!1  JUST",
		"SEND $5 IN SMALL, UNMARKED BILLS TO THE ADDRESSES BELOW!")
)

// fixedNow is the clock of the tests: Tuesday 2008-01-15 10:30:00 UTC.
var fixedNow = time.Date(2008, 1, 15, 10, 30, 0, 0, time.UTC)

// mustCompile compiles src or fails the test.
func mustCompile(t testing.TB, src string, opts *Options) *Script {
	t.Helper()
	s, err := Compile([]byte(src), opts)
	if err != nil {
		t.Fatalf("compile: %v\n%s", err, src)
	}
	return s
}

// runOn compiles src and runs it on msg with the test clock; it fails the
// test on a run-time error.
func runOn(t testing.TB, src, msg string, env Envelope, host *Host) *Result {
	t.Helper()
	res := runAllowErr(t, src, msg, env, host)
	if res.Err != nil {
		t.Fatalf("run: %v\n%s", res.Err, src)
	}
	return res
}

func runAllowErr(t testing.TB, src, msg string, env Envelope, host *Host) *Result {
	t.Helper()
	s := mustCompile(t, src, nil)
	if host == nil {
		host = &Host{}
	}
	if host.Now == nil {
		host.Now = func() time.Time { return fixedNow }
	}
	return s.Run(context.Background(), ParseMessage([]byte(msg)), env, host)
}

// wantActions compares the actions of a result.
func wantActions(t testing.TB, res *Result, want ...Action) {
	t.Helper()
	if len(want) == 0 {
		want = nil
	}
	got := res.Actions
	if len(got) == 0 {
		got = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("actions\n got %s\nwant %s", fmtActions(got), fmtActions(want))
	}
}

func fmtActions(as []Action) string {
	var parts []string
	for _, a := range as {
		parts = append(parts, fmt.Sprintf("%T%+v", a, a))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// implicitKeep is the implicit keep of a script without imap4flags.
var implicitKeep = Keep{Implicit: true}

// compileErr compiles src and returns the error, failing when there is none.
func compileErr(t testing.TB, src string) *Error {
	t.Helper()
	_, err := Compile([]byte(src), nil)
	if err == nil {
		t.Fatalf("compiled without error:\n%s", src)
	}
	e, ok := err.(*Error)
	if !ok {
		t.Fatalf("error %T %v is no *Error", err, err)
	}
	return e
}

// memLoader is a ScriptLoader over a map, "personal/name" or "global/name".
type memLoader map[string]string

func (m memLoader) LoadScript(_ context.Context, loc Location, name string) ([]byte, error) {
	key := "personal/" + name
	if loc == Global {
		key = "global/" + name
	}
	src, ok := m[key]
	if !ok {
		return nil, ErrNoScript
	}
	return []byte(src), nil
}

// memMailboxes is a MailboxChecker over a set.
type memMailboxes map[string]bool

func (m memMailboxes) MailboxExists(_ context.Context, name string) (bool, error) {
	return m[name], nil
}

// memDuplicates is a DuplicateTracker that remembers the marks it is given.
type memDuplicates struct{ seen map[string]time.Time }

func (d *memDuplicates) Seen(_ context.Context, handle, id string, now time.Time) (bool, error) {
	exp, ok := d.seen[handle+"\x00"+id]
	return ok && now.Before(exp), nil
}

func (d *memDuplicates) record(marks []DuplicateMark) {
	if d.seen == nil {
		d.seen = map[string]time.Time{}
	}
	for _, m := range marks {
		key := m.Handle + "\x00" + m.ID
		if _, ok := d.seen[key]; ok && !m.Refresh {
			continue
		}
		d.seen[key] = m.Expires
	}
}
