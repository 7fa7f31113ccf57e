package inbound

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"postern/mailauth/dmarc"
	"postern/spam/clientcheck"
	"postern/spam/dnsbl"
	"postern/spam/rspamd"
)

// bayesPrefix is how much of the body the classifier reads: the tokenizer
// keeps the first 64 KiB of decoded text anyway.
const bayesPrefix = 256 << 10

// cheapChecks scores the client: reverse DNS, EHLO name, block lists.
func (v *verdict) cheapChecks(ctx context.Context, tx *Transaction) {
	ch := Check{Name: "iprev", Result: string(v.IPRev.Result), Detail: v.IPRev.Name + v.IPRev.Reason}
	if v.IPRev.Result == clientcheck.IPRevFail {
		if v.IPRev.HasPTR {
			ch.Score, ch.Symbol = scorePTRMismatch, "RDNS_MISMATCH"
		} else {
			ch.Score, ch.Symbol = scoreNoPTR, "RDNS_NONE"
		}
	}
	v.add(ch)

	ours := []string{v.c.opts.Hostname}
	for d := range v.c.ours {
		ours = append(ours, d)
	}
	if p := clientcheck.CheckHELO(v.env.HELO, v.env.IP, ours); p != "" {
		v.add(Check{Name: "helo", Result: string(p), Score: heloScores[p],
			Symbol: "HELO_" + strings.ToUpper(strings.ReplaceAll(string(p), "-", "_")), Detail: v.env.HELO})
	}

	if tx.dnsbl == nil {
		return
	}
	var results []dnsbl.Result
	select {
	case results = <-tx.dnsbl:
	case <-ctx.Done():
		v.add(Check{Name: "dnsbl", Result: "skipped", Detail: "block lists did not answer in time"})
		return
	}
	for _, r := range results {
		switch {
		case r.Listed:
			v.add(Check{Name: "dnsbl", Result: "listed", Score: scoreDNSBL,
				Symbol: "DNSBL_" + strings.ToUpper(strings.ReplaceAll(r.Zone, ".", "_")), Detail: fmt.Sprint(r.Zone, " ", r.Codes)})
		case r.Err != nil:
			v.add(Check{Name: "dnsbl", Result: "skipped", Detail: r.Err.Error()})
		}
	}
}

// greylisted defers the transaction when a triplet is new.
func (v *verdict) greylisted(ctx context.Context, rcpts []Recipient) bool {
	if v.c.greylist == nil {
		return false
	}
	for _, r := range rcpts {
		d, err := v.c.greylist.Check(ctx, v.env.IP, v.env.MailFrom, r.Address)
		if err != nil {
			v.add(Check{Name: "greylist", Result: "skipped", Detail: err.Error()})
			return false
		}
		if !d.Pass {
			v.add(Check{Name: "greylist", Result: "deferred", Detail: r.Address})
			v.refuse(TempFail, 451, "4.7.1", fmt.Sprintf("Greylisted: try again in %d seconds", int(d.RetryAfter.Seconds())+1))
			return true
		}
	}
	v.add(Check{Name: "greylist", Result: "pass"})
	return false
}

// askRspamd adds rspamd's score and follows its reject and soft reject;
// an rspamd that fails is skipped.
func (v *verdict) askRspamd(ctx context.Context, rcpts []Recipient, msg Message) (junk, done bool) {
	if v.c.rspamd == nil {
		return false, false
	}
	req := &rspamd.Request{
		IP: v.env.IP, Helo: v.env.HELO, Hostname: v.IPRev.Name, From: v.env.MailFrom,
		QueueID: v.env.QueueID, MTAName: v.c.opts.Hostname,
		Message: io.MultiReader(bytes.NewReader(msg.Header), msg.body()),
		Size:    int64(len(msg.Header)) + msg.BodySize,
	}
	for _, r := range rcpts {
		req.Rcpt = append(req.Rcpt, r.Address)
	}
	res, err := v.c.rspamd.Check(ctx, req)
	if err != nil {
		v.add(Check{Name: "rspamd", Result: "skipped", Detail: err.Error()})
		return false, false
	}
	v.add(Check{Name: "rspamd", Result: string(res.Action), Score: res.Score, Symbol: "RSPAMD",
		Detail: fmt.Sprintf("score %.2f of %.2f", res.Score, res.RequiredScore)})
	switch res.Action {
	case rspamd.Reject:
		v.refuse(Reject, 550, "5.7.1", "Message refused as spam")
		return false, true
	case rspamd.SoftReject:
		v.refuse(TempFail, 451, "4.7.1", "Message deferred by the spam filter; try again later")
		return false, true
	case rspamd.AddHeader, rspamd.RewriteSubject:
		return true, false
	}
	return false, false
}

