package outbound

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-smtp"

	"postern/storage"
)

// A local part that is not a dot-atom travels quoted (RFC 5321 §4.1.2):
// go-smtp's server hands it over unquoted, and its client would send it as
// given, "MAIL FROM:<a b@x>", which no server accepts.
func TestQuotedLocalPartsAreRequoted(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	e.enqueue(t, "a b@example.test", testMessage("quoted"), `john "doe"@remote.test`)
	r.Kick()
	eventually(t, "delivery", func() bool { return len(mx.messages()) == 1 && queueLen(t, e.st) == 0 })
	got := mx.messages()[0]
	if got.from != "a b@example.test" || strings.Join(got.rcpts, ",") != `john "doe"@remote.test` {
		t.Errorf("envelope: from %q rcpts %q", got.from, got.rcpts)
	}
}

// The DSN names addresses as RFC 5322 and RFC 3464 §2.3.2 (rfc822 type)
// want them: a local part that is not a dot-atom is quoted.
func TestDSNQuotesAddresses(t *testing.T) {
	dsn := string(buildDSN(dsnInput{
		hostname: hostname,
		entry:    storage.QueueEntry{From: "a b@far.test"},
		rcpts: []reportRcpt{{rcpt: storage.QueueRcpt{Address: "john doe@remote.test"}, action: "failed",
			out: outcome{code: 550, enh: "5.1.1", msg: "550 5.1.1 no such user"}}},
		original: []byte("Subject: x\r\n\r\n"),
	}))
	for _, want := range []string{"To: <\"a b\"@far.test>\r\n", "Final-Recipient: rfc822; \"john doe\"@remote.test\r\n",
		"Reporting-MTA: dns; " + hostname + "\r\n", "Action: failed\r\nStatus: 5.1.1\r\n", "Diagnostic-Code: smtp; 550 5.1.1 no such user\r\n"} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q:\n%s", want, dsn)
		}
	}
}

// An alias's internationalised address, recorded as ORCPT rfc822, goes on as
// utf-8 (RFC 6533): go-smtp refuses a non-ASCII rfc822 ORCPT, and the
// refusal broke the connection, leaving the entry and those after it in its
// batch undelivered on every attempt.
func TestInternationalisedOriginalRecipient(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil, func(s *smtp.Server) { s.EnableSMTPUTF8 = true })
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	first := storage.QueueItem{MsgID: "u1", From: "", UTF8: true, Body: testMessage("utf8"), NextAttempt: e.clock.Now(),
		Recipients: []storage.QueueRecipient{{Address: "fwd@remote.test", ORCPT: "rfc822;jörg@example.test"}}}
	second := storage.QueueItem{MsgID: "u2", From: "", Body: testMessage("after"), NextAttempt: e.clock.Now(),
		Recipients: []storage.QueueRecipient{{Address: "next@remote.test"}}}
	if err := e.st.Enqueue(context.Background(), first, second); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "both deliveries", func() bool { return len(mx.messages()) == 2 && queueLen(t, e.st) == 0 })
	for _, m := range mx.messages() {
		if m.rcpts[0] == "fwd@remote.test" && m.orcpt[0] != "UTF-8;jörg@example.test" {
			t.Errorf("ORCPT %q", m.orcpt[0])
		}
	}
}
