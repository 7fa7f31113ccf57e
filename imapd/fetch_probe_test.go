package imapd

import (
	"strings"
	"testing"

	"postern/imapd/internal/wire"
)

// Part sections of one message in one FETCH: the message is parsed once,
// and every section is cut from that one tree. Each section used to parse
// the whole message again (each of 32 levels scanning its body for
// boundaries); allocations count the parses deterministically.
func TestFetchNestedSectionsParseOnce(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", nestedMsg(32, 2<<20))
	other := e.raw(t, true)
	other.send("s SELECT INBOX\r\n")
	other.expect("s OK")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")

	deep := strings.TrimSuffix(strings.Repeat("1.", 32), ".")
	secs := strings.TrimSpace(strings.Repeat("BODY.PEEK["+deep+"]<0.8> ", wire.MaxFetchSections))
	var lines []string
	before := mallocs()
	g := measure(t, func() {
		r.send("a FETCH 1 (" + secs + ")\r\n")
		lines = r.expect("a OK")
	})
	work := mallocs() - before
	checkGrowth(t, "100 nested sections of a 2 MiB message", g, 24*mib)
	if n := strings.Count(strings.Join(lines, "\n"), "DEEPTEXT"); n != wire.MaxFetchSections {
		t.Fatalf("%d sections with the deep text, want %d: %.300q", n, wire.MaxFetchSections, lines)
	}
	t.Logf("%d nested sections: %d allocations", wire.MaxFetchSections, work)
	// About 5,000 (before: 31,000, one parse per section).
	if work > 12_000 {
		t.Errorf("%d nested sections took %d allocations: the message is parsed once per section", wire.MaxFetchSections, work)
	}
	e.stillServes(t, other)
}