// perRecipient adds each account's classifier score and correspondents.
func (v *verdict) perRecipient(ctx context.Context, msg Message, authors []string, tokensCh <-chan []uint64) {
	var tokens []uint64
	author := ""
	if v.c.rep != nil && len(authors) == 1 && v.authorAuthenticated() {
		author = authorAddress(msg.Header)
	}
	scored := map[string][]Check{}
	for i := range v.Recipients {
		rv := &v.Recipients[i]
		if rv.Account == "" {
			continue
		}
		checks, seen := scored[rv.Account]
		if !seen {
			if v.c.bayes != nil {
				if tokens == nil {
					tokens = <-tokensCh
				}
				checks = append(checks, v.classify(ctx, rv.Account, tokens))
			}
			if author != "" {
				checks = append(checks, v.reputation(ctx, rv.Account, author))
			}
			scored[rv.Account] = checks
			for _, ch := range checks {
				v.add(ch)
			}
		}
		for _, ch := range checks {
			rv.Score += ch.Score
		}
	}
}

func (v *verdict) classify(ctx context.Context, account string, tokens []uint64) Check {
	s, err := v.c.bayes.ClassifyTokens(ctx, account, tokens)
	ch := Check{Name: "bayes", Recipient: account}
	switch {
	case err != nil:
		ch.Result, ch.Detail = "skipped", err.Error()
	case !s.Trained:
		ch.Result = "untrained"
	default:
		ch.Score = bayesScore(s.Probability)
		ch.Result = fmt.Sprintf("%.3f", s.Probability)
		ch.Detail = fmt.Sprintf("probability %.3f from %d of %d tokens", s.Probability, s.Clues, s.Tokens)
		if ch.Score > 0 {
			ch.Symbol = "BAYES_SPAM"
		} else if ch.Score < 0 {
			ch.Symbol = "BAYES_HAM"
		}
	}
	return ch
}

func (v *verdict) reputation(ctx context.Context, account, author string) Check {
	ch := Check{Name: "reputation", Recipient: account, Result: "unknown"}
	addr, domain, err := v.c.rep.Known(ctx, account, author)
	switch {
	case err != nil:
		ch.Result, ch.Detail = "skipped", err.Error()
	case addr:
		ch.Result, ch.Score, ch.Symbol, ch.Detail = "known address", scoreKnownAddr, "KNOWN_SENDER", author
	case domain:
		ch.Result, ch.Score, ch.Symbol, ch.Detail = "known domain", scoreKnownDomain, "KNOWN_DOMAIN", author
	}
	return ch
}

// authorAuthenticated reports whether every author domain passed DMARC, or,
// without a DMARC record, SPF or DKIM aligned with it: only then is the From
// address worth looking up among the correspondents.
func (v *verdict) authorAuthenticated() bool {
	for _, e := range v.DMARC {
		if e.Result != dmarc.Pass && !e.SPFAligned && !e.DKIMAligned {
			return false
		}
	}
	return len(v.DMARC) > 0
}

// decide totals the scores: refused when every recipient is at or above
// the reject score, else accepted, in Junk for those at or above the junk
// score (or all of them when a policy or rspamd said so).
func (v *verdict) decide(junkAll bool) *Verdict {
	opts := v.c.opts
	var txSymbols []string
	for _, ch := range v.Checks {
		if ch.Score != 0 && ch.Symbol != "" && ch.Recipient == "" {
			txSymbols = append(txSymbols, ch.Symbol)
		}
	}
	allReject := len(v.Recipients) > 0
	for i := range v.Recipients {
		rv := &v.Recipients[i]
		rv.Score += v.Score
		allReject = allReject && rv.Score >= opts.RejectScore
	}
	if allReject {
		return v.refuse(Reject, 550, "5.7.1", fmt.Sprintf("Message refused as spam (score %.1f)", v.Recipients[0].Score))
	}
	for i := range v.Recipients {
		rv := &v.Recipients[i]
		rv.Junk = junkAll || rv.Score >= opts.JunkScore
		symbols := append([]string(nil), txSymbols...)
		for _, ch := range v.Checks {
			if ch.Recipient == rv.Account && rv.Account != "" && ch.Score != 0 && ch.Symbol != "" {
				symbols = append(symbols, ch.Symbol)
			}
		}
		rv.SpamFields = spamFields(rv.Score, opts.JunkScore, rv.Junk, symbols)
	}
	return v.Verdict
}
