package mbox

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"postern/mailport"
)

// FuzzSplit reads arbitrary bytes as an mbox in every format: no panic, each
// body is as long as its Size, the keys are unique, nothing is read from
// outside the file, and a second read gives the same messages.
func FuzzSplit(f *testing.F) {
	for _, s := range []string{
		writeRDFull("Subject: a\n\n>From x\n>>From y\n", "Subject: b\r\n\r\nb\r\n"),
		"From - Tue Jan 21 08:48:02 2020\nX-Mozilla-Status: 0009\n\nx\n",
		"From a@b Mon Jan  2 15:04:05 2006\nContent-Length: 3\n\nabc\nFrom a@b Mon Jan  2 15:04:05 2006\n\n",
		"From a@b Mon Jan  2 15:04:05 2006\nContent-Length: 99999999999\n\nabc\n",
		"From a@b Mon Jan  2 15:04:05 2006\nX-Gmail-Labels: Inbox,\"x,\\\"y\",=?UTF-8?Q?=C3=A9?=\n\n\x00\n",
		"\n\r\nFrom x Jan 1 00:00 2000\nFrom y Jan 1 00:00 2000",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Auto, MboxO, MboxCL2} {
			first := readFuzz(t, data, format)
			again := readFuzz(t, data, format)
			if strings.Join(first, "\x01") != strings.Join(again, "\x01") {
				t.Fatalf("format %v: a second read differs", format)
			}
		}
	})
}

func readFuzz(t *testing.T, data []byte, format Format) []string {
	r := NewReader(bytes.NewReader(data), int64(len(data)), "f", "INBOX", &Options{Format: format})
	var out []string
	keys := map[string]bool{}
	var total int64
	for {
		m, err := r.Next(context.Background())
		if err == io.EOF || errors.Is(err, ErrNotMbox) {
			return out
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil || int64(len(b)) != m.Size {
			t.Fatalf("body %d octets (%v), Size %d", len(b), err, m.Size)
		}
		if total += m.Size; total > int64(len(data)) {
			t.Fatalf("read %d octets from a file of %d", total, len(data))
		}
		if keys[m.Key] {
			t.Fatalf("key %s twice", m.Key)
		}
		keys[m.Key] = true
		if len(m.Mailboxes) == 0 {
			t.Fatal("no mailbox")
		}
		for _, fl := range m.Flags {
			if !strings.HasPrefix(fl, `\`) && !mailport.IsKeyword(fl) {
				t.Fatalf("flag %q", fl)
			}
		}
		out = append(out, m.Key+string(b))
	}
}

// FuzzRoundTrip writes messages as mboxrd and reads them back unchanged.
func FuzzRoundTrip(f *testing.F) {
	f.Add("Subject: a\n\nFrom here\n>From there\n", "b\r\n\r\n>>From\r\n")
	f.Add("\n", "From a@b Mon Jan  2 15:04:05 2006\n\n")
	f.Fuzz(func(t *testing.T, a, b string) {
		var msgs []string
		for _, m := range []string{a, b} {
			// Each message ends in a line break, as writers make it; a
			// Content-Length field could claim the separator's blank line.
			if !strings.HasSuffix(m, "\n") || strings.Contains(strings.ToLower(m), "content-length") {
				return
			}
			// The first line of a message cannot be empty and also tell
			// where the header ends; one "\n" is a valid message though.
			msgs = append(msgs, m)
		}
		data := writeRDFull(msgs...)
		got, _ := readAll(t, data, &Options{Format: MboxRD, IgnoreLabels: true})
		if len(got) != len(msgs) {
			t.Fatalf("%d messages back from %q", len(got), data)
		}
		for i := range msgs {
			if got[i].body != msgs[i] {
				t.Fatalf("message %d: %q, want %q", i, got[i].body, msgs[i])
			}
		}
	})
}
