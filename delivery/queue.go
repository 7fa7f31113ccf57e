package delivery

import (
	"context"
	"errors"

	"postern/storage"
)

// ErrOutboundDisabled is what NoQueue answers: this server cannot deliver to
// remote domains yet. The SMTP layer replies 451 4.3.0, a temporary failure,
// so that the sender keeps the message instead of losing it.
var ErrOutboundDisabled = errors.New("outbound delivery is not enabled yet")

// Recipient is one remote recipient with its DSN parameters (RFC 3461 §4),
// kept for the outbound side, which reports delivery status with them.
type Recipient struct {
	Address string
	Notify  []string // NEVER, or some of SUCCESS, FAILURE, DELAY; nil if not given
	ORCPT   string   // original recipient as "type;address", "" if not given
}

// Outbound is a message for remote recipients.
type Outbound struct {
	ID         string // the transaction id, as in the Received header
	From       string // reverse-path; "" is the null sender <>
	Origin     storage.Origin
	Recipients []Recipient
	Body       *storage.Body // with the Received header, without Return-Path
	Return     string        // DSN RET: "FULL", "HDRS" or ""
	EnvelopeID string        // DSN ENVID, "" if not given
	UTF8       bool          // the sender used SMTPUTF8 (RFC 6531)
	RequireTLS bool          // REQUIRETLS (RFC 8689)
}

// QueueItem is the store's outbound queue entry for msg. Deliver commits it in
// the same transaction as the local copies, so the 250 that follows covers both.
func (msg *Outbound) QueueItem() storage.QueueItem {
	it := storage.QueueItem{
		MsgID: msg.ID, From: msg.From, Origin: msg.Origin, Body: msg.Body, Return: msg.Return,
		EnvelopeID: msg.EnvelopeID, UTF8: msg.UTF8, RequireTLS: msg.RequireTLS,
	}
	for _, r := range msg.Recipients {
		it.Recipients = append(it.Recipients, storage.QueueRecipient{Address: r.Address, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	return it
}

// Origin is where the remote copies of env's message come from. Only a
// session that authenticated (submission) vouches for what it sends; the
// MX never relays, so its remote recipients are an alias's forwarding
// targets, and the message is the unverified sender's own.
func (env *Envelope) Origin() storage.Origin {
	if env.Trace.AuthUser != "" {
		return storage.OriginSubmission
	}
	return storage.OriginForwarded
}

// Queue is the outbound side as SMTP acceptance sees it. The message itself is
// stored by Deliver (Store.Accept), in the transaction that stores the local
// copies; the queue only vets recipients and is told when new work is queued.
type Queue interface {
	// Accept is asked at RCPT time whether mail from `from` to the remote
	// recipient can be queued. An error refuses that recipient only.
	Accept(ctx context.Context, from string, rcpt Recipient) error
	// Queued is called after messages were committed to the outbound queue.
	Queued()
}

// NoQueue is the Queue used until outbound delivery exists. It refuses every
// remote recipient with ErrOutboundDisabled.
type NoQueue struct{}

// Accept implements Queue.
func (NoQueue) Accept(context.Context, string, Recipient) error { return ErrOutboundDisabled }

// Queued implements Queue.
func (NoQueue) Queued() {}
