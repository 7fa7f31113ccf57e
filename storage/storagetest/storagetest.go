// Package storagetest is the conformance suite of storage backends: one
// table of tests of everything a front end relies on (UID and UIDVALIDITY
// rules, flags and MODSEQ, expunge, COPY and MOVE, mailbox hierarchy,
// \Recent, events, accounts, aliases, the outbound queue, the change log).
// Every backend runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storagetest.Run(t, storagetest.Harness{Open: ..., Peer: ...})
//	}
//
// The tests speak only through the storage interfaces: what they assert
// holds for every backend, and a backend's own tests check how it keeps
// its data.
package storagetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"postern/storage"
)

// Harness opens stores of the backend under test.
type Harness struct {
	// Open opens a new, empty store that follows the change log as a
	// server does (its sessions see what other nodes commit). It is
	// closed when the test ends.
	Open func(t *testing.T) storage.Backend
	// Peer opens another handle on the store st is open on, as another
	// process would (a CLI command, another node): with its own node id
	// and its own writer. It is closed when the test ends.
	Peer func(t *testing.T, st storage.Backend) storage.Backend
}

// A test of the suite.
type test struct {
	name string
	fn   func(t *testing.T, h Harness)
}

// Run runs every test of the suite, each on a store of its own.
func Run(t *testing.T, h Harness) {
	for _, group := range [][]test{accountTests, mailboxTests, messageTests, bodyTests, eventTests, queueTests, changeTests} {
		for _, tc := range group {
			t.Run(tc.name, func(t *testing.T) { tc.fn(t, h) })
		}
	}
}

// Password is the password of the accounts the tests create.
const Password = "secret"

func newAccount(t testing.TB, st storage.Backend, addr string) storage.Account {
	t.Helper()
	a, err := st.CreateAccount(context.Background(), addr, Password)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// msg is a small message with the given subject and text.
func msg(subject, text string) *storage.Body {
	return storage.NewBody([]byte("From: a@example.test\r\nTo: b@example.test\r\nSubject: " + subject + "\r\n\r\n" + text + "\r\n"))
}

func mailbox(t testing.TB, st storage.Backend, acct int64, name string) storage.Mailbox {
	t.Helper()
	m, err := st.Mailbox(context.Background(), acct, name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func appendMsgs(t testing.TB, st storage.Backend, acct int64, mbox string, n int) []storage.AppendResult {
	t.Helper()
	items := make([]storage.AppendItem, n)
	for i := range items {
		items[i] = storage.AppendItem{AccountID: acct, Mailbox: mbox, Body: msg(fmt.Sprint("message ", i), fmt.Sprint("text ", i, " of ", mbox))}
	}
	res, err := st.Append(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// bodyIDOf returns the body id of a message.
func bodyIDOf(t testing.TB, st storage.Backend, mailboxID int64, uid uint32) int64 {
	t.Helper()
	m, err := st.FetchMessages(context.Background(), mailboxID, []uint32{uid}, storage.FetchWant{})
	if err != nil || len(m) != 1 {
		t.Fatalf("message %d of mailbox %d: %v, %v", uid, mailboxID, m, err)
	}
	return m[0].BodyID
}

// deadline bounds every wait of the suite: generous, so that a loaded
// machine does not fail it, and never a margin the test relies on.
const deadline = 15 * time.Second

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("after %v: %s", deadline, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// drainUntil collects a subscription's events until have returns true
// for what was collected, or fails at the deadline.
func drainUntil(t testing.TB, sub *storage.Subscription, have func([]storage.Event) bool) []storage.Event {
	t.Helper()
	var got []storage.Event
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for !have(got) {
		select {
		case <-sub.Ready():
			got = append(got, sub.Drain()...)
		case <-timer.C:
			t.Fatalf("after %v, events %s", deadline, kinds(got))
		}
	}
	return got
}

func kinds(evs []storage.Event) string {
	s := "["
	for i, e := range evs {
		if i > 0 {
			s += " "
		}
		s += e.Kind.String()
	}
	return s + "]"
}

func ended(sub *storage.Subscription) bool {
	select {
	case <-sub.Ended():
		return true
	default:
		return false
	}
}
