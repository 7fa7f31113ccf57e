package e2e

import (
	"bytes"
	"context"
	"net"
	"testing"

	"github.com/emersion/go-msgauth/dkim"
	"github.com/foxcpp/go-mockdns"

	pdkim "postern/dkim"
	"postern/internal/testserver"
)

// Mail forwarded by an alias is the unverified sender's own: what an attacker
// sends to the MX must not come out signed by us.

// forgery claims to come from the served domain; its body is what the forger
// wants delivered somewhere.
const forgery = "From: CEO <ceo@example.test>\r\nTo: fwd@example.test\r\nSubject: Wire the money today\r\n" +
	"Message-ID: <forged-1@example.test>\r\n\r\nBUY NOW: the forger's content.\r\n"

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
