package dmarc

import (
	"errors"
	"net/url"
	"strconv"
	"strings"
)

// Policy is a requested handling of failing mail (RFC 7489 §6.3 p=, sp=).
type Policy string

// The policies.
const (
	None       Policy = "none"
	Quarantine Policy = "quarantine"
	Reject     Policy = "reject"
)

// Alignment is an identifier alignment mode (RFC 7489 §3.1).
type Alignment byte

// The modes.
const (
	Relaxed Alignment = 'r'
	Strict  Alignment = 's'
)

// Record is a parsed DMARC policy record.
type Record struct {
	Policy Policy
	// SubdomainPolicy is sp=, or Policy when sp= is absent.
	SubdomainPolicy Policy
	DKIM, SPF       Alignment
	// Percent is pct=: the share of failing mail the policy applies to.
	Percent int
	// AggregateURIs (rua=) and FailureURIs (ruf=) are the valid report URIs.
	AggregateURIs, FailureURIs []string
	// FailureOptions is fo=, as written.
	FailureOptions string
	// ReportInterval is ri= in seconds.
	ReportInterval int
}

// Errors of ParseRecord.
var (
	// ErrNotDMARC: the text does not start with v=DMARC1 and is to be
	// discarded (RFC 7489 §6.6.3 steps 2 and 4).
	ErrNotDMARC = errors.New("dmarc: not a DMARC record")
	// ErrNoPolicy: a DMARC record without a valid p= (or with an invalid
	// sp=) and without a valid rua=: no DMARC processing (§6.6.3 step 6).
	ErrNoPolicy = errors.New("dmarc: record has no valid policy")
)

// ParseRecord parses a DMARC record (RFC 7489 §6.4) as leniently as §6.6.3
// allows: tag names and values are case-insensitive, unknown tags are
// ignored, a tag that repeats keeps its first value, a malformed optional
// tag takes its default (pct= out of 0..100 is 100), a missing or malformed
// p= (or a malformed sp=) gives p=none when rua= names a valid URI, and
// ErrNoPolicy otherwise. Text not starting with v=DMARC1 is ErrNotDMARC.
func ParseRecord(txt string) (*Record, error) {
	tags := strings.Split(txt, ";")
	name, value, ok := strings.Cut(tags[0], "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(name), "v") || !strings.EqualFold(strings.TrimSpace(value), "DMARC1") {
		return nil, ErrNotDMARC
	}
	rec := &Record{DKIM: Relaxed, SPF: Relaxed, Percent: 100, ReportInterval: 86400}
	seen := map[string]bool{}
	var p, sp string
	var hasSP bool
	for _, t := range tags[1:] {
		name, value, ok := strings.Cut(t, "=")
		if !ok {
			continue
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		if seen[name] {
			continue
		}
		seen[name] = true
		switch name {
		case "p":
			p = value
		case "sp":
			sp, hasSP = value, true
		case "adkim":
			rec.DKIM = alignment(value)
		case "aspf":
			rec.SPF = alignment(value)
		case "pct":
			if n, err := strconv.Atoi(value); err == nil && n >= 0 && n <= 100 {
				rec.Percent = n
			}
		case "rua":
			rec.AggregateURIs = reportURIs(value)
		case "ruf":
			rec.FailureURIs = reportURIs(value)
		case "fo":
			rec.FailureOptions = value
		case "ri":
			if n, err := strconv.ParseUint(value, 10, 32); err == nil {
				rec.ReportInterval = int(n)
			}
		}
	}
	policy, pOK := parsePolicy(p)
	sub, spOK := parsePolicy(sp)
	if !hasSP {
		sub, spOK = policy, true
	}
	if !pOK || !spOK {
		// RFC 7489 §6.6.3 step 6.
		if len(rec.AggregateURIs) == 0 {
			return nil, ErrNoPolicy
		}
		policy, sub = None, None
	}
	rec.Policy, rec.SubdomainPolicy = policy, sub
	return rec, nil
}

func parsePolicy(s string) (Policy, bool) {
	switch p := Policy(strings.ToLower(s)); p {
	case None, Quarantine, Reject:
		return p, true
	}
	return "", false
}

func alignment(s string) Alignment {
	if strings.EqualFold(s, "s") {
		return Strict
	}
	return Relaxed
}

// reportURIs returns the valid URIs of a comma-separated DMARC URI list
// (RFC 7489 §6.4), each without its optional "!size" suffix.
func reportURIs(s string) []string {
	var out []string
	for u := range strings.SplitSeq(s, ",") {
		u = strings.TrimSpace(u)
		if i := strings.LastIndexByte(u, '!'); i >= 0 {
			u = u[:i]
		}
		parsed, err := url.Parse(u)
		if err != nil || parsed.Scheme == "" || parsed.Opaque == "" && parsed.Host == "" {
			continue
		}
		out = append(out, u)
	}
	return out
}
