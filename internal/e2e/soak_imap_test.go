package e2e

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

// soakIMAP is one IMAP client of the soak test. It keeps its own picture of
// the selected mailbox, built only from what the server told it (EXISTS,
// EXPUNGE, FETCH), and checks every response against it.
type soakIMAP struct {
	r    *soakRun
	a    *soakAccount
	who  string
	idx  int
	c    *imapclient.Client
	rng  *rand.Rand
	dead bool

	mailbox  string // selected mailbox, "" if none
	appended int

	mu        sync.Mutex
	uids      []imap.UID // message i+1 is uids[i]; 0 until a FETCH names it
	cmd       string     // command in progress, "" between commands
	ambiguous bool       // EXISTS came while EXPUNGE results were queued
}

var soakHeaderSection = &imap.FetchItemBodySection{Specifier: imap.PartSpecifierHeader, HeaderFields: []string{"X-Token"}, Peek: true}

func newSoakIMAP(r *soakRun, a *soakAccount, idx int) *soakIMAP {
	s := &soakIMAP{r: r, a: a, idx: idx, who: fmt.Sprintf("imap%d(%s)", idx, a.addr), rng: rand.New(rand.NewPCG(2, uint64(idx)))}
	c, err := imapclient.DialInsecure(r.ts.IMAPAddr, &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{Mailbox: s.onMailbox, Expunge: s.onExpunge},
	})
	if err != nil {
		r.t.Errorf("%s: %v", s.who, err)
		return nil
	}
	s.c = c
	if err := c.Login(a.addr, a.pass).Wait(); err != nil {
		r.t.Errorf("%s: LOGIN: %v", s.who, err)
		c.Close()
		return nil
	}
	return s
}

// onMailbox handles EXISTS: the count may only grow (RFC 3501 §7.3.1).
func (s *soakIMAP) onMailbox(d *imapclient.UnilateralDataMailbox) {
	if d.NumMessages == nil {
		return
	}
	n := int(*d.NumMessages)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == "EXPUNGE" {
		// imapclient queues EXPUNGE results of an EXPUNGE command apart from
		// EXISTS, so their order is lost; expunge() resynchronises.
		s.ambiguous = true
		return
	}
	s.r.tally(s.r.seen, "IMAP EXISTS")
	if n < len(s.uids) {
		s.r.t.Errorf("%s: %s: EXISTS %d, but %d messages are known and none was expunged (RFC 3501 §7.3.1)", s.who, s.cmd, n, len(s.uids))
	}
	for len(s.uids) < n {
		s.uids = append(s.uids, 0)
	}
}

// onExpunge handles an EXPUNGE that is not the result of an EXPUNGE command.
func (s *soakIMAP) onExpunge(seq uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch s.cmd {
	case "", "FETCH", "STORE", "SEARCH":
		s.r.t.Errorf("%s: EXPUNGE %d during %q (RFC 3501 §7.4.1, §5.5)", s.who, seq, s.cmd)
	case "SELECT", "EXAMINE":
		// imapclient takes the count from the SELECT's EXISTS when it
		// completes, so an EXPUNGE inside it desynchronises the client.
		s.r.t.Errorf("%s: EXPUNGE %d inside the %s response", s.who, seq, s.cmd)
	}
	s.r.tally(s.r.seen, "IMAP EXPUNGE during "+s.cmd)
	s.expunged(seq)
}

func (s *soakIMAP) expunged(seq uint32) {
	if seq == 0 || int(seq) > len(s.uids) {
		s.r.t.Errorf("%s: %s: EXPUNGE %d, but only %d messages exist", s.who, s.cmd, seq, len(s.uids))
		return
	}
	s.uids = append(s.uids[:seq-1], s.uids[seq:]...)
}

// do runs one command with the model told which command is in progress.
func (s *soakIMAP) do(cmd string, f func() error) error {
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
	err := f()
	s.mu.Lock()
	s.cmd = ""
	s.mu.Unlock()
	if !s.r.imapErr(s.who, cmd, err) {
		s.dead = true
	}
	return err
}

func (s *soakIMAP) run() {
	s.selectBox("INBOX", false)
	ops := []func(){
		func() { s.selectBox([]string{"INBOX", soakOther}[s.rng.IntN(2)], s.rng.IntN(4) == 0) },
		func() { s.fetchAll() }, func() { s.fetchAll() }, s.store, s.store, s.store,
		s.uidExpunge, s.expunge, func() { s.transfer(false) }, func() { s.transfer(true) },
		s.appendMsg, s.search, s.noop, s.idle,
	}
	for range soakIMAPOps {
		if s.dead {
			return
		}
		if s.mailbox == "" {
			s.selectBox("INBOX", false)
			continue
		}
		ops[s.rng.IntN(len(ops))]()
		s.checkCount()
	}
}

