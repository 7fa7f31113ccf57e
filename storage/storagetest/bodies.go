package storagetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"postern/storage"
)

var bodyTests = []test{
	{"LargeBodyReadBack", testLargeBody},
	{"SpooledBodyStoredAndReadBack", testSpooledBody},
	{"EmptyBody", testEmptyBody},
	{"BodyOutlivesExpungeWhileRead", testBodyPinned},
	{"FetchColumns", testFetchColumns},
	{"SearchHeaders", testSearchHeaders},
	{"EachHeader", testEachHeader},
	{"AnalysisColumns", testAnalysisColumns},
}

// bigText is a message of at least n octets, with bare LF line ends.
func bigText(n int) []byte {
	var b bytes.Buffer
	b.WriteString("From: a@example.test\nSubject: big\nContent-Type: text/plain\n\n")
	for b.Len() < n {
		b.WriteString("0123456789abcdefghijklmnopqrstuvwxyz\n")
	}
	return b.Bytes()
}

// A message of some megabytes is read back whole and at any offset,
// however the backend cuts it.
func testLargeBody(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	raw := bigText(3<<20 + 1000)
	body, err := storage.PrepareBody(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.ReplaceAll(raw, []byte("\n"), []byte("\r\n"))
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	m, _ := st.FetchMessages(ctx, inbox.ID, []uint32{res[0].UID}, storage.FetchWant{Header: true})
	if len(m) != 1 || m[0].Size != int64(len(want)) || !bytes.Equal(m[0].Header, want[:m[0].HeaderLen]) {
		t.Fatalf("fetch = %+v", m)
	}
	r, err := st.OpenBody(ctx, m[0].BodyID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != int64(len(want)) {
		t.Errorf("reader size %d, want %d", r.Size(), len(want))
	}
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("read back %d octets, %v", len(got), err)
	}
	part := make([]byte, 1000)
	for _, off := range []int64{0, 1, 256<<10 - 500, 1<<20 - 1, int64(len(want)) - 1000} {
		if n, err := r.ReadAt(part, off); n != len(part) || (err != nil && err != io.EOF) || !bytes.Equal(part, want[off:off+1000]) {
			t.Errorf("ReadAt(%d) = %d, %v", off, n, err)
		}
	}
	if n, err := r.ReadAt(part, int64(len(want))-10); n != 10 || err != io.EOF {
		t.Errorf("ReadAt past the end = %d, %v; want 10, EOF", n, err)
	}
	if _, err := r.Seek(-100, io.SeekEnd); err != nil {
		t.Fatal(err)
	}
	if tail, err := io.ReadAll(r); err != nil || !bytes.Equal(tail, want[len(want)-100:]) {
		t.Errorf("read after Seek from the end: %d octets, %v", len(tail), err)
	}
	r2, err := st.OpenMessage(ctx, inbox.ID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	if got, err := io.ReadAll(r2); err != nil || !bytes.Equal(got, want) {
		t.Errorf("OpenMessage read %d octets, %v", len(got), err)
	}
	if _, err := st.OpenMessage(ctx, inbox.ID, 99); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenMessage of a missing UID: %v", err)
	}
	if _, err := st.OpenBody(ctx, 1<<40); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenBody of a missing body: %v", err)
	}
}

// A body spooled to a file (SpoolBody) is stored and read back as the
// same message prepared in memory, also as two bodies sharing one spool
// (Tail), in one transaction.
func testSpooledBody(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	for _, size := range []int{100, 300 << 10, 2<<20 + 77} {
		raw := bigText(size)
		mem, err := storage.PrepareBody(bytes.NewReader(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		sp, err := st.SpoolBody(ctx, bytes.NewReader(raw), 0)
		if err != nil {
			t.Fatal(err)
		}
		tail, err := sp.Tail(ctx, 7)
		if err != nil {
			t.Fatal(err)
		}
		res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: sp}, {AccountID: a.ID, Body: tail}})
		if err != nil {
			t.Fatal(err)
		}
		sp.Close()
		tail.Close()
		for i, w := range [][]byte{mem.Bytes(), mem.Bytes()[7:]} {
			m, err := st.FetchMessages(ctx, inbox.ID, []uint32{res[i].UID}, storage.FetchWant{Header: true, Envelope: true})
			if err != nil || len(m) != 1 {
				t.Fatal(m, err)
			}
			got, err := st.ReadBody(ctx, m[0].BodyID)
			if err != nil || !bytes.Equal(got, w) || !bytes.Equal(m[0].Header, w[:len(m[0].Header)]) || m[0].Size != int64(len(w)) {
				t.Fatalf("size %d, copy %d: stored body differs (%v)", size, i, err)
			}
		}
	}
	if _, err := st.SpoolBody(ctx, bytes.NewReader(bigText(1<<20)), 1000); !errors.Is(err, storage.ErrTooBig) {
		t.Errorf("SpoolBody over the cap: %v", err)
	}
}

