package pop3d

import (
	"errors"
	"strconv"
)

// cmdQUIT in TRANSACTION: the UPDATE state of RFC 1939 §6. Messages marked
// deleted leave INBOX as the delete policy says, in one store call, and the
// session ends. The lock is released when the connection closes.
func (s *session) cmdQUIT(cmd Command) error {
	if len(cmd.Args) != 0 {
		return s.protocolError("usage: QUIT")
	}
	if err := s.drop.finishSeen(s.ctx); err != nil {
		s.srv.log.Warn("pop3 could not set \\Seen", "user", s.account.Address, "err", err)
	}
	policy := s.srv.cfg.DeletePolicy
	n, err := s.drop.commitDeletes(s.ctx, policy)
	if errors.Is(err, errNoTrash) {
		s.srv.log.Warn("pop3 delete policy is trash but the account has no \\Trash mailbox; expunging instead",
			"user", s.account.Address)
		n, err = s.drop.commitDeletes(s.ctx, DeleteExpunge)
	}
	if err != nil {
		// RFC 1939 §6: -ERR if some deleted messages were not removed.
		s.sysError("removing deleted messages", err)
		return errClose
	}
	s.ok("Postern POP3 server signing off (" + strconv.Itoa(n) + " messages deleted)")
	return errClose
}