// checkCount compares the model's message count with the one imapclient
// keeps. An EXISTS may be read between imapclient's update and the handler's,
// so a mismatch is looked at again after a moment.
func (s *soakIMAP) checkCount() {
	for try := 0; ; try++ {
		mb := s.c.Mailbox()
		s.mu.Lock()
		n := len(s.uids)
		s.mu.Unlock()
		if mb == nil || s.mailbox == "" || int(mb.NumMessages) == n {
			return
		}
		if try == 3 {
			s.r.t.Errorf("%s: %d messages known from EXISTS and EXPUNGE, imapclient counts %d", s.who, n, mb.NumMessages)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (s *soakIMAP) selectBox(name string, readOnly bool) {
	cmd := "SELECT"
	if readOnly {
		cmd = "EXAMINE"
	}
	var data *imap.SelectData
	err := s.do(cmd, func() (err error) {
		data, err = s.c.Select(name, &imap.SelectOptions{ReadOnly: readOnly}).Wait()
		return err
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mailbox, s.uids = "", nil
	if err == nil {
		s.mailbox, s.uids = name, make([]imap.UID, data.NumMessages)
		s.a.sawValidity(s.r.t, s.who, name, data.UIDValidity)
	}
}

// fetchAll fetches every message and checks each against the model.
func (s *soakIMAP) fetchAll() []*imapclient.FetchMessageBuffer {
	s.mu.Lock()
	n := len(s.uids)
	s.mu.Unlock()
	if n == 0 {
		return nil
	}
	var msgs []*imapclient.FetchMessageBuffer
	opts := &imap.FetchOptions{UID: true, Flags: true, RFC822Size: true, Envelope: true,
		BodySection: []*imap.FetchItemBodySection{soakHeaderSection}}
	s.do("FETCH", func() (err error) {
		msgs, err = s.c.Fetch(imap.SeqSet{{Start: 1, Stop: 0}}, opts).Collect()
		return err
	})
	for _, m := range msgs {
		s.saw(m, true)
	}
	s.r.tally(s.r.seen, "IMAP FETCH 1:*")
	return msgs
}

func soakToken(m *imapclient.FetchMessageBuffer) string {
	h := string(m.FindBodySection(soakHeaderSection))
	if _, v, ok := strings.Cut(h, ":"); ok {
		return strings.TrimSpace(v)
	}
	return ""
}

// saw checks one FETCH response: its message number exists (RFC 3501
// §7.4.2), it names the UID the model has there, and UIDs ascend with
// message numbers (RFC 3501 §2.3.1.1). checkSeq is false when EXPUNGEs may
// have renumbered the messages since the response was sent.
func (s *soakIMAP) saw(m *imapclient.FetchMessageBuffer, checkSeq bool) {
	s.mu.Lock()
	if checkSeq {
		switch n := len(s.uids); {
		case m.SeqNum == 0 || int(m.SeqNum) > n:
			s.r.t.Errorf("%s: FETCH for message %d, but %d exist", s.who, m.SeqNum, n)
		case m.UID != 0:
			if old := s.uids[m.SeqNum-1]; old != 0 && old != m.UID {
				s.r.t.Errorf("%s: message %d is UID %d, earlier UID %d: an EXPUNGE or EXISTS went missing", s.who, m.SeqNum, m.UID, old)
			}
			s.uids[m.SeqNum-1] = m.UID
		}
		var prev imap.UID
		for i, uid := range s.uids {
			if uid != 0 && uid <= prev {
				s.r.t.Errorf("%s: UIDs do not ascend with message numbers: %d at %d after %d", s.who, uid, i+1, prev)
			}
			prev = max(prev, uid)
		}
	}
	s.mu.Unlock()
	if tok := soakToken(m); m.UID != 0 && m.Envelope != nil {
		if tok == "" || m.Envelope.Subject != "soak "+tok {
			s.r.t.Errorf("%s: %s UID %d: token %q with subject %q", s.who, s.mailbox, m.UID, tok, m.Envelope.Subject)
		}
		s.a.sawMessage(s.r.t, s.who, s.mailbox, uint32(m.UID), tok, m.RFC822Size)
	}
}

type soakPick struct {
	seq uint32
	uid imap.UID
	tok string
}

// pick chooses up to k messages whose token the test knows.
func (s *soakIMAP) pick(k int) (picks []soakPick, seqs imap.SeqSet, uids imap.UIDSet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.uids) == 0 {
		return
	}
	for range k {
		i := s.rng.IntN(len(s.uids))
		if s.uids[i] == 0 || seqs.Contains(uint32(i+1)) {
			continue
		}
		if seen := s.a.lookup(s.mailbox, uint32(s.uids[i])); seen.tok != "" {
			picks = append(picks, soakPick{uint32(i + 1), s.uids[i], seen.tok})
			seqs.AddNum(uint32(i + 1))
			uids.AddNum(s.uids[i])
		}
	}
	return
}
