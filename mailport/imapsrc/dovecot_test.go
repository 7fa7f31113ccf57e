package imapsrc

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testkit/dovecot"
	"postern/mailport"
)

type seed struct {
	mailbox string // Dovecot's name
	flags   []imap.Flag
	body    string
}

var base = time.Date(2018, 5, 6, 7, 8, 9, 0, time.UTC)

// startDovecot starts Dovecot with special-use mailboxes and fills it.
func startDovecot(t *testing.T, seeds []seed) *dovecot.Server {
	srv := dovecot.Start(t, dovecot.Options{Mailboxes: []string{
		`mailbox "Sent Items" {` + "\n    special_use = \\Sent\n  }",
		`mailbox Spam {` + "\n    special_use = \\Junk\n  }",
		`mailbox "All Mail" {` + "\n    special_use = \\All\n  }",
	}})
	c := srv.Dial(t)
	made := map[string]bool{"INBOX": true}
	for i, s := range seeds {
		if !made[s.mailbox] {
			if err := c.Create(s.mailbox, nil).Wait(); err != nil {
				t.Fatalf("CREATE %s: %v", s.mailbox, err)
			}
			made[s.mailbox] = true
		}
		dovecot.Append(t, c, s.mailbox, s.flags, base.Add(time.Duration(i)*time.Minute), s.body)
	}
	c.Logout().Wait()
	return srv
}

func standardSeeds() []seed {
	big := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("b", 998)+"\r\n", 3000)
	return []seed{
		{"INBOX", []imap.Flag{imap.FlagSeen, "$Forwarded", "work"}, "Subject: 1\r\n\r\nFrom here on\r\n"},
		{"INBOX", nil, "Subject: 2\r\n\r\ntwo\r\n"},
		{"INBOX", []imap.Flag{imap.FlagAnswered, imap.FlagDeleted}, big},
		{"Sent Items", []imap.Flag{imap.FlagSeen}, "Subject: sent\r\n\r\nsent\r\n"},
		{"Spam", nil, "Subject: spam\r\n\r\nspam\r\n"},
		{"All Mail", nil, "Subject: only in a view\r\n\r\nx\r\n"},
		{"Work.2024", []imap.Flag{imap.FlagFlagged, "NonJunk"}, "Subject: work\r\n\r\nwork\r\n"},
		{"Entwürfe", []imap.Flag{imap.FlagDraft}, "Subject: draft\r\n\r\ndraft\r\n"},
	}
}

// wantLines describes what an import of seeds must give, one line a message.
func wantLines(seeds []seed) []string {
	var out []string
	for i, s := range seeds {
		mb := map[string]string{"Sent Items": "Sent", "Spam": "Junk", "Work.2024": "Work/2024"}[s.mailbox]
		if mb == "" {
			mb = s.mailbox
		}
		if s.mailbox == "All Mail" {
			continue // a view: left out
		}
		var fl []string
		for _, f := range s.flags {
			fl = append(fl, string(f))
		}
		out = append(out, line(mb, mailport.NormalizeFlags(fl), base.Add(time.Duration(i)*time.Minute), s.body))
	}
	slices.Sort(out)
	return out
}

func line(mb string, flags []string, date time.Time, body string) string {
	if len(body) > 60 {
		body = fmt.Sprintf("%s...(%d octets)", body[:20], len(body))
	}
	return fmt.Sprintf("%s %q %s %q", mb, flags, date.UTC().Format(time.RFC3339), body)
}

