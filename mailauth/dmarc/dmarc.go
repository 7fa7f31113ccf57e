// Package dmarc evaluates the DMARC policy of the author domain of a message
// (RFC 7489): policy discovery with the fall-back to the organizational
// domain (§6.6.3), identifier alignment of the SPF and DKIM results, relaxed
// or strict (§3.1), the subdomain policy sp= and sampling by pct= (§6.6.4).
//
// Where it departs from RFC 7489: reports (rua=, ruf=) are parsed but never
// sent; np=, psd= and t= of the DMARCbis tree walk are ignored; v=DMARC1 is
// accepted in any letter case. Handling messages with several authors is the
// caller's (Evaluate takes one author domain; §6.6.1).
package dmarc

import (
	"context"
	"math/rand/v2"
	"strings"

	"golang.org/x/net/publicsuffix"

	"postern/mailaddr"
	"postern/mailauth/dkimverify"
	"postern/mailauth/spf"
	"postern/resolver"
)

// Result is a DMARC result (RFC 8601 §2.7.1 via RFC 7489 §11.2).
type Result string

// The results.
const (
	ResultNone Result = "none"
	Pass       Result = "pass"
	Fail       Result = "fail"
	TempError  Result = "temperror"
)

// TXTResolver looks up TXT records; *resolver.Resolver is one.
type TXTResolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
}

// Evaluation is the DMARC outcome for one author domain.
type Evaluation struct {
	Result Result
	// Domain is the author domain evaluated, lower-case A-labels.
	Domain string
	// OrgDomain is Domain's organizational domain (RFC 7489 §3.2).
	OrgDomain string
	// PolicyDomain is where the record was found: Domain or OrgDomain.
	PolicyDomain string
	// Record is the policy record; nil when none was found.
	Record *Record
	// Policy is the policy that applies to Domain: p=, or sp= for a
	// subdomain of the organizational domain that published the record.
	Policy Policy
	// Disposition is what the domain owner asks to be done with this
	// message: Policy for a failing message selected by pct=, the next
	// milder policy for one not selected (§6.6.4), None otherwise.
	Disposition Policy
	// SPFAligned and DKIMAligned tell whether a passing SPF result or DKIM
	// signature is aligned with Domain (relaxed when there is no record).
	SPFAligned, DKIMAligned bool
	// Reason explains a result other than pass, for logs.
	Reason string
}

// Evaluate discovers the policy of the author domain fromDomain and applies
// it to the SPF outcome and DKIM signatures of the message. rnd(n) returns a
// number in [0, n) for pct= sampling; nil means math/rand/v2.
func Evaluate(ctx context.Context, r TXTResolver, fromDomain string, s spf.Outcome, sigs []dkimverify.Signature, rnd func(int) int) Evaluation {
	ev := Evaluation{Result: ResultNone, Disposition: None}
	domain, ok := Normalize(fromDomain)
	if !ok {
		ev.Reason = "author domain is not a domain name"
		return ev
	}
	ev.Domain = domain
	ev.OrgDomain = OrgDomain(domain)

	spfMode, dkimMode := Relaxed, Relaxed
	rec, at, reason, temp := discover(ctx, r, domain, ev.OrgDomain)
	if rec != nil {
		spfMode, dkimMode = rec.SPF, rec.DKIM
	}
	spfTemp := false
	if d, ok := Normalize(s.Domain); ok && Aligned(d, domain, spfMode) {
		ev.SPFAligned = s.Result == spf.Pass
		spfTemp = s.Result == spf.TempError
	}
	dkimTemp := false
	for _, sig := range sigs {
		if d, ok := Normalize(sig.Domain); ok && Aligned(d, domain, dkimMode) {
			ev.DKIMAligned = ev.DKIMAligned || sig.Result == dkimverify.Pass
			dkimTemp = dkimTemp || sig.Result == dkimverify.TempError
		}
	}

	switch {
	case temp:
		// The policy is unknown; an identifier aligned even in strict mode
		// passes whatever it says.
		if s.Result == spf.Pass && strings.EqualFold(strings.TrimSuffix(s.Domain, "."), domain) || strictDKIMPass(sigs, domain) {
			ev.Result = Pass
			return ev
		}
		ev.Result, ev.Reason = TempError, reason
		return ev
	case rec == nil:
		ev.Reason = reason
		return ev
	}
	ev.Record, ev.PolicyDomain = rec, at
	ev.Policy = rec.Policy
	if at != domain {
		ev.Policy = rec.SubdomainPolicy
	}
	switch {
	case ev.SPFAligned || ev.DKIMAligned:
		ev.Result = Pass
	case spfTemp || dkimTemp:
		// RFC 7489 §6.6.2: with a temporary error and no aligned pass,
		// the policy cannot be applied.
		ev.Result, ev.Reason = TempError, "no aligned pass and a temporary DNS error in SPF or DKIM"
	default:
		ev.Result, ev.Reason = Fail, "neither SPF nor DKIM passed aligned with "+domain
		ev.Disposition = ev.Policy
		if rec.Percent < 100 {
			if rnd == nil {
				rnd = rand.IntN
			}
			if rnd(100) >= rec.Percent {
				ev.Disposition = milder(ev.Policy)
			}
		}
	}
	return ev
}

