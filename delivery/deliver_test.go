package delivery

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/netip"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"postern/storage"
)

func TestDeliverOneBodyOneTransaction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []string{"alice@example.test", "bob@example.test"}, nil)
	alice, bob := f.accts["alice@example.test"], f.accts["bob@example.test"]
	msg := "Subject: hi\r\n\r\nbody\r\n"
	when := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	env := &Envelope{
		From:       "sender@remote.test",
		Recipients: []string{"alice@example.test", "team@example.test"},
		Local:      []storage.Account{alice, bob, alice},
		Trace:      Trace{Helo: "client.test", RemoteIP: netip.MustParseAddr("192.0.2.7"), By: "mx.example.test", ID: "abc123", Time: when},
	}
	d, err := f.r.Deliver(ctx, strings.NewReader(msg), env, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Results) != 2 {
		t.Fatalf("%d copies stored, want 2 (alice once, bob once)", len(d.Results))
	}
	want := "Return-Path: <sender@remote.test>\r\n" +
		"Received: from client.test ([192.0.2.7])\r\n" +
		"\tby mx.example.test (Postern) with ESMTP\r\n" +
		"\tid abc123;\r\n" +
		"\tWed, 4 Mar 2026 05:06:07 +0000\r\n" + msg
	var bodyIDs []int64
	for i, acct := range []storage.Account{alice, bob} {
		mb, err := f.st.Mailbox(ctx, acct.ID, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if d.Results[i].MailboxID != mb.ID {
			t.Errorf("copy %d went to mailbox %d, want INBOX %d", i, d.Results[i].MailboxID, mb.ID)
		}
		msgs, err := f.st.FetchMessages(ctx, mb.ID, []uint32{d.Results[i].UID}, storage.FetchWant{})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("fetch: %v %v", msgs, err)
		}
		raw, err := f.st.ReadBody(ctx, msgs[0].BodyID)
		if err != nil {
			t.Fatal(err)
		}
		if string(raw) != want {
			t.Errorf("stored:\n%q\nwant:\n%q", raw, want)
		}
		if d.Size != int64(len(want)) {
			t.Errorf("Size = %d, want %d", d.Size, len(want))
		}
		bodyIDs = append(bodyIDs, msgs[0].BodyID)
	}
	if bodyIDs[0] != bodyIDs[1] {
		t.Errorf("two body rows %v for one message", bodyIDs)
	}
}

func TestDeliverReadErrorStoresNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []string{"alice@example.test"}, nil)
	alice := f.accts["alice@example.test"]
	broken := io.MultiReader(strings.NewReader("Subject: x\r\n\r\npartial"), iotest.ErrReader(errors.New("connection reset")))
	_, err := f.r.Deliver(ctx, broken, &Envelope{From: "a@b.test", Local: []storage.Account{alice}}, 0)
	var re *ReadError
	if !errors.As(err, &re) {
		t.Fatalf("err = %v, want a *ReadError", err)
	}
	mb, _ := f.st.Mailbox(ctx, alice.ID, "INBOX")
	if st, _ := f.st.MailboxStatus(ctx, mb.ID); st.Messages != 0 {
		t.Fatalf("%d messages stored after a read error", st.Messages)
	}
}

func TestDeliverRemoteWithoutQueue(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, []string{"alice@example.test"}, nil)
	alice := f.accts["alice@example.test"]
	env := &Envelope{From: "alice@example.test", Local: []storage.Account{alice}, Remote: []Recipient{{Address: "x@remote.test"}}}
	_, err := f.r.Deliver(ctx, strings.NewReader("\r\nhi\r\n"), env, 0)
	var qe *QueueError
	if !errors.As(err, &qe) || !errors.Is(err, ErrOutboundDisabled) {
		t.Fatalf("err = %v, want a QueueError with ErrOutboundDisabled", err)
	}
	mb, _ := f.st.Mailbox(ctx, alice.ID, "INBOX")
	if st, _ := f.st.MailboxStatus(ctx, mb.ID); st.Messages != 0 {
		t.Fatalf("local copy stored although the transaction failed")
	}
}

// recordingQueue counts the wake-ups Deliver gives it.
type recordingQueue struct{ queued int }

func (q *recordingQueue) Accept(context.Context, string, Recipient) error { return nil }
func (q *recordingQueue) Queued()                                         { q.queued++ }

func TestDeliverRemoteCopyHasNoReturnPath(t *testing.T) {
	q := &recordingQueue{}
	st := openStore(t)
	r := NewRouter(st, []string{"example.test"}, q)
	env := &Envelope{From: "a@example.test", Remote: []Recipient{{Address: "x@remote.test", Notify: []string{"FAILURE"}}},
		Return: "HDRS", EnvelopeID: "env1", Trace: Trace{Helo: "c.test", By: "mx.example.test", AuthUser: "a@example.test"}}
	if _, err := r.Deliver(context.Background(), strings.NewReader("Subject: x\r\n\r\nhi\r\n"), env, 0); err != nil {
		t.Fatal(err)
	}
	if q.queued != 1 {
		t.Fatalf("queue woken %d times, want 1", q.queued)
	}
	entries, err := st.QueueList(context.Background())
	if err != nil || len(entries) != 1 {
		t.Fatalf("queue holds %d entries (%v), want 1", len(entries), err)
	}
	out := entries[0]
	raw, err := st.ReadBody(context.Background(), out.BodyID)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	if !strings.HasPrefix(body, "Received: ") || strings.Contains(body, "Return-Path") || !strings.HasSuffix(body, "Subject: x\r\n\r\nhi\r\n") {
		t.Errorf("outbound body:\n%s", body)
	}
	if out.Return != "HDRS" || out.EnvelopeID != "env1" || out.Recipients[0].Notify[0] != "FAILURE" || out.From != "a@example.test" {
		t.Errorf("DSN parameters lost: %+v", out)
	}
}

func TestReceivedHeader(t *testing.T) {
	tr := Trace{
		Helo:     "not a (valid) name\\",
		RemoteIP: netip.MustParseAddr("2001:db8::1"),
		By:       "mx.example.test",
		TLS:      &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256},
		AuthUser: "alice@example.test",
		UTF8:     true,
		ID:       "id1",
		Time:     time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", 3600)),
	}
	got := tr.Received([]string{"a b@example.test"})
	want := "Received: from [IPv6:2001:db8::1] (helo=not?a??valid??name?)\r\n" +
		"\tby mx.example.test (Postern) with UTF8SMTPSA\r\n" +
		"\t(TLS 1.3 cipher TLS_AES_128_GCM_SHA256)\r\n" +
		"\t(authenticated user alice@example.test)\r\n" +
		"\tid id1\r\n" +
		"\tfor <\"a b\"@example.test>;\r\n" +
		"\tFri, 2 Jan 2026 03:04:05 +0100\r\n"
	if got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}
	if rp := ReturnPath("", false); rp != "Return-Path: <>\r\n" {
		t.Errorf("null sender: %q", rp)
	}
	if rp := ReturnPath("a\r\nBcc: x@y@example.test", false); strings.Count(rp, "\r\n") != 1 {
		t.Errorf("Return-Path lets a line break through: %q", rp)
	}
}
