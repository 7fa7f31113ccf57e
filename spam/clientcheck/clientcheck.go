// Package clientcheck looks at who is connecting before looking at what it
// sends: whether the client address has a host name that resolves back to it
// (forward-confirmed reverse DNS, the iprev method of RFC 8601 §3), and
// whether its EHLO name is a plausible name for it (RFC 5321 §4.1.4).
package clientcheck

import (
	"context"
	"net"
	"net/netip"
	"strings"

	"postern/resolver"
)

// Resolver answers the lookups; *resolver.Resolver is one.
type Resolver interface {
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// IPRevResult is an iprev result (RFC 8601 §2.7.3).
type IPRevResult string

// The results.
const (
	IPRevPass      IPRevResult = "pass"
	IPRevFail      IPRevResult = "fail"
	IPRevTempError IPRevResult = "temperror"
	IPRevPermError IPRevResult = "permerror"
)

// maxPTR bounds the names checked forward, as SPF does (RFC 7208 §4.6.4).
const maxPTR = 10

// IPRev is the outcome of the reverse DNS check.
type IPRev struct {
	Result IPRevResult
	// Name is the first host name of the address that resolves back to it,
	// without the trailing dot; "" when none does.
	Name string
	// Names are the PTR names of the address.
	Names []string
	// HasPTR tells a missing PTR record from names that do not resolve back.
	HasPTR bool
	Reason string
}

// ReverseDNS checks that ip has a PTR name whose addresses include ip
// (RFC 8601 §3: pass; fail when there is no such name; temperror when DNS
// failed on the way).
func ReverseDNS(ctx context.Context, r Resolver, ip netip.Addr) IPRev {
	ip = ip.Unmap()
	names, err := r.LookupAddr(ctx, ip.String())
	switch {
	case err != nil && resolver.IsTemporary(err):
		return IPRev{Result: IPRevTempError, Reason: err.Error()}
	case err != nil:
		return IPRev{Result: IPRevFail, Reason: "no PTR record"}
	}
	out := IPRev{Result: IPRevFail, Names: names, HasPTR: true, Reason: "no PTR name resolves back to the address"}
	network := "ip6"
	if ip.Is4() {
		network = "ip4"
	}
	temp := false
	for _, n := range names[:min(len(names), maxPTR)] {
		addrs, err := r.LookupNetIP(ctx, network, n)
		if err != nil {
			temp = temp || resolver.IsTemporary(err)
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				out.Result, out.Name, out.Reason = IPRevPass, strings.TrimSuffix(n, "."), ""
				return out
			}
		}
	}
	if temp {
		out.Result, out.Reason = IPRevTempError, "DNS failure resolving the PTR names"
	}
	return out
}

// HELOProblem is something wrong with an EHLO name.
type HELOProblem string

// The problems, from the mildest.
const (
	// HELOLiteralMismatch: an address literal that is not the client's.
	HELOLiteralMismatch HELOProblem = "literal-mismatch"
	// HELONotFQDN: a name of one label, "localhost", a made-up top level.
	HELONotFQDN HELOProblem = "not-fqdn"
	// HELOBareIP: an address without the brackets of a literal.
	HELOBareIP HELOProblem = "bare-ip"
	// HELOInvalid: not a domain name or address literal at all.
	HELOInvalid HELOProblem = "invalid"
	// HELOOurs: a client from outside names itself as this server or one
	// of its domains.
	HELOOurs HELOProblem = "ours"
)

// CheckHELO returns what is wrong with the EHLO name helo of a client at
// ip that has not authenticated; "" when nothing is. ours are our host name
// and served domains: no one else may use them.
func CheckHELO(helo string, ip netip.Addr, ours []string) HELOProblem {
	h := strings.ToLower(strings.TrimSuffix(helo, "."))
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		lit := strings.TrimPrefix(h[1:len(h)-1], "ipv6:")
		a, err := netip.ParseAddr(lit)
		switch {
		case err != nil:
			return HELOInvalid
		case a.Unmap() != ip.Unmap():
			return HELOLiteralMismatch
		}
		return ""
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return HELOBareIP
	}
	if h == "" || len(h) > 253 {
		return HELOInvalid
	}
	for l := range strings.SplitSeq(h, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return HELOInvalid
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return HELOInvalid
			}
		}
	}
	for _, o := range ours {
		if strings.EqualFold(strings.TrimSuffix(o, "."), h) {
			return HELOOurs
		}
	}
	tld := h[strings.LastIndexByte(h, '.')+1:]
	if !strings.Contains(h, ".") || h == "localhost" || strings.HasSuffix(h, ".localhost") ||
		strings.HasSuffix(h, ".local") || strings.HasSuffix(h, ".localdomain") || strings.HasSuffix(h, ".lan") ||
		strings.HasSuffix(h, ".internal") || strings.HasSuffix(h, ".home") || isNumeric(tld) {
		return HELONotFQDN
	}
	return ""
}

func isNumeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// AddrFromNet returns the address of a net.Addr of a TCP connection.
func AddrFromNet(a net.Addr) netip.Addr {
	if t, ok := a.(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(t.IP); ok {
			return ip.Unmap()
		}
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
