package e2e

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/emersion/go-smtp"
	"github.com/foxcpp/go-mockdns"

	pdkim "postern/dkim"
	"postern/internal/testserver"
)

// Mail forwarded by an alias is the unverified sender's own: what an attacker
// sends to the MX must not come out signed, or returned, by us.

// forgery claims to come from the served domain; its body is what the forger
// wants delivered somewhere.
const forgery = "From: CEO <ceo@example.test>\r\nTo: fwd@example.test\r\nSubject: Wire the money today\r\n" +
	"Message-ID: <forged-1@example.test>\r\n\r\nBUY NOW: the forger's content.\r\n"

// mxTransaction sends msg through the MX listener without authentication,
// with DSN parameters on MAIL and on every RCPT.
func mxTransaction(t *testing.T, ts *testserver.Server, from string, mail *smtp.MailOptions, rcpts []string, rcpt *smtp.RcptOptions, msg string) {
	t.Helper()
	c, err := smtp.DialStartTLS(ts.SMTPAddr, ts.TLSConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(from, mail); err != nil {
		t.Fatalf("MAIL: %v", err)
	}
	for _, to := range rcpts {
		if err := c.Rcpt(to, rcpt); err != nil {
			t.Fatalf("RCPT %s: %v", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatalf("DATA: %v", err)
	}
	c.Quit()
}

func addAlias(t *testing.T, ts *testserver.Server, alias string, targets ...string) {
	t.Helper()
	if err := ts.Store.AddAlias(context.Background(), alias, targets); err != nil {
		t.Fatal(err)
	}
}

// forwardZones sends remote.test and far.test (the forged sender's domain) to
// the fake MX.
func forwardZones() map[string]mockdns.Zone {
	z := remoteZones()
	z["far.test."] = mockdns.Zone{MX: []net.MX{{Host: "mx.remote.test.", Pref: 10}}}
	return z
}

func TestForwardedMailIsNotSigned(t *testing.T) {
	dir := t.TempDir()
	key, err := pdkim.Generate(dir, "example.test", "postern", "ed25519")
	if err != nil {
		t.Fatal(err)
	}
	zones := forwardZones()
	zones[key.RecordName()] = mockdns.Zone{TXT: []string{key.TXT()}}
	mx := startRemoteMX(t)
	ts := outboundServer(t, dir, mx, zones)
	ts.AddUser(t, "alice@example.test", "alice-pw")
	addAlias(t, ts, "fwd@example.test", "bob@remote.test")

	// The attack: unauthenticated, on the MX, as the served domain.
	sendMX(t, ts, "ceo@example.test", []string{"fwd@example.test"}, forgery)
	// The control: alice's own mail through the same alias is signed.
	submit(t, ts, "alice@example.test", "alice-pw", "alice@example.test", []string{"fwd@example.test"},
		"From: Alice <alice@example.test>\r\nTo: fwd@example.test\r\nSubject: From alice\r\n\r\nhello\r\n")

	eventually(t, "both forwarded", func() bool { return len(mx.messages()) == 2 })
	lookup := func(name string) ([]string, error) {
		if name+"." == key.RecordName() {
			return []string{key.TXT()}, nil
		}
		return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	for _, m := range mx.messages() {
		verifs, err := dkim.VerifyWithOptions(bytes.NewReader(m.data), &dkim.VerifyOptions{LookupTXT: lookup})
		if err != nil {
			t.Fatal(err)
		}
		signed := len(verifs) == 1 && verifs[0].Err == nil && verifs[0].Domain == "example.test"
		switch {
		case bytes.Contains(m.data, []byte("Subject: Wire the money")):
			if len(verifs) != 0 {
				t.Errorf("forwarded forgery went out with a signature, it would pass DMARC as example.test:\n%s", m.data)
			}
		case bytes.Contains(m.data, []byte("Subject: From alice")):
			if !signed {
				t.Errorf("alice's submitted mail is not signed: %+v\n%s", verifs, m.data)
			}
		default:
			t.Errorf("unexpected message:\n%s", m.data)
		}
	}
}

// A forged reverse-path with RET=FULL and NOTIFY=SUCCESS: the "relayed"
// notice (next hop without DSN) and the "failed" one go to the forged
// address with the header of the message only, never its content.
func TestNoticesOfForwardedMailCarryTheHeaderOnly(t *testing.T) {
	mx := startRemoteMX(t)
	mx.rcpt = func(to string) error {
		if strings.HasPrefix(to, "gone@") {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user here"}
		}
		return nil
	}
	ts := outboundServer(t, "", mx, forwardZones())
	addAlias(t, ts, "fwd@example.test", "bob@remote.test")
	addAlias(t, ts, "dead@example.test", "gone@remote.test")

	full := &smtp.MailOptions{Return: smtp.DSNReturnFull, EnvelopeID: "attack-1"}
	mxTransaction(t, ts, "victim@far.test", full, []string{"fwd@example.test"},
		&smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess}}, forgery)
	mxTransaction(t, ts, "victim@far.test", full, []string{"dead@example.test"},
		&smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifyFailure}}, forgery)

	var notices []remoteMsg
	eventually(t, "two notices to the forged sender", func() bool {
		notices = notices[:0]
		for _, m := range mx.messages() {
			if m.from == "" && len(m.rcpts) == 1 && m.rcpts[0] == "victim@far.test" {
				notices = append(notices, m)
			}
		}
		return len(notices) == 2
	})
	actions := map[string]bool{}
	for _, n := range notices {
		for _, a := range []string{"relayed", "failed"} {
			if bytes.Contains(n.data, []byte("Action: "+a)) {
				actions[a] = true
			}
		}
		if !bytes.Contains(n.data, []byte("Content-Type: text/rfc822-headers")) || !bytes.Contains(n.data, []byte("Subject: Wire the money")) {
			t.Errorf("notice without the original header:\n%s", n.data)
		}
		if bytes.Contains(n.data, []byte("message/rfc822")) || bytes.Contains(n.data, []byte("BUY NOW")) {
			t.Errorf("notice to an unverified sender carries the forwarded message:\n%s", n.data)
		}
	}
	if !actions["relayed"] || !actions["failed"] {
		t.Errorf("notices %v, want one relayed and one failed", actions)
	}
}

