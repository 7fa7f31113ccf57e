package outbound

import (
	"net"
	"strings"
	"testing"
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
