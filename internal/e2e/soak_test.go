package e2e

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"postern/internal/testserver"
)

// The soak test runs SMTP, IMAP and POP3 clients at once against one server
// for a fixed number of operations, each worker with its own fixed seed. Every
// message carries a unique X-Token header, so that whatever a client sees can
// be traced to the delivery or APPEND that made it.
const (
	soakSenders      = 2  // SMTP MX clients
	soakMessages     = 50 // messages per sender
	soakIMAPPerAcct  = 3  // IMAP clients per account
	soakIMAPOps      = 90 // operations per IMAP client
	soakPOP3Sessions = 14 // login attempts of each account's POP3 client
	soakOther        = "Soak"
)

// TestSoakCrossProtocol runs SMTP delivery, IMAP sessions and POP3 sessions
// on two accounts at once, checks what every client is told as it goes, and
// at the end checks that the store, a fresh IMAP session, a fresh POP3
// session and the sessions still open agree.
func TestSoakCrossProtocol(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	r := &soakRun{t: t, ts: ts, nos: map[string]int{}, seen: map[string]int{}}
	ctx := context.Background()
	var accts []*soakAccount
	for _, name := range []string{"ann", "bob"} {
		a := &soakAccount{addr: name + "@example.test", pass: name + "-pw",
			validity: map[string]uint32{}, seen: map[soakKey]soakSeen{},
			delivered: map[string]bool{}, mayDelete: map[string]bool{}, copied: map[string]bool{}}
		a.id = ts.AddUser(t, a.addr, a.pass).ID
		if _, err := ts.Store.CreateMailbox(ctx, a.id, soakOther, ""); err != nil {
			t.Fatal(err)
		}
		accts = append(accts, a)
	}

	var wg sync.WaitGroup
	var clients []*soakIMAP
	for w := range soakSenders {
		wg.Go(func() { soakSMTP(r, w, accts) })
	}
	for ai, a := range accts {
		for k := range soakIMAPPerAcct {
			s := newSoakIMAP(r, a, ai*soakIMAPPerAcct+k)
			if s == nil {
				continue
			}
			clients = append(clients, s)
			wg.Go(s.run)
		}
		wg.Go(func() { soakPOP3(r, a, ai) })
	}
	wg.Wait()

	for _, a := range accts {
		var mine []*soakIMAP
		for _, s := range clients {
			if s.a == a {
				mine = append(mine, s)
			}
		}
		r.finalCheck(a, mine)
	}
	for _, s := range clients {
		s.c.Close()
	}
	r.report()
}

// report lists the NO answers the workers got, so a reader of -v output can
// judge whether each was a legitimate race.
func (r *soakRun) report() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.t.Logf("POP3 [IN-USE] answers: %d", r.inUse.Load())
	for _, m := range []map[string]int{r.seen, r.nos} {
		texts := make([]string, 0, len(m))
		for text := range m {
			texts = append(texts, text)
		}
		sort.Strings(texts)
		for _, text := range texts {
			r.t.Logf("%5d × %s", m[text], text)
		}
	}
}

// storeState lists each mailbox's UIDs and flags as the store has them.
func (r *soakRun) storeState(a *soakAccount) (uids map[string][]imap.UID, flags map[string][]string) {
	ctx := context.Background()
	uids, flags = map[string][]imap.UID{}, map[string][]string{}
	for _, name := range []string{"INBOX", soakOther} {
		mb, err := r.ts.Store.Mailbox(ctx, a.id, name)
		if err != nil {
			r.t.Fatal(err)
		}
		a.sawValidity(r.t, "store", name, mb.UIDValidity)
		states, err := r.ts.Store.MessageUIDs(ctx, mb.ID)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, m := range states {
			uids[name] = append(uids[name], imap.UID(m.UID))
			flags[name] = append(flags[name], strings.Join(m.Flags.Names(), " "))
		}
	}
	return uids, flags
}

