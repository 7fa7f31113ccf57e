package imapsrc

import "maps"

// State is where an import from an IMAP server stands, to resume it: per
// mailbox (the server's name), its UIDVALIDITY and the UID up to which
// every message was imported. It is plain data; save it as JSON.
type State struct {
	Mailboxes map[string]MailboxState `json:"mailboxes"`
}

// MailboxState is where one mailbox stands.
type MailboxState struct {
	UIDValidity uint32 `json:"uidvalidity"`
	LastUID     uint32 `json:"last_uid"`
}

func (st *State) clone() State {
	if st == nil {
		return State{Mailboxes: map[string]MailboxState{}}
	}
	c := State{Mailboxes: maps.Clone(st.Mailboxes)}
	if c.Mailboxes == nil {
		c.Mailboxes = map[string]MailboxState{}
	}
	return c
}

func (st *State) get(mailbox string) MailboxState { return st.Mailboxes[mailbox] }

func (st *State) set(mailbox string, ms MailboxState) { st.Mailboxes[mailbox] = ms }
