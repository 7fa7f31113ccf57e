package outbound

import (
	"bytes"
	"context"
	"net"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"postern/storage"
)

// bigForwarded is forwarded mail with a large header field, a body the
// forger wants delivered, and RET=FULL.
func bigForwarded(from string, rcpts ...storage.QueueRecipient) storage.QueueItem {
	head := "Received: from [192.0.2.9]\r\n\tby mx.example.test (Postern) with ESMTP\r\n\tid fwd1;\r\n\tThu, 1 Jan 1970 00:00:00 +0000\r\n" +
		"From: CEO <ceo@example.test>\r\nSubject: forged\r\nX-Padding: " + strings.Repeat(strings.Repeat("p", 70)+"\r\n\t", 1500) + "end\r\nX-After: late\r\n"
	return storage.QueueItem{MsgID: "fwd1", From: from, Origin: storage.OriginForwarded, Return: "FULL", EnvelopeID: "ENV-F",
		Body: storage.NewBody([]byte(head + "\r\nBUY NOW: the forger's content\r\n")), Recipients: rcpts}
}

// Notices about forwarded mail return its header only, whatever RET asked,
// and no more of it than maxForwardedHeader: the "relayed" notice for a next
// hop without DSN and the "failed" one alike.
func TestNoticesOfForwardedMailReturnTheHeaderOnly(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil, noDSN)
	mx.rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	it := bigForwarded("alice@example.test",
		storage.QueueRecipient{Address: "ok@remote.test", Notify: []string{"SUCCESS"}},
		storage.QueueRecipient{Address: "gone@remote.test", Notify: []string{"FAILURE"}})
	it.NextAttempt = e.clock.Now()
	if err := e.st.Enqueue(context.Background(), it); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "a notice", func() bool { return queueLen(t, e.st) == 0 && len(inboxMessages(t, e.st, e.alice.ID)) == 1 })
	dsn := inboxMessages(t, e.st, e.alice.ID)[0]
	for _, want := range []string{"Action: relayed", "Action: failed", "Content-Type: text/rfc822-headers", "Subject: forged", "Original-Envelope-Id: ENV-F"} {
		if !bytes.Contains(dsn, []byte(want)) {
			t.Errorf("notice lacks %q", want)
		}
	}
	if bytes.Contains(dsn, []byte("message/rfc822")) || bytes.Contains(dsn, []byte("BUY NOW")) {
		t.Errorf("notice carries the forwarded message's content")
	}
	if bytes.Contains(dsn, []byte("X-Padding")) || bytes.Contains(dsn, []byte("X-After")) || len(dsn) > maxForwardedHeader+8<<10 {
		t.Errorf("notice carries %d octets; the header is cut before the field that passes %d", len(dsn), maxForwardedHeader)
	}
}

// A next hop that offers DSN gets the parameters and reports on its own: no
// "relayed" notice from us (RFC 3461 §5.2.1). RET=FULL of forwarded mail goes
// on as HDRS, so that the next hop does not return the content either.
func TestDSNParametersGoOnToTheNextHop(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	fwd := bigForwarded("victim@far.test", storage.QueueRecipient{Address: "fwd@remote.test", Notify: []string{"SUCCESS", "FAILURE"}, ORCPT: "rfc822;alias@example.test"})
	fwd.NextAttempt = e.clock.Now()
	sub := storage.QueueItem{MsgID: "sub1", From: "alice@example.test", Origin: storage.OriginSubmission, Return: "FULL", EnvelopeID: "ENV-S",
		Body: testMessage("sub"), NextAttempt: e.clock.Now(), Recipients: []storage.QueueRecipient{{Address: "sub@remote.test", Notify: []string{"SUCCESS"}}}}
	if err := e.st.Enqueue(context.Background(), fwd, sub); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "two deliveries", func() bool { return queueLen(t, e.st) == 0 && len(mx.messages()) == 2 })
	// Notices are committed with the entry's removal: none is queued or stored.
	if n := len(mx.messages()); n != 2 {
		t.Errorf("%d messages reached the MX, want the two, without a notice", n)
	}
	if n := len(inboxMessages(t, e.st, e.alice.ID)); n != 0 {
		t.Errorf("%d notices to alice; the next hop reports success itself", n)
	}
	for _, m := range mx.messages() {
		switch m.rcpts[0] {
		case "fwd@remote.test":
			if m.ret != smtp.DSNReturnHeaders || m.envid != "ENV-F" || m.orcpt[0] != "RFC822;alias@example.test" ||
				len(m.notify[0]) != 2 || m.notify[0][0] != smtp.DSNNotifySuccess {
				t.Errorf("forwarded: RET=%q ENVID=%q ORCPT=%q NOTIFY=%v", m.ret, m.envid, m.orcpt, m.notify)
			}
		case "sub@remote.test":
			if m.ret != smtp.DSNReturnFull || m.envid != "ENV-S" {
				t.Errorf("submitted: RET=%q ENVID=%q", m.ret, m.envid)
			}
		}
	}
}

