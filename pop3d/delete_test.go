package pop3d

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"postern/storage"
	"postern/storage/sqlite"
)

func uidsOf(ms []storage.MessageState) []uint32 {
	var out []uint32
	for _, m := range ms {
		out = append(out, m.UID)
	}
	return out
}

func TestDeletePolicies(t *testing.T) {
	for _, policy := range []string{"", DeleteExpunge, DeleteFlag, DeleteTrash} {
		t.Run("policy="+policy, func(t *testing.T) {
			e := newEnv(t, func(c *Config) { c.DeletePolicy = policy })
			acct := e.addUser("user@example.test", "secret")
			var uids []uint32
			for i := 1; i <= 4; i++ {
				uids = append(uids, e.deliver(acct, testMessage(i)))
			}
			c := e.dial()
			c.login("user@example.test", "secret")
			c.do("DELE 1")
			c.do("DELE 3")
			if got := c.do("QUIT"); !strings.Contains(got, "2 messages deleted") {
				t.Errorf("QUIT = %q", got)
			}
			ms := e.inboxState(acct)
			trash, err := e.st.Mailbox(context.Background(), acct.ID, "Trash")
			if err != nil {
				t.Fatal(err)
			}
			inTrash, err := e.st.MessageUIDs(context.Background(), trash.ID)
			if err != nil {
				t.Fatal(err)
			}
			switch policy {
			case "", DeleteExpunge:
				if got := uidsOf(ms); !slices.Equal(got, []uint32{uids[1], uids[3]}) {
					t.Errorf("INBOX UIDs %v", got)
				}
				if len(inTrash) != 0 {
					t.Errorf("Trash has %d messages", len(inTrash))
				}
			case DeleteFlag:
				if len(ms) != 4 {
					t.Fatalf("INBOX has %d messages, want 4", len(ms))
				}
				for i, m := range ms {
					if got, want := m.Flags.Has(storage.FlagDeleted), i == 0 || i == 2; got != want {
						t.Errorf("message %d \\Deleted = %v", i+1, got)
					}
				}
			case DeleteTrash:
				if got := uidsOf(ms); !slices.Equal(got, []uint32{uids[1], uids[3]}) {
					t.Errorf("INBOX UIDs %v", got)
				}
				if len(inTrash) != 2 {
					t.Errorf("Trash has %d messages, want 2", len(inTrash))
				}
			}
			// The next session sees what the policy left in INBOX.
			c = e.dial()
			if got := c.login("user@example.test", "secret"); !strings.Contains(got, map[bool]string{true: "4 messages", false: "2 messages"}[policy == DeleteFlag]) {
				t.Errorf("next session: %q", got)
			}
		})
	}
}

func TestTrashPolicyWithoutTrashExpunges(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.DeletePolicy = DeleteTrash })
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	e.deliver(acct, testMessage(2))
	if err := e.st.DeleteMailbox(context.Background(), acct.ID, "Trash"); err != nil {
		t.Fatal(err)
	}
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 2")
	c.do("QUIT")
	if ms := e.inboxState(acct); len(ms) != 1 {
		t.Errorf("INBOX has %d messages, want 1", len(ms))
	}
}

func TestDropCommitsNothing(t *testing.T) {
	e := newEnv(t)
	acct := e.addUser("user@example.test", "secret")
	for i := 1; i <= 3; i++ {
		e.deliver(acct, testMessage(i))
	}
	c := e.dial()
	c.login("user@example.test", "secret")
	c.do("DELE 1")
	c.do("DELE 2")
	c.conn.Close()
	// Reconnecting at once must not be locked out by the dead session.
	c = e.dial()
	if got := c.login("user@example.test", "secret"); !strings.Contains(got, "3 messages") {
		t.Errorf("after drop: %q", got)
	}
	if n := len(e.inboxState(acct)); n != 3 {
		t.Errorf("INBOX has %d messages after a drop, want 3", n)
	}
	// RSET then QUIT removes nothing either.
	c.do("DELE 3")
	c.do("RSET")
	c.do("QUIT")
	if n := len(e.inboxState(acct)); n != 3 {
		t.Errorf("INBOX has %d messages after RSET+QUIT, want 3", n)
	}
}