// finalCheck runs after every worker has stopped: the store is the truth,
// and everything a client can be told must agree with it.
func (r *soakRun) finalCheck(a *soakAccount, live []*soakIMAP) {
	t := r.t
	// A POP3 session that was dropped may still be committing \Seen for
	// what it retrieved; wait until the store stands still.
	want, flags := r.storeState(a)
	for range 50 {
		time.Sleep(50 * time.Millisecond)
		w2, f2 := r.storeState(a)
		if reflect.DeepEqual(w2, want) && reflect.DeepEqual(f2, flags) {
			break
		}
		want, flags = w2, f2
	}

	// The sessions still open must, after a NOOP, see exactly the store's
	// messages (RFC 3501 §7.3.1, §7.4.1: EXISTS and EXPUNGE keep them in step).
	for _, s := range live {
		if s.dead || s.mailbox == "" {
			continue
		}
		s.noop()
		s.fetchAll()
		s.mu.Lock()
		if got := s.uids; !slices.Equal(got, want[s.mailbox]) {
			t.Errorf("%s: open session on %s sees UIDs %v, the store has %v", s.who, s.mailbox, got, want[s.mailbox])
		}
		s.mu.Unlock()
	}

	// A fresh IMAP session.
	fresh := newSoakIMAP(r, a, 99)
	if fresh == nil {
		return
	}
	defer fresh.c.Close()
	count := map[string]int{}
	for _, name := range []string{"INBOX", soakOther} {
		fresh.selectBox(name, true)
		msgs := fresh.fetchAll()
		if len(msgs) != len(want[name]) {
			t.Errorf("%s: fresh FETCH 1:* of %s returned %d messages, the store has %d", a.addr, name, len(msgs), len(want[name]))
			continue
		}
		for i, m := range msgs {
			tok := soakToken(m)
			count[tok]++
			var fl []string
			for _, f := range m.Flags {
				if !strings.EqualFold(string(f), `\Recent`) {
					fl = append(fl, string(f))
				}
			}
			if m.UID != want[name][i] || strings.Join(fl, " ") != flags[name][i] {
				t.Errorf("%s: %s message %d: IMAP says UID %d flags %v, the store UID %d flags %q",
					a.addr, name, i+1, m.UID, fl, want[name][i], flags[name][i])
			}
		}
	}

	// A fresh POP3 session lists INBOX, \Deleted or not, under UIDLs made of
	// UIDVALIDITY and UID (DESIGN.md).
	var wantUIDL []string
	for _, uid := range want["INBOX"] {
		wantUIDL = append(wantUIDL, fmt.Sprintf("%08x%08x", a.validity["INBOX"], uint32(uid)))
	}
	if got, ok := soakPOP3Final(r, a); ok && !slices.Equal(got, wantUIDL) {
		t.Errorf("%s: POP3 UIDL lists %v, the store's INBOX %v", a.addr, got, wantUIDL)
	}

	// Tokens: none lost unless the test deleted it, none made twice unless
	// the test copied it, none from nowhere.
	a.mu.Lock()
	defer a.mu.Unlock()
	for tok := range a.delivered {
		if count[tok] == 0 && !a.mayDelete[tok] {
			t.Errorf("%s: %s was acknowledged and never deleted, but is in no mailbox", a.addr, tok)
		}
	}
	for tok, n := range count {
		switch {
		case !a.delivered[tok]:
			t.Errorf("%s: a message with token %q that no one delivered", a.addr, tok)
		case n > 1 && !a.copied[tok]:
			t.Errorf("%s: %s is in %d messages but was never copied", a.addr, tok, n)
		}
	}
	t.Logf("%s: INBOX %d, %s %d messages; %d tokens delivered, %d flagged for deletion, %d copied",
		a.addr, len(want["INBOX"]), soakOther, len(want[soakOther]), len(a.delivered), len(a.mayDelete), len(a.copied))
}
