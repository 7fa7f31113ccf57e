package dnsrecords

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"
)

// Status is the outcome of checking one record.
type Status string

const (
	OK        Status = "ok"
	Missing   Status = "MISSING"
	Wrong     Status = "WRONG"
	Unchecked Status = "unchecked" // a placeholder, or the lookup failed
)

// Result is what the DNS said about one record.
type Result struct {
	Record
	Status Status
	Found  []string // what the DNS answered
	Note   string   // why, and what to do
}

// Failed reports whether r makes the check fail: a required record that is
// missing, wrong, or could not be looked up.
func (r Result) Failed() bool {
	return r.Required && (r.Status == Missing || r.Status == Wrong || (r.Status == Unchecked && !r.Hint))
}

// Resolver is the part of *net.Resolver the check uses.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
}

// NewResolver asks servers ("host:port", in order, the next when one
// fails) or, with none, the system's resolvers.
func NewResolver(servers []string) *net.Resolver {
	if len(servers) == 0 {
		return &net.Resolver{PreferGo: true}
	}
	return &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			var errs []error
			for _, s := range servers {
				c, err := d.DialContext(ctx, network, s)
				if err == nil {
					return c, nil
				}
				errs = append(errs, err)
			}
			return nil, errors.Join(errs...)
		},
	}
}

// LookupTimeout bounds each lookup.
const LookupTimeout = 10 * time.Second

// Check looks up every record and compares it with what it should be.
func Check(ctx context.Context, res Resolver, p Params, rs []Record) []Result {
	out := make([]Result, 0, len(rs))
	for _, r := range rs {
		lctx, cancel := context.WithTimeout(ctx, LookupTimeout)
		out = append(out, checkOne(lctx, res, p, r))
		cancel()
	}
	return out
}

// notFound reports whether err means the name or record does not exist.
func notFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

func lookupFailed(r Record, err error) Result {
	return Result{Record: r, Status: Unchecked, Note: "lookup failed: " + err.Error()}
}

func checkOne(ctx context.Context, res Resolver, p Params, r Record) Result {
	if r.Hint && r.Kind != Address && r.Kind != DKIM {
		return Result{Record: r, Status: Unchecked, Note: "set [dns] public_ip to check it"}
	}
	switch r.Kind {
	case MX:
		mxs, err := res.LookupMX(ctx, r.Name)
		if err != nil && !notFound(err) {
			return lookupFailed(r, err)
		}
		var found []string
		for _, mx := range mxs {
			found = append(found, fmt.Sprintf("%d %s", mx.Pref, fqdn(mx.Host)))
			if fqdn(mx.Host) == r.target {
				return Result{Record: r, Status: OK, Found: found}
			}
		}
		return missingOrWrong(r, found, "no MX points at "+r.target)
	case Address:
		return checkAddress(ctx, res, r)
	case SPF:
		return checkSPF(ctx, res, p, r)
	case DKIM:
		if r.Hint {
			return Result{Record: r, Status: Missing, Note: "no DKIM key: run \"postern dkim keygen " + p.Domain + "\""}
		}
		txts, err := txtWith(ctx, res, r.Name, "v=DKIM1")
		if err != nil {
			return lookupFailed(r, err)
		}
		want := tagValue(p.DKIM.TXT(), "p")
		for _, t := range txts {
			if tagValue(t, "p") == want {
				return Result{Record: r, Status: OK, Found: txts}
			}
		}
		return missingOrWrong(r, txts, "the published key is not this server's key")
	case DMARC, TLSRPT:
		prefix := map[Kind]string{DMARC: "v=DMARC1", TLSRPT: "v=TLSRPTv1"}[r.Kind]
		txts, err := txtWith(ctx, res, r.Name, prefix)
		if err != nil {
			return lookupFailed(r, err)
		}
		switch len(txts) {
		case 0:
			return Result{Record: r, Status: Missing}
		case 1:
			return Result{Record: r, Status: OK, Found: txts}
		}
		return Result{Record: r, Status: Wrong, Found: txts, Note: "more than one " + prefix + " record: receivers ignore them all"}
	case MTASTSRecord:
		txts, err := txtWith(ctx, res, r.Name, "v=STSv1")
		if err != nil {
			return lookupFailed(r, err)
		}
		if len(txts) == 1 && tagValue(txts[0], "id") == p.MTASTS.ID() {
			return Result{Record: r, Status: OK, Found: txts}
		}
		if len(txts) > 1 {
			return Result{Record: r, Status: Wrong, Found: txts, Note: "more than one v=STSv1 record (RFC 8461 §3.1)"}
		}
		return missingOrWrong(r, txts, "the id differs from the current policy's: senders keep using an old policy")
	case MTASTSHost, ClientName:
		return sameAddresses(ctx, res, r, p.Hostname)
	case SRV:
		_, srvs, err := res.LookupSRV(ctx, r.srvService, "tcp", strings.TrimSuffix(strings.TrimPrefix(r.Name, "_"+r.srvService+"._tcp."), "."))
		if err != nil && !notFound(err) {
			return lookupFailed(r, err)
		}
		var found []string
		for _, s := range srvs {
			found = append(found, fmt.Sprintf("%d %d %d %s", s.Priority, s.Weight, s.Port, fqdn(s.Target)))
		}
		if r.target == "." { // the service is off: no record, or ".", is right
			for _, s := range srvs {
				if fqdn(s.Target) != "." {
					return Result{Record: r, Status: Wrong, Found: found, Note: "the listener is off, but clients are sent to it"}
				}
			}
			return Result{Record: r, Status: OK, Found: found}
		}
		for _, s := range srvs {
			if fqdn(s.Target) == r.target && int(s.Port) == r.port {
				return Result{Record: r, Status: OK, Found: found}
			}
		}
		return missingOrWrong(r, found, "")
	case PTR:
		ip := strings.TrimSpace(r.Name)
		addr := ptrAddr(r.Name)
		if addr == "" {
			return Result{Record: r, Status: Unchecked, Note: "cannot read the address of " + ip}
		}
		names, err := res.LookupAddr(ctx, addr)
		if err != nil && !notFound(err) {
			return lookupFailed(r, err)
		}
		for _, n := range names {
			if fqdn(n) == r.target {
				return Result{Record: r, Status: OK, Found: names}
			}
		}
		return missingOrWrong(r, names, "ask the provider of "+addr+" to set its reverse DNS to "+r.target)
	}
	return Result{Record: r, Status: Unchecked}
}