func open(t *testing.T, srv *dovecot.Server, url string, opts Options) *Source {
	t.Helper()
	r, err := ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.Password = srv.Password
	opts.TLSConfig = srv.TLSConfig
	if opts.Sleep == nil {
		opts.Sleep = func(ctx context.Context, d time.Duration) error { return ctx.Err() }
	}
	s, err := Open(context.Background(), r, &opts)
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Logs())
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// drain reads up to limit messages (0: all); a message whose body fails to
// read is not counted, as an importer would not store it.
func drain(t *testing.T, s *Source, limit int) (lines, keys []string, probs []string) {
	t.Helper()
	for limit == 0 || len(lines) < limit {
		m, err := s.Next(context.Background())
		if err == io.EOF {
			break
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			probs = append(probs, err.Error())
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(m.Body)
		if err != nil {
			continue
		}
		if int64(len(b)) != m.Size {
			t.Fatalf("%s: %d octets, Size %d", m.Key, len(b), m.Size)
		}
		lines = append(lines, line(m.Mailboxes[0], m.Flags, m.InternalDate, string(b)))
		keys = append(keys, m.Key)
	}
	return lines, keys, probs
}

func TestImportFromDovecot(t *testing.T) {
	seeds := standardSeeds()
	srv := startDovecot(t, seeds)
	for _, url := range []string{"imaps://" + srv.User + "@" + srv.IMAPSAddr, "imap://" + srv.User + "@" + srv.IMAPAddr} {
		s := open(t, srv, url, Options{BatchSize: 2})
		boxes, _ := s.Mailboxes(context.Background())
		if want := []string{"INBOX", "Entwürfe", "Sent", "Junk", "Work/2024"}; !slices.Equal(boxes, want) {
			t.Fatalf("mailboxes %q, want %q", boxes, want)
		}
		n, size, err := s.Estimate(context.Background())
		if err != nil || n != 7 || size == 0 { // All Mail is left out
			t.Fatalf("estimate %d %d %v", n, size, err)
		}
		got, keys, probs := drain(t, s, 0)
		slices.Sort(got)
		if want := wantLines(seeds); !slices.Equal(got, want) {
			t.Fatalf("%s: imported\n%s\nwant\n%s", url, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if len(probs) != 0 {
			t.Fatalf("problems %q", probs)
		}
		if !strings.HasPrefix(keys[0], "imap://alice@127.0.0.1/INBOX;UIDVALIDITY=") || !strings.HasSuffix(keys[0], "/;UID=1") {
			t.Fatalf("key %q", keys[0])
		}
		st := s.State()
		if st.Mailboxes["INBOX"].LastUID != 3 || st.Mailboxes["Sent Items"].LastUID != 1 || st.Mailboxes["INBOX"].UIDValidity == 0 {
			t.Fatalf("state %+v", st)
		}
	}
}

// TestResume stops an import halfway, saves its state as JSON, and goes on
// with a new Source: every message arrives once. Mail that arrives later is
// fetched by the next run, and a run with nothing new fetches nothing.
func TestResume(t *testing.T) {
	seeds := standardSeeds()
	srv := startDovecot(t, seeds)
	url := "imaps://" + srv.User + "@" + srv.IMAPSAddr
	s := open(t, srv, url, Options{BatchSize: 2})
	first, keys1, _ := drain(t, s, 4)
	saved, err := json.Marshal(s.State())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	var st State
	if err := json.Unmarshal(saved, &st); err != nil {
		t.Fatal(err)
	}
	s = open(t, srv, url, Options{State: &st, BatchSize: 3})
	rest, keys2, _ := drain(t, s, 0)
	all := append(first, rest...)
	slices.Sort(all)
	if want := wantLines(seeds); !slices.Equal(all, want) {
		t.Fatalf("two runs gave\n%s\nwant\n%s", strings.Join(all, "\n"), strings.Join(want, "\n"))
	}
	for _, k := range keys1 {
		if slices.Contains(keys2, k) {
			t.Fatalf("%s imported twice", k)
		}
	}
	c := srv.Dial(t)
	dovecot.Append(t, c, "INBOX", []imap.Flag{"late"}, base, "Subject: late\r\n\r\nlate\r\n")
	s = open(t, srv, url, Options{State: s.State()})
	later, _, _ := drain(t, s, 0)
	if len(later) != 1 || !strings.Contains(later[0], "late") {
		t.Fatalf("third run: %q", later)
	}
	s = open(t, srv, url, Options{State: s.State()})
	if none, _, _ := drain(t, s, 0); len(none) != 0 {
		t.Fatalf("fourth run: %q", none)
	}
}

// TestSkip leaves out, unread, the messages whose keys the caller has.
func TestSkip(t *testing.T) {
	seeds := standardSeeds()
	srv := startDovecot(t, seeds)
	url := "imaps://" + srv.User + "@" + srv.IMAPSAddr
	_, keys, _ := drain(t, open(t, srv, url, Options{}), 0)
	have := map[string]bool{}
	for _, k := range keys[:5] {
		have[k] = true
	}
	_, again, _ := drain(t, open(t, srv, url, Options{Skip: func(k string) bool { return have[k] }}), 0)
	if !slices.Equal(again, keys[5:]) {
		t.Fatalf("second run %q, want %q", again, keys[5:])
	}
}

// cutProxy forwards TCP to a server and cuts each of the first connections
// after a number of octets from the server.
type cutProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cuts   []int64 // octets allowed on connection n; past the list: no cut
	n      int
}

func newCutProxy(t *testing.T, target string, cuts ...int64) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target, cuts: cuts}
	t.Cleanup(func() { ln.Close() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		limit := int64(-1)
		if p.n < len(p.cuts) {
			limit = p.cuts[p.n]
		}
		p.n++
		p.mu.Unlock()
		go func() {
			defer c.Close()
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				return
			}
			defer s.Close()
			go func() { io.Copy(s, c); s.Close() }()
			if limit < 0 {
				io.Copy(c, s)
				return
			}
			io.CopyN(c, s, limit)
		}()
	}
}

func (p *cutProxy) conns() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n
}

