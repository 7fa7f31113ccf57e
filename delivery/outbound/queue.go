package outbound

import (
	"context"
	"fmt"

	"postern/delivery"
	"postern/mailaddr"
)

// Queue is the seam between SMTP acceptance and the runner: it implements
// delivery.Queue. Delivery stores the message in the outbound queue itself
// (Store.Accept, together with the local copies) and then wakes the runner.
type Queue struct {
	Runner *Runner // may be nil: the message waits for the next start
}

// Accept checks a remote recipient at RCPT time. Anything with a domain can
// be queued; whether the domain takes mail is learnt when delivering.
func (q *Queue) Accept(ctx context.Context, from string, rcpt delivery.Recipient) error {
	if _, _, ok := mailaddr.Split(rcpt.Address); !ok {
		return fmt.Errorf("%q is not local@domain", rcpt.Address)
	}
	return nil
}

// Queued wakes the runner: delivery just committed new entries.
func (q *Queue) Queued() {
	if q.Runner != nil {
		q.Runner.Kick()
	}
}

var _ delivery.Queue = (*Queue)(nil)
