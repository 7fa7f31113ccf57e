package inbound

import (
	"slices"
	"strings"

	"postern/mailaddr"
	"postern/mailauth/dkimverify"
	"postern/mailauth/dmarc"
	"postern/mailauth/spf"
	"postern/mimeinfo"
)

// authorDomains returns the distinct domains of the addresses in the From
// fields of header (RFC 7489 §6.6.1), normalized, and how many From fields
// there are. An address literal or a group without members gives none.
func authorDomains(header []byte) (domains []string, fields int) {
	for name, raw := range mimeinfo.Fields(header) {
		if !strings.EqualFold(string(name), "From") {
			continue
		}
		fields++
		for _, a := range mimeinfo.AddressList(mimeinfo.FieldValue(raw)) {
			if d, ok := dmarc.Normalize(a.Host); ok && !slices.Contains(domains, d) {
				domains = append(domains, d)
			}
		}
	}
	return domains, fields
}

// authorAddress returns the single From address of header, lower case;
// "" when there is not exactly one.
func authorAddress(header []byte) string {
	var out []string
	for name, raw := range mimeinfo.Fields(header) {
		if strings.EqualFold(string(name), "From") {
			for _, a := range mimeinfo.AddressList(mimeinfo.FieldValue(raw)) {
				out = append(out, strings.ToLower(a.Mailbox+"@"+a.Host))
			}
		}
	}
	if len(out) != 1 {
		return ""
	}
	return out[0]
}

func (v *verdict) checkDKIM() {
	if len(v.DKIM) == 0 {
		v.add(Check{Name: "dkim", Result: "none"})
		return
	}
	pass := false
	for _, s := range v.DKIM {
		pass = pass || s.Result == dkimverify.Pass
		v.add(Check{Name: "dkim", Result: string(s.Result), Detail: s.Domain + " " + s.Reason})
	}
	if !pass {
		v.add(Check{Name: "dkim", Result: "no valid signature", Score: scoreDKIMFail, Symbol: "DKIM_INVALID"})
	}
}

// aligned reports whether SPF passed or a DKIM signature verified for a
// domain aligned with d (relaxed), and whether a temporary error stood in
// for such a result.
func (v *verdict) aligned(d string) (pass, temp bool) {
	if sd, ok := dmarc.Normalize(v.SPF.Domain); ok && dmarc.Aligned(sd, d, dmarc.Relaxed) {
		pass = v.SPF.Result == spf.Pass
		temp = v.SPF.Result == spf.TempError
	}
	for _, s := range v.DKIM {
		if dmarc.Aligned(s.Domain, d, dmarc.Relaxed) {
			pass = pass || s.Result == dkimverify.Pass
			temp = temp || s.Result == dkimverify.TempError
		}
	}
	return pass, temp
}

// ownDomains refuses mail from outside that claims one of our domains, in
// From or MAIL FROM, without SPF or aligned DKIM to back it: whatever
// DMARC record is published, our own users' mail comes through us.
func (v *verdict) ownDomains(authors []string) (done bool) {
	var claimed []string
	for _, d := range authors {
		if v.c.ours[d] {
			claimed = append(claimed, d)
		}
	}
	if _, d, ok := mailaddr.Split(v.env.MailFrom); ok {
		if d, ok := dmarc.Normalize(d); ok && v.c.ours[d] && !slices.Contains(claimed, d) {
			claimed = append(claimed, d)
		}
	}
	for _, d := range claimed {
		pass, temp := v.aligned(d)
		switch {
		case pass:
			v.add(Check{Name: "own-domain", Result: "pass", Detail: d})
		case temp:
			v.add(Check{Name: "own-domain", Result: "temperror", Detail: d})
			v.refuse(TempFail, 451, "4.7.0", "Temporary DNS failure authenticating "+d+"; try again later")
			return true
		default:
			v.add(Check{Name: "own-domain", Result: "fail", Detail: d + ": neither SPF nor DKIM passed for it"})
			v.refuse(Reject, 550, "5.7.1", "Mail from "+d+" must come through its own server: neither SPF nor DKIM passed for it")
			return true
		}
	}
	return false
}

// applyDMARC applies the strictest outcome over the author domains
// (RFC 7489 §6.6.1). With [checks] dmarc_enforce off, failures only score.
func (v *verdict) applyDMARC() (junk, done bool) {
	for _, e := range v.DMARC {
		ch := Check{Name: "dmarc", Result: string(e.Result), Detail: e.Domain + " " + e.Reason}
		switch {
		case e.Result == dmarc.Fail && e.Policy == dmarc.None:
			ch.Score, ch.Symbol = scoreDMARCNone, "DMARC_POLICY_NONE_FAIL"
		case e.Result == dmarc.Fail && !v.c.opts.DMARCEnforce:
			ch.Score, ch.Symbol = scoreDMARCFail, "DMARC_FAIL"
		}
		v.add(ch)
	}
	if !v.c.opts.DMARCEnforce {
		return false, false
	}
	for _, e := range v.DMARC {
		if e.Result == dmarc.Fail && e.Disposition == dmarc.Reject {
			v.refuse(Reject, 550, "5.7.1", "The DMARC policy of "+e.Domain+" rejects this message: neither SPF nor DKIM passed aligned with it")
			return false, true
		}
	}
	for _, e := range v.DMARC {
		// RFC 7489 §6.6.2: a temporary error instead of an aligned pass
		// leaves the policy unapplied; ask again rather than guess,
		// unless the policy is known to be none.
		if e.Result == dmarc.TempError && (e.Record == nil || e.Policy != dmarc.None) {
			v.refuse(TempFail, 451, "4.7.0", "Temporary DNS failure checking the DMARC policy of "+e.Domain+"; try again later")
			return false, true
		}
	}
	for _, e := range v.DMARC {
		if e.Result == dmarc.Fail && e.Disposition == dmarc.Quarantine {
			junk = true
		}
	}
	return junk, false
}