func TestInUse(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockWait = 50 * time.Millisecond })
	e.addUser("user@example.test", "secret")
	e.addUser("other@example.test", "secret")
	a := e.dial()
	a.login("user@example.test", "secret")
	b := e.dial()
	b.do("USER user@example.test")
	if got := b.doErr("PASS secret"); !strings.HasPrefix(got, "[IN-USE]") {
		t.Errorf("second session: %q", got)
	}
	if got := b.doErr("AUTH PLAIN %s", b64("\x00user@example.test\x00secret")); !strings.HasPrefix(got, "[IN-USE]") {
		t.Errorf("second session AUTH: %q", got)
	}
	b.doErr("STAT") // still in AUTHORIZATION
	// Another account is not affected.
	b.login("other@example.test", "secret")
	b.do("QUIT")
	// Once the first session ends, the lock is free.
	a.do("QUIT")
	c := e.dial()
	c.login("user@example.test", "secret")
}

// TestLockWaitsForClosingHolder: a login waits for a holder that goes away
// within the lock wait instead of answering [IN-USE].
func TestLockWaitsForClosingHolder(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockWait = 5 * time.Second })
	e.addUser("user@example.test", "secret")
	a := e.dial()
	a.login("user@example.test", "secret")
	b := e.dial()
	b.do("USER user@example.test")
	b.send("PASS secret")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		time.Sleep(100 * time.Millisecond)
		a.conn.Close()
	}()
	b.ok()
	wg.Wait()
}

func TestReconnectAfterDropRepeatedly(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.LockWait = 2 * time.Second })
	acct := e.addUser("user@example.test", "secret")
	e.deliver(acct, testMessage(1))
	for range 10 {
		c := e.dial()
		c.login("user@example.test", "secret")
		c.send("RETR 1") // drop with a command in flight
		c.conn.Close()
	}
	c := e.dial()
	c.login("user@example.test", "secret")
}

func TestUIDLStable(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, st: st}
	e.start()
	acct := e.addUser("user@example.test", "secret")
	for i := 1; i <= 5; i++ {
		e.deliver(acct, testMessage(i))
	}
	uidl := func() map[string]string { // unique-id -> message text
		c := e.dial()
		c.login("user@example.test", "secret")
		_, lines := c.multi("UIDL")
		out := map[string]string{}
		for _, l := range lines {
			n, id, _ := strings.Cut(l, " ")
			c.do("RETR %s", n)
			out[id] = strings.Join(c.lines(), "\n")
		}
		c.do("QUIT")
		return out
	}
	first := uidl()
	if len(first) != 5 {
		t.Fatalf("UIDL has %d distinct ids, want 5", len(first))
	}
	for id := range first {
		if len(id) < 1 || len(id) > 70 || strings.ContainsFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
			t.Errorf("unique-id %q outside RFC 1939 §7", id)
		}
	}
	// Delete message 2 in one session: the others keep their ids.
	c := e.dial()
	c.login("user@example.test", "secret")
	_, lines := c.multi("UIDL")
	_, deletedID, _ := strings.Cut(lines[1], " ")
	c.do("DELE 2")
	c.do("QUIT")
	second := uidl()
	for id, text := range second {
		if first[id] != text {
			t.Errorf("id %s changed meaning across sessions", id)
		}
	}
	if _, ok := second[deletedID]; ok || len(second) != 4 {
		t.Errorf("after DELE: %d ids, deleted id present %v", len(second), ok)
	}
	// Restart: close the server and the store, open them again.
	e.stop()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = sqlite.Open(dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.st = st
	e.start()
	t.Cleanup(e.stop)
	e.deliver(acct, testMessage(6))
	third := uidl()
	for id, text := range second {
		if third[id] != text {
			t.Errorf("id %s changed across a restart", id)
		}
	}
	if _, reused := third[deletedID]; reused || len(third) != 5 {
		t.Errorf("after restart and a new message: %d ids, deleted id reused %v", len(third), reused)
	}
}