// RET=FULL returns the message in a failure notice to an authenticated
// sender, and only there: a notice without a failure returns the header
// (RFC 3461 §4.3).
func TestFullReturnOnlyInFailureNotices(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil, noDSN)
	mx.rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	for _, rc := range []storage.QueueRecipient{{Address: "ok@remote.test", Notify: []string{"SUCCESS"}}, {Address: "gone@remote.test"}} {
		if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: "alice@example.test", Origin: storage.OriginSubmission, Return: "FULL",
			Body: testMessage(rc.Address), NextAttempt: e.clock.Now(), Recipients: []storage.QueueRecipient{rc}}); err != nil {
			t.Fatal(err)
		}
	}
	r.Kick()
	eventually(t, "two notices", func() bool { return queueLen(t, e.st) == 0 && len(inboxMessages(t, e.st, e.alice.ID)) == 2 })
	for _, d := range inboxMessages(t, e.st, e.alice.ID) {
		switch {
		case bytes.Contains(d, []byte("Action: relayed")):
			if !bytes.Contains(d, []byte("text/rfc822-headers")) || bytes.Contains(d, []byte("Hello Bob")) {
				t.Errorf("relayed notice, want the header only:\n%s", d)
			}
		case bytes.Contains(d, []byte("Action: failed")):
			if !bytes.Contains(d, []byte("Content-Type: message/rfc822")) || !bytes.Contains(d, []byte("Hello Bob")) {
				t.Errorf("failure notice with RET=FULL, want the message:\n%s", d)
			}
		default:
			t.Errorf("unexpected notice:\n%s", d)
		}
	}
}

// A sender in a served domain written with a trailing dot or in capitals is
// local: its notice goes to the mailbox, not out through the MX lookup of
// our own domain. One that names nobody gets no notice at all.
func TestNoticeToLocalSenderSpelledOddly(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcpt = func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	for _, from := range []string{"alice@EXAMPLE.test.", "ghost@example.test."} {
		if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: from, Body: testMessage(from), NextAttempt: e.clock.Now(),
			Recipients: []storage.QueueRecipient{{Address: "gone@remote.test"}}}); err != nil {
			t.Fatal(err)
		}
	}
	r.Kick()
	// A notice is committed with the removal of the entry it reports on.
	var left []storage.QueueEntry
	eventually(t, "both failures", func() bool {
		left, _ = e.st.QueueList(context.Background())
		return !slices.ContainsFunc(left, func(q storage.QueueEntry) bool { return q.From != "" })
	})
	if len(left) != 0 {
		t.Errorf("a notice was queued to go out: %+v", left)
	}
	if n := len(inboxMessages(t, e.st, e.alice.ID)); n != 1 {
		t.Errorf("%d notices in alice's INBOX, want 1", n)
	}
}
