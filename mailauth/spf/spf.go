// Package spf checks whether a client may send mail for the domain of the
// envelope sender (RFC 7208), with blitiri.com.ar/go/spf evaluating the
// records and our resolver answering its queries.
//
// The identity checked is the MAIL FROM address; when MAIL FROM is empty (a
// bounce), it is postmaster@ the HELO name (RFC 7208 §2.4), so that macros
// such as %{l} and %{s} expand. The limits of RFC 7208 §4.6.4 apply: at most
// 10 terms that cause DNS lookups, at most 2 lookups that find nothing, at
// most 10 MX and 10 PTR names per term; an include or redirect loop ends on
// the first limit. The whole evaluation ends with the context, and at the
// latest after Timeout (RFC 7208 §4.6.4 asks for at least 20 seconds).
//
// Where it departs from RFC 7208: exp= is never fetched (§6.2 makes the
// explanation optional and it costs a lookup for text nobody reads), and a
// HELO name is checked only when MAIL FROM is empty (§2.3 leaves the HELO
// check optional), and a syntax error in a record after the term that matched
// goes unseen, since terms are evaluated from left to right (§4.6 asks for
// permerror on any syntax error in the record).
package spf

import (
	"context"
	"net"
	"strings"
	"time"

	blitiri "blitiri.com.ar/go/spf"
)

// Result is an SPF result (RFC 7208 §2.6), spelt as in Authentication-Results.
type Result string

// The results of RFC 7208 §2.6.
const (
	None      Result = "none"
	Neutral   Result = "neutral"
	Pass      Result = "pass"
	Fail      Result = "fail"
	SoftFail  Result = "softfail"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// Timeout bounds one evaluation when the context allows longer.
const Timeout = 20 * time.Second

// Identity says which identity was checked (RFC 7208 §2.3, §2.4).
type Identity string

// The identities.
const (
	MailFrom Identity = "mailfrom"
	HELO     Identity = "helo"
)

// Resolver answers the queries of an evaluation. *resolver.Resolver is one.
// Its errors must be bare *net.DNSError values: the SPF library tells a
// temporary failure (temperror) from a missing record only by asserting that
// type, and takes anything else for a permanent error.
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// Outcome is the result of one SPF evaluation.
type Outcome struct {
	Result   Result
	Identity Identity
	// Sender is the address evaluated: MAIL FROM, or postmaster@HELO.
	Sender string
	// Domain is the domain whose policy was evaluated, lower case; "" when
	// there was nothing to evaluate.
	Domain string
	// Reason says why, for logs: which term matched, which limit was hit.
	Reason string
}

// Check evaluates SPF for a client at ip that said helo and sent mailFrom
// (without angle brackets; "" for the null sender).
func Check(ctx context.Context, r Resolver, ip net.IP, helo, mailFrom string) Outcome {
	out := Outcome{Identity: MailFrom, Sender: mailFrom}
	if mailFrom == "" {
		out.Identity = HELO
		out.Sender = "postmaster@" + helo
	}
	_, domain := splitAddress(out.Sender)
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	if !checkable(domain) {
		// RFC 7208 §4.3: a malformed or single-label domain gives none.
		// An address literal names no domain to ask.
		out.Result = None
		out.Reason = "no domain to check"
		return out
	}
	out.Domain = domain
	if ip == nil || ip.To16() == nil {
		out.Result = PermError
		out.Reason = "no client address"
		return out
	}
	if ip4 := ip.To4(); ip4 != nil {
		ip = ip4 // so that an IPv4-mapped address matches ip4: terms (RFC 7208 §5)
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	res, err := blitiri.CheckHostWithSender(ip, helo, localOf(out.Sender)+"@"+domain,
		blitiri.WithContext(ctx), blitiri.WithResolver(r))
	out.Result = Result(res)
	if err != nil {
		out.Reason = err.Error()
	}
	return out
}

// Pending is an SPF evaluation running in the background, started when
// MAIL FROM arrives so that its lookups overlap the DATA transfer.
type Pending struct {
	done chan struct{}
	out  Outcome
}

// Start begins Check in the background. Its context bounds the evaluation.
func Start(ctx context.Context, r Resolver, ip net.IP, helo, mailFrom string) *Pending {
	p := &Pending{done: make(chan struct{})}
	go func() {
		p.out = Check(ctx, r, ip, helo, mailFrom)
		close(p.done)
	}()
	return p
}

// Wait returns the outcome, or temperror if ctx ends first.
func (p *Pending) Wait(ctx context.Context) Outcome {
	select {
	case <-p.done:
		return p.out
	case <-ctx.Done():
		return Outcome{Result: TempError, Reason: "SPF evaluation did not finish in time"}
	}
}

// splitAddress splits an address at its last '@'.
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// localOf returns the local part for macro expansion. RFC 7208 §4.3 puts
// "postmaster" in place of a missing one; a quoted local part holding '@'
// gets it too, since the library splits the sender at its first '@'.
func localOf(addr string) string {
	l, _ := splitAddress(addr)
	if l == "" || strings.Contains(l, "@") {
		return "postmaster"
	}
	return l
}

// checkable reports whether domain is a multi-label domain name whose labels
// are 1 to 63 octets, the only kind SPF evaluates (RFC 7208 §4.3).
func checkable(domain string) bool {
	if len(domain) == 0 || len(domain) > 253 || !strings.Contains(domain, ".") {
		return false
	}
	for l := range strings.SplitSeq(domain, ".") {
		if len(l) == 0 || len(l) > 63 {
			return false
		}
	}
	return !strings.HasPrefix(domain, "[")
}