// TestDroppedConnection cuts the connection in the middle of a large
// message, three times: the import reconnects, fetches that message again
// and ends with every message once, intact.
func TestDroppedConnection(t *testing.T) {
	seeds := standardSeeds()
	srv := startDovecot(t, seeds)
	proxy := newCutProxy(t, srv.IMAPSAddr, 1500000, 20000, 2500000)
	s := open(t, srv, "imaps://"+srv.User+"@"+proxy.ln.Addr().String(), Options{BatchSize: 2})
	got, keys, probs := drain(t, s, 0)
	slices.Sort(got)
	if want := wantLines(seeds); !slices.Equal(got, want) {
		t.Fatalf("imported through a cutting proxy\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(slices.Compact(slices.Sorted(slices.Values(keys)))) != len(keys) {
		t.Fatalf("a message came twice: %q", keys)
	}
	if len(probs) != 0 {
		t.Fatalf("problems %q", probs)
	}
	if n := proxy.conns(); n < 4 {
		t.Fatalf("%d connections: the cuts did not happen", n)
	}
}

// TestGivesUpMessage: every connection is cut in the middle of the large
// message; it is given up after Retries tries, with a Problem, and the rest
// is imported.
func TestGivesUpMessage(t *testing.T) {
	seeds := standardSeeds()
	srv := startDovecot(t, seeds)
	cuts := make([]int64, 100)
	for i := range cuts {
		cuts[i] = 40000 // enough to log in and read the small messages
	}
	proxy := newCutProxy(t, srv.IMAPSAddr, cuts...)
	s := open(t, srv, "imaps://"+srv.User+"@"+proxy.ln.Addr().String(), Options{Retries: 3})
	got, _, probs := drain(t, s, 0)
	slices.Sort(got)
	want := wantLines(slices.DeleteFunc(seeds, func(s seed) bool { return strings.HasPrefix(s.body, "Subject: big") }))
	if len(got) != len(want) || len(probs) != 1 || !strings.Contains(probs[0], "body failed 3 times") {
		t.Fatalf("got\n%s\nproblems %q", strings.Join(got, "\n"), probs)
	}
}

// TestGivesUpConnection: after the first connection, every one is cut
// during the TLS handshake; the import stops with a clear error.
func TestGivesUpConnection(t *testing.T) {
	srv := startDovecot(t, standardSeeds())
	cuts := []int64{40000}
	for range 100 {
		cuts = append(cuts, 100)
	}
	proxy := newCutProxy(t, srv.IMAPSAddr, cuts...)
	s := open(t, srv, "imaps://"+srv.User+"@"+proxy.ln.Addr().String(), Options{Retries: 3})
	var err error
	for err == nil {
		var m *mailport.Message
		m, err = s.Next(context.Background())
		if m != nil {
			io.Copy(io.Discard, m.Body)
		}
		var p *mailport.Problem
		if errors.As(err, &p) {
			err = nil
		}
	}
	if err == io.EOF || !strings.Contains(err.Error(), "failed 3 times in a row") {
		t.Fatalf("got %v", err)
	}
	if n := proxy.conns(); n != 4 {
		t.Fatalf("%d connections, want 1 and 3 tries", n)
	}
}

// TestCancel stops an import in the middle of a large body: Next reports
// the cancellation and Close returns.
func TestCancel(t *testing.T) {
	srv := startDovecot(t, standardSeeds())
	r, err := ParseURL("imaps://" + srv.User + "@" + srv.IMAPSAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s, err := Open(ctx, r, &Options{Password: srv.Password, TLSConfig: srv.TLSConfig})
	if err != nil {
		t.Fatal(err)
	}
	for {
		m, err := s.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if m.Size > 1<<20 {
			io.CopyN(io.Discard, m.Body, 1000)
			break
		}
	}
	cancel()
	if _, err := s.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next after cancel: %v", err)
	}
	s.Close()
}

// TestLargeMessageStreamed reads a 20 MB message from Dovecot and checks
// that reading it allocates a small, fixed amount: the body streams from
// the connection.
func TestLargeMessageStreamed(t *testing.T) {
	body := "Subject: huge\r\n\r\n" + strings.Repeat(strings.Repeat("h", 78)+"\r\n", 20<<20/80)
	srv := startDovecot(t, []seed{{"INBOX", nil, body}})
	s := open(t, srv, "imaps://"+srv.User+"@"+srv.IMAPSAddr, Options{})
	m, err := s.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	h := sha256.New()
	n, err := io.CopyBuffer(h, m.Body, make([]byte, 32<<10))
	runtime.ReadMemStats(&after)
	if err != nil || n != int64(len(body)) || n != m.Size {
		t.Fatalf("read %d of %d (Size %d): %v", n, len(body), m.Size, err)
	}
	if want := sha256.Sum256([]byte(body)); !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatal("the body read back different")
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Fatalf("reading a 20 MB body allocated %d MB", alloc>>20)
	}
}
