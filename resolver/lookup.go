package resolver

import (
	"context"
	"net"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// LookupTXT returns the TXT records of name, the strings of each record
// joined into one (RFC 7208 §3.3, RFC 6376 §3.6.2.2), as *net.Resolver does.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	ans, err := r.lookup(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	out := make([]string, 0, len(ans.Records))
	for _, rr := range ans.Records {
		out = append(out, strings.Join(rr.(*dns.TXT).Txt, ""))
	}
	return out, nil
}

// TXTFunc returns a TXT lookup without a context argument, for go-msgauth's
// dkim.VerifyOptions.LookupTXT and dmarc.LookupOptions.LookupTXT: the lookup
// ends with ctx. Its errors report Temporary() for server failures and
// timeouts, which those packages turn into temperror rather than permerror.
func (r *Resolver) TXTFunc(ctx context.Context) func(domain string) ([]string, error) {
	return func(domain string) ([]string, error) { return r.LookupTXT(ctx, domain) }
}

// LookupMX returns the MX records of name sorted by preference, as
// *net.Resolver does. Host names keep their trailing dot; a null MX (RFC 7505)
// is returned as the host ".".
func (r *Resolver) LookupMX(ctx context.Context, name string) ([]*net.MX, error) {
	ans, err := r.lookup(ctx, name, dns.TypeMX)
	if err != nil {
		return nil, err
	}
	out := make([]*net.MX, 0, len(ans.Records))
	for _, rr := range ans.Records {
		mx := rr.(*dns.MX)
		out = append(out, &net.MX{Host: strings.ToLower(mx.Mx), Pref: mx.Preference})
	}
	slices.SortStableFunc(out, func(a, b *net.MX) int { return int(a.Pref) - int(b.Pref) })
	return out, nil
}

// LookupIPAddr returns the IPv4 and IPv6 addresses of host, asking for A and
// AAAA at once. An address literal is returned as is. One family failing
// while the other answers is not an error.
func (r *Resolver) LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []net.IPAddr{{IP: net.IP(ip.AsSlice()), Zone: ip.Zone()}}, nil
	}
	type result struct {
		ans *Answer
		err *net.DNSError
	}
	ch := make(chan result, 1)
	go func() {
		ans, err := r.lookup(ctx, host, dns.TypeAAAA)
		ch <- result{ans, err}
	}()
	a, aerr := r.lookup(ctx, host, dns.TypeA)
	aaaa := <-ch
	var out []net.IPAddr
	if a != nil {
		for _, rr := range a.Records {
			out = append(out, net.IPAddr{IP: rr.(*dns.A).A})
		}
	}
	if aaaa.ans != nil {
		for _, rr := range aaaa.ans.Records {
			out = append(out, net.IPAddr{IP: rr.(*dns.AAAA).AAAA})
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	// Both failed: a temporary failure of either wins over "not found",
	// since the address may exist.
	switch {
	case aerr != nil && (aerr.IsTemporary || aerr.IsTimeout):
		return nil, aerr
	case aaaa.err != nil && (aaaa.err.IsTemporary || aaaa.err.IsTimeout):
		return nil, aaaa.err
	case aerr != nil:
		return nil, aerr
	case aaaa.err != nil:
		return nil, aaaa.err
	}
	return nil, notFound(host, "")
}

// LookupAddr returns the names of an address (PTR records of its reverse
// name), with trailing dots, as *net.Resolver does. Names that are not host
// names are left out.
func (r *Resolver) LookupAddr(ctx context.Context, addr string) ([]string, error) {
	ip, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &net.DNSError{Err: "unrecognized address", Name: addr}
	}
	rev, _ := dns.ReverseAddr(ip.Unmap().String())
	ans, derr := r.lookup(ctx, rev, dns.TypePTR)
	if derr != nil {
		return nil, derr
	}
	var out []string
	for _, rr := range ans.Records {
		if name, ok := normalize(rr.(*dns.PTR).Ptr); ok {
			out = append(out, name)
		}
	}
	if len(out) == 0 {
		return nil, notFound(addr, "")
	}
	return out, nil
}

// toASCII converts an internationalized domain name to A-labels (RFC 5891).
func toASCII(name string) (string, error) {
	return idna.Lookup.ToASCII(name)
}

// LookupNetIP returns the addresses of host for network "ip4" (A records),
// "ip6" (AAAA) or "ip" (both), as *net.Resolver does.
func (r *Resolver) LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error) {
	var qtype uint16
	switch network {
	case "ip4":
		qtype = dns.TypeA
	case "ip6":
		qtype = dns.TypeAAAA
	case "ip":
		ips, err := r.LookupIPAddr(ctx, host)
		if err != nil {
			return nil, err
		}
		out := make([]netip.Addr, 0, len(ips))
		for _, ip := range ips {
			if a, ok := netip.AddrFromSlice(ip.IP); ok {
				out = append(out, a.Unmap())
			}
		}
		return out, nil
	default:
		return nil, &net.DNSError{Err: "unknown network " + network, Name: host}
	}
	ans, err := r.lookup(ctx, host, qtype)
	if err != nil {
		return nil, err
	}
	out := make([]netip.Addr, 0, len(ans.Records))
	for _, rr := range ans.Records {
		var ip net.IP
		switch rr := rr.(type) {
		case *dns.A:
			ip = rr.A
		case *dns.AAAA:
			ip = rr.AAAA
		}
		if a, ok := netip.AddrFromSlice(ip); ok {
			out = append(out, a.Unmap())
		}
	}
	return out, nil
}
