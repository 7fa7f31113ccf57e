package inbound

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"postern/mailauth/authres"
	"postern/mailauth/dkimverify"
	"postern/mailauth/dmarc"
	"postern/mailauth/spf"
	"postern/mimeinfo"
	"postern/spam/clientcheck"
)

// Action is what becomes of the transaction.
type Action int

// The actions.
const (
	// Accept: store for every recipient, in Junk for those marked so.
	Accept Action = iota
	// Reject: refuse at the end of DATA with Verdict.Code.
	Reject
	// TempFail: ask the client to try again later.
	TempFail
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "accept"
	case Reject:
		return "reject"
	case TempFail:
		return "tempfail"
	}
	return "action(" + strconv.Itoa(int(a)) + ")"
}

// Reply is an SMTP reply: code, enhanced status code (RFC 3463), text.
type Reply struct {
	Code   int
	Status string
	Text   string
}

func (r Reply) String() string { return fmt.Sprintf("%d %s %s", r.Code, r.Status, r.Text) }

// Verdict is the outcome of the checks of one transaction.
type Verdict struct {
	Action Action
	// Reply is the answer to DATA for Reject and TempFail.
	Reply Reply
	// Score is the part of the spam score common to all recipients.
	Score float64
	// AuthResults is the Authentication-Results field to add (with its
	// CRLF); "" for mail from an authenticated client.
	AuthResults string
	// Recipients are the verdicts per recipient, in the order given.
	Recipients []RecipientVerdict
	// Checks are what each check found, for logs and for the admin.
	Checks []Check

	// The results of sender authentication.
	SPF   spf.Outcome
	IPRev clientcheck.IPRev
	DKIM  []dkimverify.Signature
	// DMARC has one evaluation per author domain.
	DMARC []dmarc.Evaluation

	hostname string
}

// RecipientVerdict is the verdict for one recipient.
type RecipientVerdict struct {
	Recipient
	// Score is the whole spam score for this recipient: Verdict.Score plus
	// the account's classifier and correspondents.
	Score float64
	// Junk tells to file the message in the Junk mailbox with $Junk.
	Junk bool
	// SpamFields are the X-Spam-Score and X-Spam-Status fields to add.
	SpamFields string
}

// Check is what one check found.
type Check struct {
	// Name is the check: "spf", "dkim", "dmarc", "iprev", "helo", "dnsbl",
	// "own-domain", "greylist", "bayes", "reputation", "rspamd", "from".
	Name string
	// Result is its result in the check's own terms ("pass", "fail",
	// "listed", "skipped", ...).
	Result string
	// Score is what it added to the spam score (per recipient for bayes
	// and reputation).
	Score float64
	// Symbol names the score in X-Spam-Status tests=; "" when Score is 0.
	Symbol string
	// Recipient is the account a per-recipient check was for.
	Recipient string
	Detail    string
}

// Fields returns the header fields to add for recipient i, with their CRLFs:
// Authentication-Results and the spam fields.
func (v *Verdict) Fields(i int) string {
	if v.AuthResults == "" {
		return ""
	}
	return v.AuthResults + v.Recipients[i].SpamFields
}

// strippedFields are the fields we write: a copy arriving from outside
// would pass for ours.
var strippedFields = []string{"X-Spam-Score", "X-Spam-Status"}

// Header returns the header block to store for recipient i: our fields,
// then the received header without the fields that claim to be ours
// (Authentication-Results with our authserv-id, RFC 8601 §5, and
// X-Spam-Score/X-Spam-Status). Mail from an authenticated client keeps its
// header as it is.
func (v *Verdict) Header(i int, received []byte) []byte {
	if v.AuthResults == "" {
		return received
	}
	h := authres.Remove(received, v.hostname)
	if hasField(h, strippedFields) {
		h = mimeinfo.FilterHeader(h, strippedFields, true)
	}
	f := v.Fields(i)
	out := make([]byte, 0, len(f)+len(h))
	return append(append(out, f...), h...)
}

func hasField(h []byte, names []string) bool {
	for name := range mimeinfo.Fields(h) {
		for _, n := range names {
			if strings.EqualFold(string(name), n) {
				return true
			}
		}
	}
	return false
}

// spamFields writes X-Spam-Score and X-Spam-Status (in SpamAssassin's
// form, which mail clients and filters read) for one recipient.
func spamFields(score, junkScore float64, junk bool, symbols []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "X-Spam-Score: %.1f\r\n", score)
	yes := "No"
	if junk {
		yes = "Yes"
	}
	line := fmt.Sprintf("X-Spam-Status: %s, score=%.1f required=%.1f", yes, score, junkScore)
	b.WriteString(line)
	if len(symbols) > 0 {
		slices.Sort(symbols)
		symbols = slices.Compact(symbols)
		b.WriteString("\r\n\ttests=")
		n := len("\ttests=")
		for i, s := range symbols {
			if i > 0 {
				b.WriteByte(',')
				n++
				if n+len(s) > 76 {
					b.WriteString("\r\n\t")
					n = 1
				}
			}
			b.WriteString(s)
			n += len(s)
		}
	}
	b.WriteString("\r\n")
	return b.String()
}

// authResults builds the Authentication-Results field from the results.
func (v *Verdict) authResults(env Envelope) string {
	var rs []authres.Result
	if v.IPRev.Result != "" {
		rs = append(rs, authres.Result{Method: "iprev", Value: string(v.IPRev.Result),
			Props: []authres.Prop{{Type: "policy", Property: "iprev", Value: env.IP.String()}}})
	}
	if v.SPF.Result != "" {
		p := authres.Prop{Type: "smtp", Property: "mailfrom", Value: v.SPF.Sender}
		if v.SPF.Identity == spf.HELO {
			p = authres.Prop{Type: "smtp", Property: "helo", Value: env.HELO}
		}
		rs = append(rs, authres.Result{Method: "spf", Value: string(v.SPF.Result), Props: []authres.Prop{p}})
	}
	if len(v.DKIM) == 0 {
		rs = append(rs, authres.Result{Method: "dkim", Value: "none"})
	}
	for _, s := range v.DKIM {
		r := authres.Result{Method: "dkim", Value: string(s.Result), Props: []authres.Prop{
			{Type: "header", Property: "d", Value: s.Domain},
			{Type: "header", Property: "s", Value: s.Selector},
			{Type: "header", Property: "b", Value: s.HeaderB},
		}}
		if s.Result != dkimverify.Pass {
			r.Reason = s.Reason
		}
		rs = append(rs, r)
	}
	for _, e := range v.DMARC {
		r := authres.Result{Method: "dmarc", Value: string(e.Result), Props: []authres.Prop{{Type: "header", Property: "from", Value: e.Domain}}}
		if e.Result == dmarc.Fail {
			r.Reason = "p=" + string(e.Policy) + ", disposition " + string(e.Disposition)
		} else if e.Result != dmarc.Pass {
			r.Reason = e.Reason
		}
		rs = append(rs, r)
	}
	return authres.Field(v.hostname, rs)
}
