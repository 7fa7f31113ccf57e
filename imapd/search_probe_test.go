package imapd

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"postern/imapd/internal/wire"
)

// Messages with header blocks of megabytes: SEARCH HEADER used to load
// every header block of the mailbox before looking at the first, and FETCH
// loaded those of 500 messages at once. Both now hold about one at a time.
func TestBigHeadersBounded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxMessageBytes = 16 << 20 })
	const n, size = 8, 6 << 20 // 48 MiB of header blocks
	var want []string
	for i := 1; i <= n; i++ {
		fields := ""
		if i%3 == 0 {
			fields = "X-Needle: found " + strconv.Itoa(i) + "\r\n"
			want = append(want, strconv.Itoa(i))
		}
		e.deliver(t, "INBOX", bigHeaderMsg(fields, size))
	}
	other := e.raw(t, true)
	other.send("s SELECT INBOX\r\n")
	other.expect("s OK")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")

	for _, c := range []struct{ name, cmd, want string }{
		{"SEARCH HEADER", "SEARCH HEADER X-Needle found", "* SEARCH " + strings.Join(want, " ")},
		{"SEARCH HEADER and BODY", "SEARCH HEADER X-Needle FOUND BODY small", "* SEARCH " + strings.Join(want, " ")},
		{"SEARCH OR HEADER", "SEARCH OR HEADER X-Filler nothing-like-this HEADER X-Needle 6", "* SEARCH 6"},
		{"FETCH HEADER.FIELDS", "FETCH 1:* (BODY.PEEK[HEADER.FIELDS (X-Needle)])", ""},
	} {
		var lines []string
		g := measure(t, func() {
			r.send("a " + c.cmd + "\r\n")
			lines = r.expect("a OK")
			e.stillServes(t, other)
		})
		// One message at a time costs a few times its size (copies, the
		// collector's headroom); all of them cost 48 MiB and more.
		checkGrowth(t, c.name+" over "+strconv.Itoa(n)+" header blocks of 6 MiB", g, 48*mib)
		if c.want != "" && !slices.Contains(lines, c.want) {
			t.Errorf("%s: %q, want %q", c.name, lines, c.want)
		}
		if c.want == "" && strings.Count(strings.Join(lines, "\n"), "X-Needle: found") != len(want) {
			t.Errorf("%s: %q", c.name, lines)
		}
	}
}

// A wide OR tree of BODY keys: each message is decoded once per SEARCH and
// its text scanned once for all keys, so the work per message does not
// grow with the number of keys. Allocations measure that work
// deterministically: the per-key, per-message work allocated before.
func TestSearchWideOrTree(t *testing.T) {
	e := newEnv(t, nil)
	const msgs = 400
	for i := 0; i < msgs; i++ {
		e.deliver(t, "INBOX", testMessage("m"+strconv.Itoa(i), "bob@example.test",
			fmt.Sprintf("some text with word%04d in it and more text", i)))
	}
	other := e.raw(t, true)
	other.send("s SELECT INBOX\r\n")
	other.expect("s OK")
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")

	// A balanced OR tree of keys Word0000, Word0002, ...: even messages match.
	var keys []string
	for i := 0; len(keys) < wire.MaxSearchKeys/2; i += 2 {
		keys = append(keys, fmt.Sprintf("BODY Word%04d", i))
	}
	for len(keys) > 1 {
		var next []string
		for i := 0; i+1 < len(keys); i += 2 {
			next = append(next, "OR ("+keys[i]+") ("+keys[i+1]+")")
		}
		if len(keys)%2 == 1 {
			next = append(next, keys[len(keys)-1])
		}
		keys = next
	}
	var want []string
	for i := 0; i < msgs; i += 2 {
		want = append(want, strconv.Itoa(i+1))
	}
	var lines []string
	before := mallocs()
	g := measure(t, func() {
		r.send("a SEARCH " + keys[0] + "\r\n")
		lines = r.expect("a OK")
	})
	work := mallocs() - before
	checkGrowth(t, "wide OR tree", g, 24*mib)
	if !slices.Contains(lines, "* SEARCH "+strings.Join(want, " ")) {
		t.Fatalf("wide OR: %q", lines)
	}
	t.Logf("wide OR tree of %d keys over %d messages: %d allocations", wire.MaxSearchKeys/2, msgs, work)
	// About 40 per message and key compiled (before: 330 per message).
	if work > 100*msgs {
		t.Errorf("wide OR tree: %d allocations: the work per message grows with the number of keys", work)
	}
	e.stillServes(t, other)
}

// Sets of thousands of ranges are looked up, not scanned, for each
// message; "*" and reversed ranges keep their meaning.
func TestSearchManyRanges(t *testing.T) {
	e := newEnv(t, nil)
	const msgs = 300
	for i := 0; i < msgs; i++ {
		e.deliver(t, "INBOX", testMessage("m"+strconv.Itoa(i), "bob@example.test", "x"))
	}
	r := e.raw(t, true)
	r.send("s SELECT INBOX\r\n")
	r.expect("s OK")
	var set []string
	for u := 1; u <= msgs; u += 3 {
		set = append(set, strconv.Itoa(u))
	}
	// Ranges past the end, overlapping and reversed, many times over.
	for i := 0; i < 3000; i++ {
		set = append(set, strconv.Itoa(5000+2*i))
	}
	set = append(set, "*:296", "290:292", "291")
	in := map[int]bool{}
	for u := 1; u <= msgs; u += 3 {
		in[u] = true
	}
	for u := 290; u <= 300; u++ {
		if u <= 292 || u >= 296 {
			in[u] = true
		}
	}
	var want, wantNot []string
	for u := 1; u <= msgs; u++ {
		if in[u] {
			want = append(want, strconv.Itoa(u))
		} else {
			wantNot = append(wantNot, strconv.Itoa(u))
		}
	}
	joined := strings.Join(set, ",")
	for _, c := range []struct{ cmd, want string }{
		{"UID SEARCH UID " + joined, "* SEARCH " + strings.Join(want, " ")},
		{"SEARCH " + joined, "* SEARCH " + strings.Join(want, " ")},
		{"UID SEARCH NOT UID " + joined, "* SEARCH " + strings.Join(wantNot, " ")},
		{"SEARCH 299:*,1", "* SEARCH 1 299 300"},
		{"SEARCH 299:* 1", "* SEARCH"},
	} {
		r.send("a " + c.cmd + "\r\n")
		if l := r.expect("a OK"); !slices.Contains(l, c.want) {
			t.Errorf("%.40s...: %.200q, want %.200q", c.cmd, l, c.want)
		}
	}
}