// An empty message is odd but legal to store.
func testEmptyBody(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	for _, body := range []*storage.Body{storage.NewBody(nil), storage.NewBody([]byte{})} {
		if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
			t.Fatalf("append of an empty body: %v", err)
		}
	}
	inbox := mailbox(t, st, a.ID, "INBOX")
	msgs, err := st.FetchMessages(ctx, inbox.ID, []uint32{1, 2}, storage.FetchWant{Header: true, Envelope: true, Structure: true})
	if err != nil || len(msgs) != 2 || msgs[0].Size != 0 || msgs[0].BodyID != msgs[1].BodyID {
		t.Fatalf("fetch: %+v, %v", msgs, err)
	}
	data, err := st.ReadBody(ctx, msgs[0].BodyID)
	if err != nil || len(data) != 0 {
		t.Errorf("read back %q, %v", data, err)
	}
	r, err := st.OpenMessage(ctx, inbox.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("Read of an empty body = %d, %v", n, err)
	}
}

// A body being read outlives the expunge of its last message; it goes
// once the reader closes (FETCH and RETR stream a body without holding a
// transaction).
func testBodyPinned(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	raw := bigText(2 << 20)
	body, err := storage.PrepareBody(bytes.NewReader(raw), 0)
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}})
	if err != nil {
		t.Fatal(err)
	}
	id := bodyIDOf(t, st, res[0].MailboxID, res[0].UID)
	r, err := st.OpenMessage(storage.WithAccount(ctx, a.ID), res[0].MailboxID, res[0].UID)
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 100)
	if _, err := io.ReadFull(r, head); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Expunge(ctx, res[0].MailboxID, []uint32{res[0].UID}); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(append(head, rest...), body.Bytes()) {
		t.Fatalf("read after the expunge: %d octets, %v", len(head)+len(rest), err)
	}
	r.Close()
	r.Close() // a second Close does nothing
	waitFor(t, "the body is still there after its reader closed", func() bool {
		_, err := st.ReadBody(ctx, id)
		return errors.Is(err, storage.ErrNotFound)
	})
	if _, err := st.OpenMessage(ctx, res[0].MailboxID, res[0].UID); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("OpenMessage of the expunged message: %v", err)
	}
}

// FETCH serves ENVELOPE, BODY, BODYSTRUCTURE and the header from what
// was computed at delivery; only what is asked for is loaded.
func testFetchColumns(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	text := "From: Ann <ann@example.test>\r\nSubject: hello\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nhi\r\n"
	body := storage.NewBody([]byte(text))
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: body}}); err != nil {
		t.Fatal(err)
	}
	info := body.Info()
	all, err := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{Envelope: true, Structure: true, Header: true})
	if err != nil || len(all) != 1 {
		t.Fatal(all, err)
	}
	m := all[0]
	if !bytes.Equal(m.Envelope, info.Envelope) || !bytes.Equal(m.Body, info.Body) || !bytes.Equal(m.BodyStructure, info.BodyStructure) ||
		string(m.Header) != text[:info.HeaderLen] || m.HeaderLen != int64(info.HeaderLen) || m.Size != int64(len(text)) || m.UID != 1 || m.ModSeq == 0 {
		t.Errorf("fetch = %+v", m)
	}
	none, _ := st.FetchMessages(ctx, inbox.ID, []uint32{1}, storage.FetchWant{})
	if len(none) != 1 || none[0].Envelope != nil || none[0].Header != nil || none[0].BodyStructure != nil || none[0].HeaderLen != m.HeaderLen {
		t.Errorf("fetch of nothing extra = %+v", none)
	}
	if got, err := st.FetchMessages(ctx, inbox.ID, nil, storage.FetchWant{}); err != nil || len(got) != 0 {
		t.Errorf("fetch of no UIDs = %v, %v", got, err)
	}
}

