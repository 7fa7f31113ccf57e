package inbound

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strings"

	"postern/mailauth/dkimverify"
	"postern/mailauth/dmarc"
	"postern/mailauth/spf"
	"postern/spam/bayes"
	"postern/spam/clientcheck"
	"postern/spam/dnsbl"
)

// Transaction is the checks of one SMTP transaction, begun at MAIL FROM.
type Transaction struct {
	c     *Checker
	env   Envelope
	spf   *spf.Pending
	iprev chan clientcheck.IPRev
	dnsbl chan []dnsbl.Result
}

// Begin starts the checks that need only the envelope: SPF, reverse DNS
// and the DNS block lists, so that they run while the client sends DATA.
// ctx bounds them; it should live as long as the transaction.
func (c *Checker) Begin(ctx context.Context, env Envelope) *Transaction {
	tx := &Transaction{c: c, env: env}
	if env.User != "" {
		return tx
	}
	tx.spf = spf.Start(ctx, c.r, net.IP(env.IP.Unmap().AsSlice()), env.HELO, env.MailFrom)
	tx.iprev = make(chan clientcheck.IPRev, 1)
	go func() { tx.iprev <- clientcheck.ReverseDNS(ctx, c.r, env.IP) }()
	if len(c.lists) > 0 {
		tx.dnsbl = make(chan []dnsbl.Result, 1)
		go func() { tx.dnsbl <- dnsbl.Check(ctx, c.r, c.lists, env.IP) }()
	}
	return tx
}

// Check runs the whole pipeline on one transaction: Begin, then
// Transaction.Check.
func (c *Checker) Check(ctx context.Context, env Envelope, rcpts []Recipient, msg Message) *Verdict {
	return c.Begin(ctx, env).Check(ctx, rcpts, msg)
}

// verdict carries the work of one Check.
type verdict struct {
	*Verdict
	c   *Checker
	env Envelope
}

func (v *verdict) add(ch Check) {
	v.Checks = append(v.Checks, ch)
	if ch.Recipient == "" {
		v.Score += ch.Score
	}
}

func (v *verdict) refuse(action Action, code int, status, text string) *Verdict {
	v.Action, v.Reply = action, Reply{Code: code, Status: status, Text: text}
	return v.Verdict
}

// Check waits for the envelope checks, checks the message and decides.
// rcpts are the accepted recipients; msg the message as received.
func (tx *Transaction) Check(ctx context.Context, rcpts []Recipient, msg Message) *Verdict {
	c := tx.c
	v := &verdict{Verdict: &Verdict{hostname: c.opts.Hostname}, c: c, env: tx.env}
	for _, r := range rcpts {
		v.Recipients = append(v.Recipients, RecipientVerdict{Recipient: r})
	}
	if tx.env.User != "" {
		// Submission: the user is known; no results to record (the
		// sending limits are the submission listener's).
		return v.Verdict
	}

	v.SPF = tx.spf.Wait(ctx)
	v.add(Check{Name: "spf", Result: string(v.SPF.Result), Score: spfScores[v.SPF.Result], Symbol: "SPF_" + strings.ToUpper(string(v.SPF.Result)),
		Detail: v.SPF.Domain + ": " + v.SPF.Reason})
	select {
	case v.IPRev = <-tx.iprev:
	case <-ctx.Done():
		v.IPRev = clientcheck.IPRev{Result: clientcheck.IPRevTempError, Reason: "reverse DNS did not finish in time"}
	}

	// The classifier's tokens are made while DKIM and DMARC are checked.
	var tokens chan []uint64
	if c.bayes != nil && slices.ContainsFunc(rcpts, func(r Recipient) bool { return r.Account != "" }) {
		tokens = make(chan []uint64, 1)
		go func() { tokens <- bayes.Tokens(msg.prefix(bayesPrefix)) }()
	}

	authors, fields := authorDomains(msg.Header)
	v.DKIM = dkimverify.Verify(func(name string) ([]string, error) { return c.r.LookupTXT(ctx, name) }, msg.Header, msg.body())
	v.checkDKIM()
	for _, d := range authors {
		v.DMARC = append(v.DMARC, dmarc.Evaluate(ctx, c.r, d, v.SPF, v.DKIM, c.rand))
	}
	v.AuthResults = v.authResults(tx.env)

	// Refusals for the authentication of the author come first: they do
	// not depend on how the message reads.
	switch {
	case fields > 1:
		// RFC 7489 §6.6.1: typically rejected, and the one a mail reader
		// shows need not be the one checked.
		v.add(Check{Name: "from", Result: "fail", Detail: fmt.Sprintf("%d From fields", fields)})
		return v.refuse(Reject, 550, "5.7.1", "Message has more than one From field (RFC 5322 §3.6)")
	case len(authors) == 0:
		v.add(Check{Name: "from", Result: "fail", Detail: "no From address with a domain"})
		return v.refuse(Reject, 550, "5.7.1", "Message has no From field with an address (RFC 5322 §3.6)")
	}
	if done := v.ownDomains(authors); done {
		return v.Verdict
	}
	forceJunk, done := v.applyDMARC()
	if done {
		return v.Verdict
	}

	v.cheapChecks(ctx, tx)
	if v.greylisted(ctx, rcpts) {
		return v.Verdict
	}
	junkAll, done := v.askRspamd(ctx, rcpts, msg)
	if done {
		return v.Verdict
	}
	v.perRecipient(ctx, msg, authors, tokens)
	return v.decide(forceJunk || junkAll)
}
