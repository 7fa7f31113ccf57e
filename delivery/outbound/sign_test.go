package outbound

import (
	"bytes"
	"context"
	"net"
	"net/mail"
	"testing"

	msgdkim "github.com/emersion/go-msgauth/dkim"

	"postern/storage"
)

// signatures verifies the DKIM signatures of msg against the env's DNS and
// returns the domains of those that verify.
func (e *env) signatures(t *testing.T, msg []byte) []string {
	t.Helper()
	vs, err := msgdkim.VerifyWithOptions(bytes.NewReader(msg), &msgdkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) { return e.res.LookupTXT(context.Background(), name) },
	})
	if err != nil {
		t.Fatal(err)
	}
	var doms []string
	for _, v := range vs {
		if v.Err == nil {
			doms = append(doms, v.Domain)
		}
	}
	return doms
}

// Only mail that an authenticated user submitted, or that the server wrote,
// is signed: a forwarded message's From is whatever its sender claimed.
func TestOnlyVouchedMailIsSigned(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	forged := storage.NewBody([]byte("From: CEO <ceo@example.test>\r\nTo: x@remote.test\r\nSubject: wire the money\r\n\r\nnow\r\n"))
	for _, it := range []struct {
		rcpt   string
		origin storage.Origin
		body   *storage.Body
	}{
		{"forwarded@remote.test", storage.OriginForwarded, forged},
		{"submitted@remote.test", storage.OriginSubmission, testMessage("submitted")},
		{"server@remote.test", storage.OriginServer, testMessage("server")},
		{"unknown@remote.test", storage.Origin(9), testMessage("unknown")},
		// The envelope sender's domain has a key too: still not signed.
		{"forwarded-local-sender@remote.test", storage.OriginForwarded, testMessage("fwd2")},
	} {
		if err := e.st.Enqueue(context.Background(), storage.QueueItem{From: "alice@example.test", Origin: it.origin, Body: it.body,
			NextAttempt: e.clock.Now(), Recipients: []storage.QueueRecipient{{Address: it.rcpt}}}); err != nil {
			t.Fatal(err)
		}
	}
	r.Kick()
	eventually(t, "five deliveries", func() bool { return queueLen(t, e.st) == 0 && len(mx.messages()) == 5 })
	want := map[string]bool{"submitted@remote.test": true, "server@remote.test": true}
	for _, m := range mx.messages() {
		doms := e.signatures(t, m.data)
		signed := bytes.Contains(m.data, []byte("DKIM-Signature:"))
		if want[m.rcpts[0]] {
			if len(doms) != 1 || doms[0] != "example.test" {
				t.Errorf("%s: verified signatures %v, want example.test", m.rcpts[0], doms)
			}
		} else if signed {
			t.Errorf("%s: signed, but its origin is not vouched for:\n%s", m.rcpts[0], m.data)
		}
	}
}

// A message with two From fields is not signed: receivers disagree on which
// one is the author (RFC 5322 §3.6 allows one).
func TestSeveralFromFieldsAreNotSigned(t *testing.T) {
	mx := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, remoteZones(net.MX{Host: "mx.remote.test.", Pref: 10}))
	r := New(e.options(mx.port))
	startRunner(t, r)
	for _, head := range []string{
		"From: alice@example.test\r\nFrom: ceo@other.test\r\n",
		// A line that is no header field does not hide the second one.
		"From: alice@example.test\r\nnot a field\r\nfrom : ceo@other.test\r\n",
	} {
		e.enqueue(t, "alice@example.test", storage.NewBody([]byte(head+"Subject: two\r\n\r\nx\r\n")), "bob@remote.test")
	}
	r.Kick()
	eventually(t, "delivery", func() bool { return queueLen(t, e.st) == 0 && len(mx.messages()) == 2 })
	for _, m := range mx.messages() {
		if bytes.Contains(m.data, []byte("DKIM-Signature:")) {
			t.Errorf("signed despite two From fields:\n%s", m.data)
		}
	}
}

// FuzzFromFields checks that the count of From fields that decides signing
// never falls below what a strict parse of the header finds.
func FuzzFromFields(f *testing.F) {
	for _, s := range []string{
		"From: a@x\r\nFrom: b@y\r\n\r\n",
		"From: a@x\r\nno field\r\nFROM : b@y\r\n\r\n",
		"Subject: s\r\n\r\nFrom: body@x\r\n",
		"From:\r\n\tfolded@x\r\n",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		n := fromFields(msg)
		strict := 0
		if m, err := mail.ReadMessage(bytes.NewReader(headerOf(msg, 0))); err == nil {
			strict = len(m.Header["From"])
		}
		if n < strict {
			t.Fatalf("fromFields = %d, a strict parse finds %d in %q", n, strict, msg)
		}
	})
}
