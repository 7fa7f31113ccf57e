// Package dnsbl asks DNS block lists whether a client address is listed
// (RFC 5782 §2.1): the address, reversed, under the list's zone.
//
// Only the answer codes a list documents as listings count. Lists also
// answer with codes that mean an error: Spamhaus answers 127.255.255.254 to
// queries that come through a public resolver, and counting that as a
// listing would block all mail. A list not in the table of known lists
// counts 127.0.0.2 to 127.0.0.255 (RFC 5782 §2.3 lists in 127.0.0.0/8 and
// never lists 127.0.0.1, §5); other answers are reported as errors.
package dnsbl

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"

	"postern/resolver"
)

// Resolver looks up addresses; *resolver.Resolver is one.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// List is one block list.
type List struct {
	// Zone is the list's DNS zone, e.g. "zen.spamhaus.org".
	Zone string
	// Codes are the answers that mean "listed"; nil means 127.0.0.2 to
	// 127.0.0.255.
	Codes []netip.Addr
}

// known are lists whose documented listing codes are narrower than the
// default, or whose other codes are errors.
var known = map[string][]string{
	// Spamhaus's return codes: https://docs.spamhaus.com/datasets/docs/source/10-data-type-documentation/datasets/040-zones.html
	// Answers in 127.255.255.0/24 are errors (a public resolver, too many
	// queries, a malformed query), never listings.
	"zen.spamhaus.org": {"127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.9", "127.0.0.10", "127.0.0.11", "127.0.0.30"},
	"sbl.spamhaus.org": {"127.0.0.2", "127.0.0.3", "127.0.0.9", "127.0.0.30"},
	"xbl.spamhaus.org": {"127.0.0.4"},
	"pbl.spamhaus.org": {"127.0.0.10", "127.0.0.11"},
	// Lists with the single code of RFC 5782 §2.3.
	"bl.spamcop.net":         {"127.0.0.2"},
	"b.barracudacentral.org": {"127.0.0.2"},
	"psbl.surriel.com":       {"127.0.0.2"},
}

// Lists returns the lists named by the [spam] dnsbl setting: zone names,
// with the codes of the lists this package knows.
func Lists(zones []string) ([]List, error) {
	var out []List
	for _, z := range zones {
		z = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(z), "."))
		if z == "" || strings.ContainsAny(z, " /:@") || !strings.Contains(z, ".") {
			return nil, fmt.Errorf("dnsbl: [spam] dnsbl: %q is not a DNS zone", z)
		}
		l := List{Zone: z}
		for _, c := range known[z] {
			l.Codes = append(l.Codes, netip.MustParseAddr(c))
		}
		out = append(out, l)
	}
	return out, nil
}

// Listed reports whether code is a listing of l.
func (l List) Listed(code netip.Addr) bool {
	if l.Codes != nil {
		return slices.Contains(l.Codes, code)
	}
	b := code.As16()
	return code.Is4() && b[12] == 127 && b[13] == 0 && b[14] == 0 && b[15] >= 2
}

// Result is the answer of one list.
type Result struct {
	Zone   string
	Listed bool
	// Codes are the list's answers, listings and others.
	Codes []netip.Addr
	// Err is set when the list could not be asked (a DNS failure) or
	// answered only with codes that are not listings.
	Err error
}

// Check asks every list about ip at once.
func Check(ctx context.Context, r Resolver, lists []List, ip netip.Addr) []Result {
	out := make([]Result, len(lists))
	name := reverse(ip.Unmap())
	var wg sync.WaitGroup
	for i, l := range lists {
		wg.Go(func() {
			res := Result{Zone: l.Zone}
			codes, err := r.LookupNetIP(ctx, "ip4", name+"."+l.Zone)
			switch {
			case err != nil && resolver.IsNotFound(err):
			case err != nil:
				res.Err = err
			default:
				res.Codes = codes
				for _, c := range codes {
					res.Listed = res.Listed || l.Listed(c)
				}
				if !res.Listed {
					res.Err = fmt.Errorf("dnsbl: %s answered %v, which is not a listing (an error code of the list?)", l.Zone, codes)
				}
			}
			out[i] = res
		})
	}
	wg.Wait()
	return out
}

// reverse returns the query name of an address without the zone: octets
// reversed for IPv4, nibbles reversed for IPv6 (RFC 5782 §2.1, §2.4).
func reverse(ip netip.Addr) string {
	var b strings.Builder
	if ip.Is4() {
		a := ip.As4()
		fmt.Fprintf(&b, "%d.%d.%d.%d", a[3], a[2], a[1], a[0])
		return b.String()
	}
	a := ip.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		if i < 15 {
			b.WriteByte('.')
		}
		b.WriteByte(hex[a[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[a[i]>>4])
	}
	return b.String()
}
