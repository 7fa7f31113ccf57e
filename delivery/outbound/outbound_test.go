package outbound

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	msgdkim "github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"postern/dkim"
	"postern/storage"
	"postern/storage/sqlite"
)

const hostname = "mx.example.test"

// env is a store with a local sender, a DKIM key for its domain, a fake DNS
// and a settable clock.
type env struct {
	dir   string
	st    *sqlite.Store
	clock *clock
	alice storage.Account
	key   *dkim.Key
	zones map[string]mockdns.Zone
	res   *net.Resolver
}

func newEnv(t *testing.T, zones map[string]mockdns.Zone) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: &clock{now: time.Now().Truncate(time.Millisecond)}}
	e.st = openStore(t, e.dir)
	t.Cleanup(func() { e.st.Close() })
	var err error
	if e.alice, err = e.st.CreateAccount(context.Background(), "alice@example.test", "pw"); err != nil {
		t.Fatal(err)
	}
	if e.key, err = dkim.Generate(e.dir, "example.test", "postern", dkim.Ed25519); err != nil {
		t.Fatal(err)
	}
	if zones == nil {
		zones = map[string]mockdns.Zone{}
	}
	// Publish what "postern dkim keygen" prints.
	zones["postern._domainkey.example.test."] = mockdns.Zone{TXT: []string{e.key.TXT()}}
	e.zones = zones
	_, e.res = dnsServer(t, zones)
	return e
}

func (e *env) options(port int) Options {
	return Options{
		Store: e.st, Hostname: hostname, Domains: []string{"example.test"},
		Resolver: e.res, MXPort: port, DKIM: map[string]*dkim.Key{"example.test": e.key},
		Logger: quietLogger(), Now: e.clock.Now,
	}
}

func testMessage(subject string) *storage.Body {
	return storage.NewBody([]byte("From: Alice <alice@example.test>\r\nTo: bob@remote.test\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + subject + "@example.test>\r\nDate: Wed, 02 Jan 2030 03:04:05 +0000\r\n\r\nHello Bob,\r\n\r\n.leading dot\r\n"))
}

// enqueue queues a message as if a user had submitted it.
func (e *env) enqueue(t *testing.T, from string, body *storage.Body, rcpts ...string) {
	t.Helper()
	item := storage.QueueItem{MsgID: "t1", From: from, Origin: storage.OriginSubmission, Body: body, NextAttempt: e.clock.Now()}
	for _, r := range rcpts {
		item.Recipients = append(item.Recipients, storage.QueueRecipient{Address: r})
	}
	if err := e.st.Enqueue(context.Background(), item); err != nil {
		t.Fatal(err)
	}
}

func remoteZones(mx ...net.MX) map[string]mockdns.Zone {
	z := map[string]mockdns.Zone{
		"remote.test.":    {MX: mx},
		"mx.remote.test.": {A: []string{"127.0.0.1"}},
	}
	return z
}

func TestDeliverSignedWithTLS(t *testing.T) {
	tlsCfg, _ := selfSigned(t, "mx.remote.test")
	mx := startMX(t, "127.0.0.1", 0, tlsCfg)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)

	body := testMessage("signed")
	// One transaction: a local copy for alice and two remote recipients.
	if _, err := e.st.Accept(context.Background(), []storage.AppendItem{{AccountID: e.alice.ID, Mailbox: "Sent", Body: body}},
		[]storage.QueueItem{{MsgID: "m1", From: "alice@example.test", Origin: storage.OriginSubmission, Body: body, NextAttempt: e.clock.Now(), Recipients: []storage.QueueRecipient{
			{Address: "bob@remote.test", Notify: []string{"FAILURE"}}, {Address: "carol@remote.test"}}}}); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "delivery", func() bool { return len(mx.messages()) == 1 && queueLen(t, e.st) == 0 })

	got := mx.messages()[0]
	if got.helo != hostname || got.from != "alice@example.test" || strings.Join(got.rcpts, ",") != "bob@remote.test,carol@remote.test" {
		t.Errorf("envelope: helo %q from %q rcpts %q", got.helo, got.from, got.rcpts)
	}
	if !got.tls {
		t.Error("STARTTLS was offered but the message went in plaintext")
	}
	if len(got.notify[0]) != 1 || got.notify[0][0] != smtp.DSNNotifyFailure {
		t.Errorf("NOTIFY not passed on: %v", got.notify)
	}
	if !bytes.HasSuffix(got.data, body.Bytes()) {
		t.Errorf("body changed in transit:\n%q", got.data)
	}
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(got.data), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return e.res.LookupTXT(context.Background(), name) },
	})
	if err != nil || len(vs) != 1 {
		t.Fatalf("DKIM: %v %v", vs, err)
	}
	if vs[0].Err != nil || vs[0].Domain != "example.test" {
		t.Errorf("DKIM verification: domain %q err %v", vs[0].Domain, vs[0].Err)
	}
	// The local copy is untouched and its body survives the queue's release.
	sent, _ := e.st.Mailbox(context.Background(), e.alice.ID, "Sent")
	if msgs, _ := e.st.FetchMessages(context.Background(), sent.ID, []uint32{1}, storage.FetchWant{}); len(msgs) != 1 {
		t.Error("local copy missing")
	} else if b, err := e.st.ReadBody(context.Background(), msgs[0].BodyID); err != nil || !bytes.Equal(b, body.Bytes()) {
		t.Errorf("local copy body: %v", err)
	}
}