// A next hop that offers DSN gets the parameters and reports success itself:
// no "relayed" notice from us (RFC 3461 §5.2.1). RET=FULL goes on as HDRS,
// so that its notices do not carry the content to the forged sender either.
func TestForwardedDSNParametersGoOn(t *testing.T) {
	mx := startRemoteMX(t, func(s *smtp.Server) { s.EnableDSN = true })
	ts := outboundServer(t, "", mx, forwardZones())
	addAlias(t, ts, "fwd@example.test", "bob@remote.test")

	mxTransaction(t, ts, "victim@far.test", &smtp.MailOptions{Return: smtp.DSNReturnFull, EnvelopeID: "attack-2"},
		[]string{"fwd@example.test"}, &smtp.RcptOptions{Notify: []smtp.DSNNotify{smtp.DSNNotifySuccess, smtp.DSNNotifyFailure}}, forgery)

	// A notice would be queued in the same transaction that ends the entry.
	eventually(t, "the forwarded copy and an empty queue", func() bool {
		l, _ := ts.Store.QueueList(context.Background())
		return len(mx.messages()) >= 1 && len(l) == 0
	})
	msgs := mx.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages reached the next hop, want only the forwarded one", len(msgs))
	}
	m := msgs[0]
	if m.mail.Return != smtp.DSNReturnHeaders || m.mail.EnvelopeID != "attack-2" {
		t.Errorf("MAIL RET=%q ENVID=%q, want HDRS and the original ENVID", m.mail.Return, m.mail.EnvelopeID)
	}
	o := m.rcptOpts[0]
	if len(o.Notify) != 2 || o.Notify[0] != smtp.DSNNotifySuccess || o.Notify[1] != smtp.DSNNotifyFailure ||
		o.OriginalRecipientType != smtp.DSNAddressTypeRFC822 || o.OriginalRecipient != "fwd@example.test" {
		t.Errorf("RCPT NOTIFY=%v ORCPT=%s;%s", o.Notify, o.OriginalRecipientType, o.OriginalRecipient)
	}
}
