package storage

import "time"

// AppendItem is one message to add to one mailbox.
type AppendItem struct {
	AccountID    int64
	Mailbox      string // "" means INBOX
	Body         *Body
	Flags        FlagSet
	InternalDate time.Time // zero means now
}

// AppendResult says where an appended message went.
type AppendResult struct {
	MailboxID   int64
	UIDValidity uint32
	UID         uint32
}

// MessageState is what a session needs of every message when it opens a mailbox.
type MessageState struct {
	UID    uint32
	Flags  FlagSet
	ModSeq uint64
	Recent bool
}

// FetchWant selects the precomputed columns FetchMessages loads.
type FetchWant struct {
	Envelope  bool // Envelope
	Structure bool // Body and BodyStructure
	Header    bool // Header
}

// Message is one message with the metadata FETCH serves without reading the body.
type Message struct {
	UID           uint32
	Flags         FlagSet
	ModSeq        uint64
	InternalDate  time.Time
	Size          int64
	BodyID        int64
	HeaderLen     int64
	Envelope      []byte // IMAP ENVELOPE, wire form
	Body          []byte // IMAP BODY, wire form
	BodyStructure []byte // IMAP BODYSTRUCTURE, wire form
	Header        []byte // the header block, with the empty line that ends it
}

// FlagChange is the new state of a message whose flags changed.
type FlagChange struct {
	UID    uint32
	Flags  FlagSet
	ModSeq uint64
}

// CopyResult maps source UIDs to the UIDs of the copies (RFC 4315 COPYUID).
type CopyResult struct {
	UIDValidity uint32
	SrcUIDs     []uint32
	DstUIDs     []uint32
}

// SearchColumns selects the decoded header columns SearchHeaders loads, so
// that a SEARCH on one field does not pay for the others.
type SearchColumns uint16

const (
	SearchSubject SearchColumns = 1 << iota
	SearchFrom
	SearchTo
	SearchCc
	SearchBcc
	SearchMessageID
	SearchDate
	SearchInReplyTo   // InReplyTo
	SearchReferences  // References
	SearchBaseSubject // BaseSubject
	SearchAddresses   // the parsed address lists, FromAddrs to BccAddrs
)

// HeaderRow is what SEARCH needs of one message without reading its body:
// the per-message state and the header fields decoded at delivery.
type HeaderRow struct {
	UID          uint32
	Flags        FlagSet
	InternalDate time.Time
	Size         int64
	BodyID       int64

	// Loaded only when selected by SearchColumns; empty otherwise.
	Subject, From, To, Cc, Bcc, MessageID string
	Date                                  time.Time // in the field's own zone; zero if missing or unparseable
	InReplyTo, References                 string
	BaseSubject                           string // RFC 5256 §2.1
	// mailbox@host, the domain lower-cased (mimeinfo.Info).
	FromAddrs, SenderAddrs, ReplyToAddrs, ToAddrs, CcAddrs, BccAddrs []string
}