func strictDKIMPass(sigs []dkimverify.Signature, domain string) bool {
	for _, sig := range sigs {
		if sig.Result == dkimverify.Pass && sig.Domain == domain {
			return true
		}
	}
	return false
}

// milder is the policy applied to failing mail left out by pct= (§6.6.4).
func milder(p Policy) Policy {
	if p == Reject {
		return Quarantine
	}
	return None
}

// discover finds the policy record of domain, else of its organizational
// domain (RFC 7489 §6.6.3). temp reports a DNS failure that may go away.
func discover(ctx context.Context, r TXTResolver, domain, org string) (rec *Record, at, reason string, temp bool) {
	names := []string{domain}
	if org != domain {
		names = append(names, org)
	}
	for _, name := range names {
		txts, err := r.LookupTXT(ctx, "_dmarc."+name)
		if err != nil && resolver.IsTemporary(err) {
			return nil, name, "DNS failure looking up _dmarc." + name, true
		}
		var recs []string
		for _, t := range txts {
			if _, err := ParseRecord(t); err != ErrNotDMARC {
				recs = append(recs, t)
			}
		}
		switch len(recs) {
		case 0:
			continue
		case 1:
			rec, err := ParseRecord(recs[0])
			if err != nil {
				return nil, name, "_dmarc." + name + " has no valid policy", false
			}
			return rec, name, "", false
		default:
			return nil, name, "_dmarc." + name + " has several DMARC records", false
		}
	}
	return nil, "", "no DMARC record", false
}

// Aligned reports whether two domains are aligned in mode: equal (strict),
// or with the same organizational domain (relaxed) (RFC 7489 §3.1). Both
// must be normalized already (Normalize).
func Aligned(a, b string, mode Alignment) bool {
	if a == b {
		return true
	}
	return mode == Relaxed && OrgDomain(a) == OrgDomain(b)
}

// Normalize returns a domain in lower-case A-labels without a trailing dot
// (RFC 7489 §6.6.1), or false for what is not a domain name (an address
// literal, an empty or malformed name).
func Normalize(domain string) (string, bool) {
	d, err := mailaddr.ParseDomain(domain)
	if err != nil || strings.HasPrefix(d, "[") {
		return "", false
	}
	return d, true
}

// OrgDomain returns the organizational domain of a normalized domain
// (RFC 7489 §3.2): the public suffix plus one label, from the public suffix
// list compiled into golang.org/x/net/publicsuffix. A public suffix is its
// own organizational domain.
func OrgDomain(domain string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(domain)
	if err != nil {
		return domain
	}
	return org
}