func testSearchHeaders(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	texts := []string{
		"From: =?UTF-8?Q?J=C3=BCrgen?= <j@example.test>\r\nTo: x@example.test\r\nCc: y@example.test\r\nBcc: z@example.test\r\nSubject: =?UTF-8?B?w6TDtsO8?= one\r\nMessage-ID: <m1@example.test>\r\nDate: Tue, 3 Mar 2026 10:00:00 +0200\r\n\r\nx\r\n",
		"Subject: two\r\n\r\ny\r\n",
	}
	for i, text := range texts {
		if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: storage.NewBody([]byte(text)), Flags: storage.FlagSet{Keywords: []string{"k" + string(rune('a'+i))}}}}); err != nil {
			t.Fatal(err)
		}
	}
	rows, err := st.SearchHeaders(ctx, inbox.ID, storage.SearchSubject|storage.SearchFrom|storage.SearchTo|storage.SearchCc|storage.SearchBcc|storage.SearchMessageID|storage.SearchDate)
	if err != nil || len(rows) != 2 {
		t.Fatal(rows, err)
	}
	r := rows[0]
	if r.UID != 1 || r.Subject != "äöü one" || !strings.Contains(r.From, "Jürgen") || r.To != "x@example.test" || r.Cc != "y@example.test" ||
		r.Bcc != "z@example.test" || r.MessageID != "<m1@example.test>" || !r.Flags.HasKeyword("ka") || r.BodyID == 0 || r.Size != int64(len(texts[0])) {
		t.Errorf("row 1 = %+v", r)
	}
	if _, off := r.Date.Zone(); off != 2*3600 || !r.Date.Equal(time.Date(2026, 3, 3, 8, 0, 0, 0, time.UTC)) {
		t.Errorf("date %v, want 10:00 at +0200", r.Date)
	}
	if !rows[1].Date.IsZero() || rows[1].Subject != "two" {
		t.Errorf("row 2 = %+v", rows[1])
	}
	only, _ := st.SearchHeaders(ctx, inbox.ID, storage.SearchSubject)
	if only[0].Subject != "äöü one" || only[0].From != "" {
		t.Errorf("subject only = %+v", only[0])
	}
}

func testEachHeader(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	appendMsgs(t, st, a.ID, "INBOX", 3)
	var got []uint32
	err := st.EachHeader(ctx, inbox.ID, []uint32{3, 1, 9}, 10, func(uid uint32, header []byte) error {
		got = append(got, uid)
		if string(header) != "From: a@ex" {
			t.Errorf("uid %d: header cut to 10 octets = %q", uid, header)
		}
		return nil
	})
	if err != nil || len(got) != 2 || got[0] != 1 || got[1] != 3 {
		t.Errorf("EachHeader visited %v, %v", got, err)
	}
	stop := errors.New("stop")
	if err := st.EachHeader(ctx, inbox.ID, []uint32{1, 2}, 100, func(uint32, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("an error of fn: %v", err)
	}
}

// What the analysis computes for threading and sorting is stored and
// read back; a body stored now is not stale.
func testAnalysisColumns(t *testing.T, h Harness) {
	st := h.Open(t)
	ctx := context.Background()
	a := newAccount(t, st, "a@example.test")
	inbox := mailbox(t, st, a.ID, "INBOX")
	text := "From: Ann <Ann@Example.TEST>\r\nSender: list@Lists.test\r\nReply-To: team: x@a.test, y@B.test;\r\n" +
		"To: b@example.test, c@example.test\r\nCc: d@example.test\r\nBcc: e@example.test\r\n" +
		"Subject: Re: [list] Fwd: the plan (fwd)\r\nMessage-ID: <3@x.test>\r\nIn-Reply-To: <2@x.test>\r\n" +
		"References: <1@x.test> <2@x.test>\r\n\r\nbody\r\n"
	if _, err := st.Append(ctx, []storage.AppendItem{{AccountID: a.ID, Body: storage.NewBody([]byte(text))}}); err != nil {
		t.Fatal(err)
	}
	rows, err := st.SearchHeaders(ctx, inbox.ID, storage.SearchInReplyTo|storage.SearchReferences|storage.SearchBaseSubject|storage.SearchAddresses)
	if err != nil || len(rows) != 1 {
		t.Fatal(rows, err)
	}
	r := rows[0]
	for name, c := range map[string][2]string{
		"InReplyTo":    {r.InReplyTo, "<2@x.test>"},
		"References":   {r.References, "<1@x.test> <2@x.test>"},
		"BaseSubject":  {r.BaseSubject, "the plan"},
		"FromAddrs":    {fmt.Sprint(r.FromAddrs), "[Ann@example.test]"},
		"SenderAddrs":  {fmt.Sprint(r.SenderAddrs), "[list@lists.test]"},
		"ReplyToAddrs": {fmt.Sprint(r.ReplyToAddrs), "[x@a.test y@b.test]"},
		"ToAddrs":      {fmt.Sprint(r.ToAddrs), "[b@example.test c@example.test]"},
		"CcAddrs":      {fmt.Sprint(r.CcAddrs), "[d@example.test]"},
		"BccAddrs":     {fmt.Sprint(r.BccAddrs), "[e@example.test]"},
	} {
		if c[0] != c[1] {
			t.Errorf("%s = %q, want %q", name, c[0], c[1])
		}
	}
	if r.Subject != "" || r.From != "" {
		t.Errorf("columns not asked for were loaded: %+v", r)
	}
	if n, err := st.StaleBodies(ctx); err != nil || n != 0 {
		t.Errorf("stale bodies right after storing: %d, %v", n, err)
	}
	if n, _, err := st.ReindexBodies(ctx, 0, 10); err != nil || n != 0 {
		t.Errorf("reindex with nothing stale: %d, %v", n, err)
	}
}