func TestTemporaryFailureThenDelivery(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	var tries atomic.Int32
	mx.rcpt = func(string) error {
		if tries.Add(1) == 1 {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 7, 1}, Message: "greylisted, come back later"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("grey"), "bob@remote.test")
	r.Kick()
	eventually(t, "first attempt recorded", func() bool {
		l, _ := e.st.QueueList(context.Background())
		return len(l) == 1 && l[0].LastError != ""
	})
	l, _ := e.st.QueueList(context.Background())
	if l[0].Attempts != 1 || !strings.Contains(l[0].LastError, "451 4.7.1") || !l[0].NextAttempt.Equal(e.clock.Now().Add(time.Minute)) {
		t.Errorf("after a 451: attempts %d, error %q, next %v", l[0].Attempts, l[0].LastError, l[0].NextAttempt)
	}
	if len(mx.messages()) != 0 {
		t.Fatal("delivered despite 451")
	}
	// Not due yet: a kick changes nothing.
	r.Kick()
	time.Sleep(50 * time.Millisecond)
	if tries.Load() != 1 {
		t.Fatalf("retried before the schedule said (%d tries)", tries.Load())
	}
	e.clock.Add(61 * time.Second)
	r.Kick()
	eventually(t, "delivery on retry", func() bool { return queueLen(t, e.st) == 0 })
	if n := len(mx.messages()); n != 1 || tries.Load() != 2 {
		t.Errorf("%d messages after %d tries, want exactly 1 after 2", n, tries.Load())
	}
	if got := inboxMessages(t, e.st, e.alice.ID); len(got) != 0 {
		t.Errorf("a DSN was sent for a delivered message: %q", got)
	}
}

