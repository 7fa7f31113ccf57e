package outbound

import (
	"context"
	"net"
	"strings"
	"testing"

	"postern/storage"
)

func relayEnv(t *testing.T) (*env, *fakeMX, Options) {
	t.Helper()
	tlsCfg, pool := selfSigned(t, "relay.test")
	relay := startMX(t, "127.0.0.1", 0, tlsCfg)
	relay.users = map[string]string{"postern": "s3cret"}
	// remote.test has no DNS at all: the relay must be used, not the MX.
	e := newEnv(t, nil)
	o := e.options(1)
	o.Relay = relay.addr
	o.RelayUsername, o.RelayPassword = "postern", "s3cret"
	o.RelayRootCAs = pool
	return e, relay, o
}

func TestRelayAuthenticates(t *testing.T) {
	for _, mode := range []string{RelayStartTLS, RelayTLS} {
		t.Run(mode, func(t *testing.T) {
			e, relay, o := relayEnv(t)
			if mode == RelayTLS {
				// Implicit TLS: the same fake server behind a TLS listener.
				tlsCfg, pool := selfSigned(t, "relay.test")
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				go relay.srv.Serve(tlsListener(ln, tlsCfg))
				o.Relay, o.RelayRootCAs, o.RelayTLS = ln.Addr().String(), pool, RelayTLS
			}
			r := New(o)
			startRunner(t, r)
			e.enqueue(t, "alice@example.test", testMessage("relayed"), "bob@remote.test", "carol@elsewhere.test")
			r.Kick()
			eventually(t, "relay delivery", func() bool { return queueLen(t, e.st) == 0 })
			msgs := relay.messages()
			if len(msgs) != 2 {
				t.Fatalf("relay got %d messages, want one per domain entry (2)", len(msgs))
			}
			for _, m := range msgs {
				if m.user != "postern" || !m.tls || m.from != "alice@example.test" {
					t.Errorf("relay session: user %q tls %v from %q", m.user, m.tls, m.from)
				}
			}
		})
	}
}

func TestRelayRefusesUnverifiedTLS(t *testing.T) {
	e, relay, o := relayEnv(t)
	o.RelayRootCAs = nil // the system roots do not know the relay's certificate
	r := New(o)
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("unverified"), "bob@remote.test")
	r.Kick()
	var l []storage.QueueEntry
	eventually(t, "failed attempt", func() bool {
		l, _ = e.st.QueueList(context.Background())
		return len(l) == 1 && l[0].LastError != ""
	})
	if !strings.Contains(l[0].LastError, "certificate") {
		t.Errorf("last error %q does not name the certificate problem", l[0].LastError)
	}
	relay.mu.Lock()
	auths := relay.auths
	relay.mu.Unlock()
	if auths != 0 || len(relay.messages()) != 0 {
		t.Errorf("sent over an unverified connection: %d AUTH, %d messages", auths, len(relay.messages()))
	}
	if n := len(inboxMessages(t, e.st, e.alice.ID)); n != 0 {
		t.Error("a temporary relay failure bounced")
	}
}

func TestRelayNeverSendsCredentialsInClear(t *testing.T) {
	e, relay, o := relayEnv(t)
	relay.srv.AllowInsecureAuth = true
	o.RelayTLS = RelayNone
	r := New(o)
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("clear"), "bob@remote.test")
	r.Kick()
	eventually(t, "failed attempt", func() bool {
		l, _ := e.st.QueueList(context.Background())
		return len(l) == 1 && strings.Contains(l[0].LastError, "without TLS")
	})
	relay.mu.Lock()
	defer relay.mu.Unlock()
	if relay.auths != 0 {
		t.Error("credentials were sent without TLS")
	}
}

func TestRelayStartTLSRequired(t *testing.T) {
	plain := startMX(t, "127.0.0.1", 0, nil)
	e := newEnv(t, nil)
	o := e.options(1)
	o.Relay = plain.addr
	r := New(o)
	startRunner(t, r)
	e.enqueue(t, "alice@example.test", testMessage("needtls"), "bob@remote.test")
	r.Kick()
	eventually(t, "failed attempt", func() bool {
		l, _ := e.st.QueueList(context.Background())
		return len(l) == 1 && strings.Contains(l[0].LastError, "STARTTLS")
	})
	if len(plain.messages()) != 0 {
		t.Error("sent to a relay without TLS while relay_tls = starttls")
	}
}
