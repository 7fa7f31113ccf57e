package storage

import (
	"fmt"
	"time"

	"postern/mailaddr"
)

// The outbound queue lives in the same database as the mailboxes, so that a
// message for local and remote recipients is stored and queued in one
// transaction: the SMTP 250 covers both, and a crash keeps both or neither.
// One entry holds one message for the recipients of one domain; its body is
// the content-addressed body the local copies use, with one more reference.

// QueueRecipient is a remote recipient with its DSN parameters (RFC 3461 §4).
type QueueRecipient struct {
	Address string
	Notify  []string // NEVER, or some of SUCCESS, FAILURE, DELAY; nil: not given
	ORCPT   string   // "type;address" as received, "" if not given
}

// Origin is where a queued message came from. It decides what this server
// vouches for when the message leaves: only mail that an authenticated user
// submitted or that the server wrote itself is signed with the served
// domains' DKIM keys, and only such mail may come back whole in a delivery
// status notification. The zero value is the least trusted, so that an entry
// that does not say where it came from is treated as forwarded.
type Origin int

// Origins of queued mail.
const (
	// OriginForwarded: received without authentication (on the MX) and sent
	// on by an alias to a remote address. Its sender and content are unverified.
	OriginForwarded Origin = 0
	// OriginSubmission: submitted by an authenticated user.
	OriginSubmission Origin = 1
	// OriginServer: written by this server, such as a delivery status notification.
	OriginServer Origin = 2
)

// Authenticated reports whether the message's content comes from someone this
// server authenticated: a user through submission, or the server itself.
func (o Origin) Authenticated() bool { return o == OriginSubmission || o == OriginServer }

func (o Origin) String() string {
	switch o {
	case OriginSubmission:
		return "submission"
	case OriginServer:
		return "server"
	case OriginForwarded:
		return "forwarded"
	}
	return fmt.Sprintf("origin %d", int(o))
}

// QueueItem is a message to queue for remote recipients. Accept splits it into
// one entry per recipient domain.
type QueueItem struct {
	MsgID       string // the transaction id, for logs and the CLI
	From        string // reverse-path; "" is the null sender <>
	Origin      Origin // where the message came from
	Recipients  []QueueRecipient
	Body        *Body
	Return      string // DSN RET: "FULL", "HDRS" or ""
	EnvelopeID  string // DSN ENVID
	UTF8        bool   // SMTPUTF8 (RFC 6531)
	RequireTLS  bool   // REQUIRETLS (RFC 8689)
	NextAttempt time.Time
}

// RcptStatus is where a queued recipient stands.
type RcptStatus int

// Recipient states. Only pending recipients are tried again.
const (
	RcptPending   RcptStatus = 0
	RcptDelivered RcptStatus = 1
	RcptFailed    RcptStatus = 2
)

func (s RcptStatus) String() string {
	switch s {
	case RcptDelivered:
		return "delivered"
	case RcptFailed:
		return "failed"
	}
	return "pending"
}

// QueueRcpt is one recipient of a queue entry with its state.
type QueueRcpt struct {
	N         int // index within the entry
	Address   string
	Notify    []string
	ORCPT     string
	Status    RcptStatus
	Code      int    // last SMTP reply code, 0 if none
	Error     string // last error for this recipient
	DelaySent bool   // a "delayed" DSN went out already
}

// QueueEntry is one queued message for one recipient domain.
type QueueEntry struct {
	ID          int64
	MsgID       string
	Domain      string
	From        string
	Origin      Origin
	BodyID      int64
	Size        int64
	Return      string
	EnvelopeID  string
	UTF8        bool
	RequireTLS  bool
	Created     time.Time
	NextAttempt time.Time
	LastAttempt time.Time // zero if never tried
	Attempts    int
	LastError   string
	Recipients  []QueueRcpt
}

// Pending returns the recipients still to be tried.
func (e *QueueEntry) Pending() []QueueRcpt {
	var out []QueueRcpt
	for _, r := range e.Recipients {
		if r.Status == RcptPending {
			out = append(out, r)
		}
	}
	return out
}

// Notice is mail written in the same transaction as a queue change: a delivery
// status notification to a local sender (Append) or a remote one (Queue).
type Notice struct {
	Append []AppendItem
	Queue  []QueueItem
}

// RcptResult is the outcome of an attempt for one recipient (by QueueRcpt.N).
type RcptResult struct {
	N         int
	Status    RcptStatus
	Code      int
	Error     string
	DelaySent bool
}

// QueueUpdate is the bookkeeping after an attempt on one entry.
type QueueUpdate struct {
	ID          int64
	Rcpts       []RcptResult
	NextAttempt time.Time // for recipients still pending
	LastError   string
	Notice      Notice // status notifications, committed with the update
}

// DomainGroup is the recipients of one domain in a QueueItem: one queue
// entry each.
type DomainGroup struct {
	Domain     string // lower case, without a trailing dot
	Recipients []QueueRecipient
}

// ByDomain groups the item's recipients by domain, in the order the
// domains first appear.
func (it QueueItem) ByDomain() ([]DomainGroup, error) {
	var out []DomainGroup
	index := map[string]int{}
	for _, r := range it.Recipients {
		d, err := recipientDomain(r.Address)
		if err != nil {
			return nil, err
		}
		i, ok := index[d]
		if !ok {
			i = len(out)
			index[d] = i
			out = append(out, DomainGroup{Domain: d})
		}
		out[i].Recipients = append(out[i].Recipients, r)
	}
	return out, nil
}

// recipientDomain is the normal form of an address's domain.
func recipientDomain(addr string) (string, error) {
	_, d, ok := mailaddr.Split(addr)
	if !ok {
		return "", fmt.Errorf("queue: recipient %q is not local@domain: %w", addr, ErrInvalidName)
	}
	return mailaddr.NormalizeDomain(d), nil
}
