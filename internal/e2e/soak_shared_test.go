package e2e

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-smtp"

	"postern/internal/testserver"
)

// soakSeen is what the clients learned of one message: its token and size.
type soakSeen struct {
	tok  string
	size int64
}

type soakKey struct {
	mailbox string
	uid     uint32
}

// soakAccount is what the workers of one account share.
type soakAccount struct {
	addr, pass string
	id         int64

	mu        sync.Mutex
	validity  map[string]uint32    // UIDVALIDITY by mailbox name
	seen      map[soakKey]soakSeen // every (mailbox, UID) ever reported
	delivered map[string]bool      // tokens with a 250 after DATA or an APPEND OK
	mayDelete map[string]bool      // tokens flagged \Deleted or DELEd by the test
	copied    map[string]bool      // tokens the test COPYed (may exist twice)
}

// soakRun is the shared state of one soak test.
type soakRun struct {
	t  *testing.T
	ts *testserver.Server

	mu    sync.Mutex
	nos   map[string]int // NO and -ERR texts for legitimate races
	seen  map[string]int // how often each kind of event was checked
	inUse atomic.Int64   // POP3 -ERR [IN-USE] answers
}

func (r *soakRun) no(text string) { r.tally(r.nos, text) }

func (r *soakRun) tally(m map[string]int, key string) {
	r.mu.Lock()
	m[key]++
	r.mu.Unlock()
}

// imapErr sorts a command's error: a NO is a race the test may lose and is
// only recorded; BAD, NO [SERVERBUG] and a lost connection fail the test. It
// reports whether the connection is still usable.
func (r *soakRun) imapErr(who, cmd string, err error) bool {
	if err == nil {
		return true
	}
	var e *imap.Error
	if !errors.As(err, &e) {
		r.t.Errorf("%s: %s: connection lost: %v", who, cmd, err)
		return false
	}
	if e.Type == imap.StatusResponseTypeNo && e.Code != imap.ResponseCodeServerBug {
		r.no(fmt.Sprintf("IMAP %s: NO [%s] %s", cmd, e.Code, e.Text))
		return true
	}
	r.t.Errorf("%s: %s: %v", who, cmd, err)
	return true
}

func (a *soakAccount) mark(set map[string]bool, toks ...string) {
	a.mu.Lock()
	for _, tok := range toks {
		set[tok] = true
	}
	a.mu.Unlock()
}

func (a *soakAccount) sawValidity(t *testing.T, who, mailbox string, v uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if old, ok := a.validity[mailbox]; ok && old != v {
		t.Errorf("%s: %s: UIDVALIDITY %d, was %d (RFC 3501 §2.3.1.1)", who, mailbox, v, old)
	}
	a.validity[mailbox] = v
}

// sawMessage records that UID uid of mailbox holds token tok and has size
// octets (0: unknown). A UID names one message for as long as UIDVALIDITY
// stays, so a different token or size under the same UID is a bug.
func (a *soakAccount) sawMessage(t *testing.T, who, mailbox string, uid uint32, tok string, size int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	k := soakKey{mailbox, uid}
	old, ok := a.seen[k]
	switch {
	case !ok:
		a.seen[k] = soakSeen{tok, size}
	case old.tok != tok:
		t.Errorf("%s: %s UID %d holds %q, earlier %q: a UID was reused or mixed up", who, mailbox, uid, tok, old.tok)
	case size != 0 && old.size != 0 && old.size != size:
		t.Errorf("%s: %s UID %d (%s) is %d octets, earlier %d", who, mailbox, uid, tok, size, old.size)
	case old.size == 0:
		a.seen[k] = soakSeen{tok, size}
	}
}

func (a *soakAccount) lookup(mailbox string, uid uint32) soakSeen {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.seen[soakKey{mailbox, uid}]
}

// soakMessage builds a small message; some lines start with a dot, so that
// SMTP and POP3 dot-stuffing are exercised.
func soakMessage(tok string, rng *rand.Rand) string {
	var b strings.Builder
	fmt.Fprintf(&b, "From: <sender@remote.test>\r\nTo: <someone@example.test>\r\nSubject: soak %s\r\n", tok)
	fmt.Fprintf(&b, "Message-ID: <%s@remote.test>\r\nX-Token: %s\r\n\r\n", tok, tok)
	for i := range 1 + rng.IntN(12) {
		if rng.IntN(4) == 0 {
			b.WriteString(".")
		}
		fmt.Fprintf(&b, "line %d of %s %s\r\n", i, tok, strings.Repeat("x", rng.IntN(70)))
	}
	return b.String()
}

// soakSMTP delivers soakMessages messages over one MX connection, each to one
// or both accounts.
func soakSMTP(r *soakRun, w int, accts []*soakAccount) {
	rng := rand.New(rand.NewPCG(1, uint64(w)))
	c, err := smtp.Dial(r.ts.SMTPAddr)
	if err != nil {
		r.t.Errorf("smtp%d: %v", w, err)
		return
	}
	defer c.Close()
	for i := range soakMessages {
		tok := fmt.Sprintf("tok-s%02d-%04d", w, i)
		to := accts
		if k := rng.IntN(3); k < len(accts) {
			to = accts[k : k+1]
		}
		var rcpts []string
		for _, a := range to {
			rcpts = append(rcpts, a.addr)
		}
		if err := c.SendMail("sender@remote.test", rcpts, strings.NewReader(soakMessage(tok, rng))); err != nil {
			r.t.Errorf("smtp%d: message %s: %v", w, tok, err)
			return
		}
		for _, a := range to {
			a.mark(a.delivered, tok)
		}
	}
	if err := c.Quit(); err != nil {
		r.t.Errorf("smtp%d: QUIT: %v", w, err)
	}
}