func TestPermanentFailureBouncesToLocalSender(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcpt = func(to string) error {
		if strings.HasPrefix(to, "nobody@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	body := testMessage("bounce")
	if err := e.st.Enqueue(context.Background(), storage.QueueItem{MsgID: "b1", From: "alice@example.test", Body: body,
		EnvelopeID: "ENV-42", Return: "HDRS", NextAttempt: e.clock.Now(),
		Recipients: []storage.QueueRecipient{
			{Address: "nobody@remote.test", ORCPT: "rfc822;nobody@remote.test"},
			{Address: "bob@remote.test"},
		}}); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "bounce", func() bool { return queueLen(t, e.st) == 0 && len(inboxMessages(t, e.st, e.alice.ID)) == 1 })
	if msgs := mx.messages(); len(msgs) != 1 || strings.Join(msgs[0].rcpts, ",") != "bob@remote.test" {
		t.Errorf("the good recipient: %+v", msgs)
	}
	dsn := string(inboxMessages(t, e.st, e.alice.ID)[0])
	for _, want := range []string{
		"Content-Type: multipart/report; report-type=delivery-status",
		"Content-Type: message/delivery-status",
		"Reporting-MTA: dns; " + hostname,
		"Original-Envelope-Id: ENV-42",
		"Original-Recipient: rfc822;nobody@remote.test",
		"Final-Recipient: rfc822; nobody@remote.test",
		"Action: failed",
		"Status: 5.1.1",
		"Remote-MTA: dns; mx.remote.test",
		"Diagnostic-Code: smtp; 550 5.1.1 no such user",
		"Content-Type: text/rfc822-headers",
		"Subject: bounce",
		"Auto-Submitted: auto-replied",
	} {
		if !strings.Contains(dsn, want) {
			t.Errorf("DSN lacks %q", want)
		}
	}
	if strings.Contains(dsn, "Hello Bob") {
		t.Error("RET=HDRS but the DSN carries the body")
	}
	if strings.Contains(dsn, "Final-Recipient: rfc822; bob@remote.test") {
		t.Error("DSN reports the delivered recipient")
	}
}

func TestBounceToRemoteSenderAndNullSender(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	mx.rcpt = func(to string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	// A null-sender message that fails is dropped without a bounce.
	e.enqueue(t, "", testMessage("null"), "x@remote.test")
	r.Kick()
	eventually(t, "null sender failure", func() bool { return queueLen(t, e.st) == 0 })
	// A remote sender's bounce is queued with the null sender. A remote
	// sender's mail came in on the MX and was forwarded, so even RET=FULL
	// gets the header only.
	if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: "sender@far.test", Origin: storage.OriginForwarded, Body: testMessage("full"), Return: "FULL",
		NextAttempt: e.clock.Now(), Recipients: []storage.QueueRecipient{{Address: "y@remote.test"}}}); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	var list []storage.QueueEntry
	eventually(t, "bounce queued", func() bool {
		list, _ = e.st.QueueList(context.Background())
		return len(list) == 1 && list[0].Domain == "far.test"
	})
	if list[0].From != "" || list[0].Recipients[0].Address != "sender@far.test" || list[0].Origin != storage.OriginServer {
		t.Errorf("bounce entry %+v", list[0])
	}
	b, _ := e.st.ReadBody(context.Background(), list[0].BodyID)
	if !bytes.Contains(b, []byte("Content-Type: text/rfc822-headers")) || !bytes.Contains(b, []byte("Subject: full")) ||
		bytes.Contains(b, []byte("message/rfc822")) || bytes.Contains(b, []byte("Hello Bob")) {
		t.Errorf("bounce of forwarded mail, want its header only:\n%s", b)
	}
	if n := len(inboxMessages(t, e.st, e.alice.ID)); n != 0 {
		t.Errorf("%d messages in a local INBOX", n)
	}
}

func TestNotifyNeverAndSuccess(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil, noDSN) // so that we must report success ourselves
	mx.rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "gone"}
		}
		return nil
	}
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: "alice@example.test", Origin: storage.OriginSubmission, Body: testMessage("n"), NextAttempt: e.clock.Now(),
		Recipients: []storage.QueueRecipient{{Address: "gone@remote.test", Notify: []string{"NEVER"}}, {Address: "ok@remote.test", Notify: []string{"SUCCESS"}}}}); err != nil {
		t.Fatal(err)
	}
	r.Kick()
	eventually(t, "delivery", func() bool { return queueLen(t, e.st) == 0 && len(inboxMessages(t, e.st, e.alice.ID)) == 1 })
	dsn := string(inboxMessages(t, e.st, e.alice.ID)[0])
	if !strings.Contains(dsn, "Action: relayed") || !strings.Contains(dsn, "Final-Recipient: rfc822; ok@remote.test") || !strings.Contains(dsn, "Status: 2.") {
		t.Errorf("success report:\n%s", dsn)
	}
	if strings.Contains(dsn, "gone@remote.test") {
		t.Error("NOTIFY=NEVER recipient reported")
	}
}