func missingOrWrong(r Record, found []string, note string) Result {
	if len(found) == 0 {
		return Result{Record: r, Status: Missing, Note: note}
	}
	return Result{Record: r, Status: Wrong, Found: found, Note: note}
}

// txtWith returns the TXT records at name that start with prefix (case
// ignored), each record's strings joined (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
func txtWith(ctx context.Context, res Resolver, name, prefix string) ([]string, error) {
	txts, err := res.LookupTXT(ctx, name)
	if err != nil && !notFound(err) {
		return nil, err
	}
	var out []string
	for _, t := range txts {
		if len(t) >= len(prefix) && strings.EqualFold(t[:len(prefix)], prefix) {
			out = append(out, t)
		}
	}
	return out, nil
}

// tagValue returns the value of tag in a "k=v; k=v" list, with whitespace
// removed (RFC 6376 §3.2 allows folding whitespace inside values).
func tagValue(list, tag string) string {
	for _, part := range strings.Split(list, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok && strings.EqualFold(strings.TrimSpace(k), tag) {
			return strings.Join(strings.Fields(v), "")
		}
	}
	return ""
}

func checkAddress(ctx context.Context, res Resolver, r Record) Result {
	addrs, err := res.LookupHost(ctx, r.Name)
	if err != nil && !notFound(err) {
		return lookupFailed(r, err)
	}
	var found []string
	for _, a := range addrs {
		ip, err := netip.ParseAddr(a)
		if err == nil && (ip.Is4() || ip.Is4In6()) == (r.Type == "A") {
			found = append(found, ip.Unmap().String())
		}
	}
	if r.Hint {
		if len(found) == 0 {
			return Result{Record: r, Status: Missing, Note: "no " + r.Type + " record for the hostname"}
		}
		return Result{Record: r, Status: OK, Found: found, Note: "set [dns] public_ip to check the address itself"}
	}
	for _, f := range found {
		if f == r.Value {
			return Result{Record: r, Status: OK, Found: found}
		}
	}
	return missingOrWrong(r, found, "")
}

