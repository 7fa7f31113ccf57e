package e2e

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	"postern/delivery/outbound"
	pdkim "postern/dkim"
	"postern/internal/testserver"
)

const letter = "From: Alice <alice@example.test>\r\nTo: bob@remote.test, carol@example.test\r\nSubject: Hello from Postern\r\nMessage-ID: <e2e-1@example.test>\r\n\r\nLine one.\r\n.Line starting with a dot.\r\n"

// outboundServer starts a server whose outbound runner resolves through fake
// DNS that sends remote.test to mx on loopback.
func outboundServer(t *testing.T, dir string, mx *remoteMX, zones map[string]mockdns.Zone) *testserver.Server {
	t.Helper()
	_, res := fakeDNS(t, zones)
	return testserver.Start(t, testserver.Options{Dir: dir, TuneOutbound: func(o *outbound.Options) {
		o.Resolver = res
		o.MXPort = mx.port
		o.Retry = []time.Duration{500 * time.Millisecond}
	}})
}

func remoteZones() map[string]mockdns.Zone {
	return map[string]mockdns.Zone{
		"remote.test.":    {MX: []net.MX{{Host: "mx.remote.test.", Pref: 10}}},
		"mx.remote.test.": {A: []string{"127.0.0.1"}},
	}
}

func TestSubmissionToRemoteAndLocalIsSignedAndSplit(t *testing.T) {
	dir := t.TempDir()
	key, err := pdkim.Generate(dir, "example.test", "postern", "ed25519")
	if err != nil {
		t.Fatal(err)
	}
	zones := remoteZones()
	zones[key.RecordName()] = mockdns.Zone{TXT: []string{key.TXT()}}
	mx := startRemoteMX(t)
	ts := outboundServer(t, dir, mx, zones)
	ts.AddUser(t, "alice@example.test", "alice-pw")
	ts.AddUser(t, "carol@example.test", "carol-pw")

	submit(t, ts, "alice@example.test", "alice-pw", "alice@example.test", []string{"bob@remote.test", "carol@example.test"}, letter)

	eventually(t, "delivery to the remote MX", func() bool { return len(mx.messages()) == 1 })
	got := mx.messages()[0]
	if got.from != "alice@example.test" || len(got.rcpts) != 1 || got.rcpts[0] != "bob@remote.test" || got.helo != "localhost" {
		t.Errorf("remote envelope: helo=%q from=%q rcpts=%v", got.helo, got.from, got.rcpts)
	}
	if !bytes.Contains(got.data, []byte(".Line starting with a dot.\r\n")) || bytes.Contains(got.data, []byte("Return-Path:")) {
		t.Errorf("remote copy damaged:\n%s", got.data)
	}
	// The signature verifies against the record "postern dkim keygen" prints.
	verifs, err := dkim.VerifyWithOptions(bytes.NewReader(got.data), &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			if name+"." == key.RecordName() {
				return []string{key.TXT()}, nil
			}
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		},
	})
	if err != nil || len(verifs) != 1 || verifs[0].Err != nil || verifs[0].Domain != "example.test" {
		t.Fatalf("DKIM: %v %+v\n%s", err, verifs, got.data)
	}

	// carol, the local recipient, got her copy over IMAP; the queue is empty.
	c := imapLogin(t, ts, "carol@example.test", "carol-pw", nil)
	msgs := fetchAll(t, c, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("carol has %d messages", len(msgs))
	}
	for _, m := range msgs {
		if !bytes.HasPrefix(m, []byte("Return-Path: <alice@example.test>\r\nReceived: ")) || !bytes.HasSuffix(m, []byte(letter)) {
			t.Errorf("local copy:\n%s", m)
		}
	}
	eventually(t, "an empty queue", func() bool {
		l, _ := ts.Store.QueueList(context.Background())
		return len(l) == 0
	})
}

func TestPermanentFailureBouncesToSenderOverIMAP(t *testing.T) {
	mx := startRemoteMX(t)
	mx.rcpt = func(to string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	ts := outboundServer(t, "", mx, remoteZones())
	ts.AddUser(t, "alice@example.test", "alice-pw")
	submit(t, ts, "alice@example.test", "alice-pw", "alice@example.test", []string{"nobody@remote.test"}, letter)

	c := imapLogin(t, ts, "alice@example.test", "alice-pw", nil)
	var bounce []byte
	eventually(t, "a bounce in alice's INBOX", func() bool {
		for _, m := range fetchAll(t, c, "INBOX") {
			bounce = m
			return true
		}
		return false
	})
	for _, want := range []string{"multipart/report", "report-type=delivery-status", "message/delivery-status",
		"Final-Recipient: rfc822; nobody@remote.test", "Action: failed", "Status: 5.1.1", "no such user here", "Subject: Hello from Postern"} {
		if !bytes.Contains(bounce, []byte(want)) {
			t.Errorf("bounce lacks %q:\n%s", want, bounce)
		}
	}
	if !strings.Contains(string(bounce), "Return-Path: <>") {
		t.Errorf("a bounce must come from the null sender:\n%s", bounce)
	}
}

func TestQueueSurvivesRestart(t *testing.T) {
	mx := startRemoteMX(t)
	var refuse atomic.Bool
	refuse.Store(true)
	mx.rcpt = func(to string) error {
		if refuse.Load() {
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
		}
		return nil
	}
	dir := t.TempDir()
	ts := outboundServer(t, dir, mx, remoteZones())
	ts.AddUser(t, "alice@example.test", "alice-pw")
	submit(t, ts, "alice@example.test", "alice-pw", "alice@example.test", []string{"bob@remote.test"}, letter)
	eventually(t, "a failed first attempt", func() bool {
		l, _ := ts.Store.QueueList(context.Background())
		return len(l) == 1 && l[0].Attempts >= 1
	})
	if err := ts.Stop(); err != nil {
		t.Fatal(err)
	}

	refuse.Store(false)
	ts2 := outboundServer(t, dir, mx, remoteZones())
	eventually(t, "delivery after the restart", func() bool { return len(mx.messages()) == 1 })
	eventually(t, "an empty queue", func() bool {
		l, _ := ts2.Store.QueueList(context.Background())
		return len(l) == 0
	})
	time.Sleep(time.Second) // a duplicate would arrive within one more retry period
	if n := len(mx.messages()); n != 1 {
		t.Errorf("delivered %d times", n)
	}
}

// A user who sends from an alias gets the bounce in their own INBOX.
func TestBounceToAnAliasSender(t *testing.T) {
	mx := startRemoteMX(t)
	mx.rcpt = func(string) error {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
	}
	ts := outboundServer(t, "", mx, remoteZones())
	ts.AddUser(t, "alice@example.test", "alice-pw")
	if err := ts.Store.AddAlias(context.Background(), "sales@example.test", []string{"alice@example.test"}); err != nil {
		t.Fatal(err)
	}
	submit(t, ts, "alice@example.test", "alice-pw", "sales@example.test", []string{"nobody@remote.test"},
		"From: Sales <sales@example.test>\r\nTo: nobody@remote.test\r\nSubject: Offer\r\n\r\nhi\r\n")
	c := imapLogin(t, ts, "alice@example.test", "alice-pw", nil)
	eventually(t, "a bounce in alice's INBOX", func() bool {
		for _, m := range fetchAll(t, c, "INBOX") {
			return bytes.Contains(m, []byte("Final-Recipient: rfc822; nobody@remote.test")) && bytes.Contains(m, []byte("To: <sales@example.test>"))
		}
		return false
	})
}
