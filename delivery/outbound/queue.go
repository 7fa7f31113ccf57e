package outbound

import (
	"context"
	"fmt"
	"strings"

	"postern/delivery"
	"postern/storage"
)

// Queue is the seam between SMTP acceptance and the runner: it implements
// delivery.Queue by storing the message in the store's outbound queue (durably,
// before Enqueue returns) and waking the runner.
type Queue struct {
	Store  *storage.Store
	Runner *Runner // may be nil: the message waits for the next start
}

// Accept checks a remote recipient at RCPT time. Anything with a domain can
// be queued; whether the domain takes mail is learnt when delivering.
func (q *Queue) Accept(ctx context.Context, from string, rcpt delivery.Recipient) error {
	at := strings.LastIndexByte(rcpt.Address, '@')
	if at <= 0 || at == len(rcpt.Address)-1 {
		return fmt.Errorf("%q is not local@domain", rcpt.Address)
	}
	return nil
}

// Enqueue stores msg for delivery, one queue entry per recipient domain.
func (q *Queue) Enqueue(ctx context.Context, msg *delivery.Outbound) error {
	if err := q.Store.Enqueue(ctx, QueueItem(msg)); err != nil {
		return err
	}
	if q.Runner != nil {
		q.Runner.Kick()
	}
	return nil
}

// QueueItem converts an SMTP-side outbound message to a store queue item, for
// callers that commit it together with local copies through Store.Accept
// (and then call Runner.Kick).
func QueueItem(msg *delivery.Outbound) storage.QueueItem {
	it := storage.QueueItem{
		MsgID: msg.ID, From: msg.From, Body: msg.Body, Return: msg.Return,
		EnvelopeID: msg.EnvelopeID, UTF8: msg.UTF8, RequireTLS: msg.RequireTLS,
	}
	for _, r := range msg.Recipients {
		it.Recipients = append(it.Recipients, storage.QueueRecipient{Address: r.Address, Notify: r.Notify, ORCPT: r.ORCPT})
	}
	return it
}

var _ delivery.Queue = (*Queue)(nil)