// checkSPF accepts one SPF record that lets this server send: "mx", "a",
// the hostname, or one of the public addresses. An include or redirect
// cannot be followed here and is reported without failing.
func checkSPF(ctx context.Context, res Resolver, p Params, r Record) Result {
	txts, err := txtWith(ctx, res, r.Name, "v=spf1")
	if err != nil {
		return lookupFailed(r, err)
	}
	var recs []string
	for _, t := range txts {
		if t == "v=spf1" || strings.HasPrefix(strings.ToLower(t), "v=spf1 ") {
			recs = append(recs, t)
		}
	}
	switch len(recs) {
	case 0:
		return Result{Record: r, Status: Missing}
	case 1:
	default:
		return Result{Record: r, Status: Wrong, Found: recs, Note: "more than one SPF record is a permanent error (RFC 7208 §4.5)"}
	}
	host := strings.ToLower(strings.TrimSuffix(p.Hostname, "."))
	allows := map[string]bool{"mx": true, "+mx": true, "a": true, "+a": true, "a:" + host: true, "+a:" + host: true}
	for _, ip := range p.PublicIPs {
		v := "ip4:"
		if ip.Is6() && !ip.Is4In6() {
			v = "ip6:"
		}
		allows[v+ip.Unmap().String()] = true
		allows["+"+v+ip.Unmap().String()] = true
	}
	indirect := false
	for _, term := range strings.Fields(strings.ToLower(recs[0]))[1:] {
		if allows[term] {
			return Result{Record: r, Status: OK, Found: recs}
		}
		if strings.HasPrefix(term, "include:") || strings.HasPrefix(term, "redirect=") {
			indirect = true
		}
	}
	if indirect {
		return Result{Record: r, Status: OK, Found: recs, Note: "include/redirect not followed: make sure it allows this server"}
	}
	return Result{Record: r, Status: Wrong, Found: recs, Note: "it does not allow this server (want \"mx\" in it)"}
}

// sameAddresses checks that name leads to the hostname's addresses (by
// CNAME or by A/AAAA records).
func sameAddresses(ctx context.Context, res Resolver, r Record, hostname string) Result {
	got, err := res.LookupHost(ctx, r.Name)
	if err != nil && !notFound(err) {
		return lookupFailed(r, err)
	}
	if len(got) == 0 {
		return Result{Record: r, Status: Missing}
	}
	want, err := res.LookupHost(ctx, hostname)
	if err != nil && !notFound(err) {
		return lookupFailed(r, err)
	}
	for _, g := range got {
		for _, w := range want {
			if g == w {
				return Result{Record: r, Status: OK, Found: got}
			}
		}
	}
	return Result{Record: r, Status: Wrong, Found: got, Note: "does not lead to " + hostname + "'s addresses " + strings.Join(want, ", ")}
}

// ptrAddr turns a reverse name back into its address ("" if it is none).
func ptrAddr(name string) string {
	name = strings.TrimSuffix(strings.ToLower(name), ".")
	if v4, ok := strings.CutSuffix(name, ".in-addr.arpa"); ok {
		l := strings.Split(v4, ".")
		if len(l) != 4 {
			return ""
		}
		a, err := netip.ParseAddr(l[3] + "." + l[2] + "." + l[1] + "." + l[0])
		if err != nil {
			return ""
		}
		return a.String()
	}
	if v6, ok := strings.CutSuffix(name, ".ip6.arpa"); ok {
		l := strings.Split(v6, ".")
		if len(l) != 32 {
			return ""
		}
		var b strings.Builder
		for i := 31; i >= 0; i-- {
			b.WriteString(l[i])
			if i%4 == 0 && i > 0 {
				b.WriteByte(':')
			}
		}
		a, err := netip.ParseAddr(b.String())
		if err != nil {
			return ""
		}
		return a.String()
	}
	return ""
}

// WriteReport prints one line per record and a summary; it returns false
// when a required record failed.
func WriteReport(w io.Writer, results []Result) bool {
	ok := true
	for _, r := range results {
		req := ""
		if r.Required {
			req = " (required)"
		}
		fmt.Fprintf(w, "%-9s %-5s %s%s\n", r.Status, r.Type, r.Name, req)
		if r.Status != OK {
			if !r.Hint {
				fmt.Fprintf(w, "          want  %s\n", r.Value)
			}
			for _, f := range r.Found {
				fmt.Fprintf(w, "          found %s\n", f)
			}
		}
		if r.Note != "" {
			fmt.Fprintf(w, "          %s\n", r.Note)
		}
		if r.Failed() {
			ok = false
		}
	}
	if ok {
		fmt.Fprintln(w, "\nAll required records are right.")
	} else {
		fmt.Fprintln(w, "\nSome required records are missing or wrong: publish them as \"postern dns DOMAIN\" prints them.")
	}
	return ok
}
