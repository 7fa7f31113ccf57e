package e2e

import (
	"fmt"
	"io"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
)

func (s *soakIMAP) store() {
	picks, seqs, uids := s.pick(1 + s.rng.IntN(3))
	if len(picks) == 0 {
		return
	}
	flag := []imap.Flag{imap.FlagSeen, imap.FlagFlagged, imap.FlagDeleted, "soakkw"}[s.rng.IntN(4)]
	op := []imap.StoreFlagsOp{imap.StoreFlagsAdd, imap.StoreFlagsDel}[s.rng.IntN(2)]
	if flag == imap.FlagDeleted && op == imap.StoreFlagsAdd {
		for _, p := range picks {
			s.a.mark(s.a.mayDelete, p.tok)
		}
	}
	cmd, set := "STORE", imap.NumSet(seqs)
	if s.rng.IntN(2) == 0 {
		cmd, set = "UID STORE", uids
	}
	var msgs []*imapclient.FetchMessageBuffer
	silent := s.rng.IntN(2) == 0
	s.do(cmd, func() (err error) {
		msgs, err = s.c.Store(set, &imap.StoreFlags{Op: op, Silent: silent, Flags: []imap.Flag{flag}}, nil).Collect()
		return err
	})
	for _, m := range msgs {
		s.saw(m, cmd == "STORE")
		// The flags themselves may already show another session's later
		// STORE, so only the form is checked: RFC 3501 §6.4.8.
		if cmd == "UID STORE" && m.UID == 0 {
			s.r.t.Errorf("%s: UID STORE answered message %d without its UID", s.who, m.SeqNum)
		}
	}
}

func (s *soakIMAP) uidExpunge() {
	if _, _, uids := s.pick(1 + s.rng.IntN(3)); len(uids) > 0 {
		s.runExpunge(func() *imapclient.ExpungeCommand { return s.c.UIDExpunge(uids) })
	}
}

func (s *soakIMAP) expunge() { s.runExpunge(s.c.Expunge) }

// runExpunge applies the EXPUNGE results in order. If an EXISTS came in the
// middle, the order is unknown and the model restarts from the client's count.
func (s *soakIMAP) runExpunge(send func() *imapclient.ExpungeCommand) {
	var seqs []uint32
	s.do("EXPUNGE", func() (err error) {
		seqs, err = send().Collect()
		return err
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ambiguous {
		for _, seq := range seqs {
			s.expunged(seq)
		}
		return
	}
	s.ambiguous = false
	s.r.tally(s.r.seen, "IMAP EXPUNGE results mixed with EXISTS (model reset)")
	if mb := s.c.Mailbox(); mb != nil {
		s.uids = make([]imap.UID, mb.NumMessages)
	}
}

// transfer COPYs or MOVEs a few messages to the other mailbox and records
// where COPYUID (RFC 4315 §3) says they went.
func (s *soakIMAP) transfer(move bool) {
	picks, seqs, uids := s.pick(1 + s.rng.IntN(3))
	if len(picks) == 0 {
		return
	}
	from, to := s.mailbox, soakOther
	if from == soakOther {
		to = "INBOX"
	}
	cmd, set := "COPY", imap.NumSet(seqs)
	if move {
		cmd = "MOVE"
	} else {
		for _, p := range picks {
			s.a.mark(s.a.copied, p.tok)
		}
	}
	if s.rng.IntN(2) == 0 {
		cmd, set = "UID "+cmd, uids
	}
	var validity uint32
	var src, dst imap.NumSet
	err := s.do(cmd, func() error {
		if move {
			d, err := s.c.Move(set, to).Wait()
			if d != nil {
				validity, src, dst = d.UIDValidity, d.SourceUIDs, d.DestUIDs
			}
			return err
		}
		d, err := s.c.Copy(set, to).Wait()
		if d != nil {
			validity, src, dst = d.UIDValidity, d.SourceUIDs, d.DestUIDs
		}
		return err
	})
	if err != nil || validity == 0 {
		return
	}
	s.a.sawValidity(s.r.t, s.who, to, validity)
	srcs, _ := src.(imap.UIDSet).Nums()
	dsts, _ := dst.(imap.UIDSet).Nums()
	if len(srcs) != len(dsts) {
		s.r.t.Errorf("%s: %s: COPYUID %v %v do not pair up", s.who, cmd, src, dst)
		return
	}
	for i, uid := range srcs {
		if seen := s.a.lookup(from, uint32(uid)); seen.tok != "" {
			s.a.sawMessage(s.r.t, s.who, to, uint32(dsts[i]), seen.tok, seen.size)
		}
	}
}

func (s *soakIMAP) appendMsg() {
	s.appended++
	tok := fmt.Sprintf("tok-a%02d-%04d", s.idx, s.appended)
	msg := soakMessage(tok, s.rng)
	to := []string{"INBOX", soakOther}[s.rng.IntN(2)]
	flags := [][]imap.Flag{nil, {imap.FlagSeen}, {"soakkw", imap.FlagFlagged}}[s.rng.IntN(3)]
	var data *imap.AppendData
	err := s.do("APPEND", func() error {
		cmd := s.c.Append(to, int64(len(msg)), &imap.AppendOptions{Flags: flags})
		if _, err := io.WriteString(cmd, msg); err != nil {
			cmd.Close()
			return err
		}
		if err := cmd.Close(); err != nil {
			return err
		}
		var err error
		data, err = cmd.Wait()
		return err
	})
	if err != nil {
		return
	}
	s.a.mark(s.a.delivered, tok)
	if data.UID != 0 {
		s.a.sawValidity(s.r.t, s.who, to, data.UIDValidity)
		s.a.sawMessage(s.r.t, s.who, to, uint32(data.UID), tok, int64(len(msg)))
	}
}

// search runs SEARCH UNSEEN or SEARCH HEADER X-Token; every number in the
// answer must exist, and a header match must be a message with that token.
func (s *soakIMAP) search() {
	crit := &imap.SearchCriteria{NotFlag: []imap.Flag{imap.FlagSeen}}
	tok := ""
	if picks, _, _ := s.pick(1); len(picks) > 0 && s.rng.IntN(2) == 0 {
		tok = picks[0].tok
		crit = &imap.SearchCriteria{Header: []imap.SearchCriteriaHeaderField{{Key: "X-Token", Value: tok}}}
	}
	var data *imap.SearchData
	if s.do("SEARCH", func() (err error) { data, err = s.c.Search(crit, nil).Wait(); return err }) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, seq := range data.AllSeqNums() {
		if seq == 0 || int(seq) > len(s.uids) {
			s.r.t.Errorf("%s: SEARCH answered message %d, but %d exist", s.who, seq, len(s.uids))
			continue
		}
		if uid := s.uids[seq-1]; tok != "" && uid != 0 {
			if got := s.a.lookup(s.mailbox, uint32(uid)).tok; got != "" && got != tok {
				s.r.t.Errorf("%s: SEARCH HEADER X-Token %s matched message %d (UID %d), which holds %s", s.who, tok, seq, uid, got)
			}
		}
	}
}

func (s *soakIMAP) noop() { s.do("NOOP", func() error { return s.c.Noop().Wait() }) }

func (s *soakIMAP) idle() {
	s.do("IDLE", func() error {
		cmd, err := s.c.Idle()
		if err != nil {
			return err
		}
		time.Sleep(time.Duration(10+s.rng.IntN(40)) * time.Millisecond)
		if err := cmd.Close(); err != nil {
			return err
		}
		return cmd.Wait()
	})
}
