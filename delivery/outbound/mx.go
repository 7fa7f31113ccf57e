package outbound

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
)

// Resolver is the part of *net.Resolver that delivery uses. Tests give a
// resolver pointed at a fake DNS server.
type Resolver interface {
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupHost(ctx context.Context, host string) ([]string, error)
}

// routeError is a failure to find where a domain's mail goes.
type routeError struct {
	perm bool   // retrying will not help
	code string // enhanced status code for the DSN (RFC 3463)
	msg  string
}

func (e *routeError) Error() string { return e.msg }

// mxHosts returns the hosts that receive mail for domain, most preferred
// first (RFC 5321 §5.1). A domain without MX records is its own mail host (the
// "implicit MX"); a null MX (RFC 7505) means the domain accepts no mail.
func mxHosts(ctx context.Context, r Resolver, domain string) ([]string, error) {
	mxs, err := r.LookupMX(ctx, domain)
	if err != nil && !isNotFound(err) {
		var dnsErr *net.DNSError
		if errors.As(err, &dnsErr) && len(mxs) > 0 {
			// Some records were malformed and dropped; use the good ones.
		} else {
			return nil, &routeError{code: "4.4.3", msg: fmt.Sprintf("MX lookup for %s failed: %v", domain, err)}
		}
	}
	// RFC 7505 §3: a single MX of "." with preference 0 says "no mail here".
	for _, mx := range mxs {
		if mx.Host == "." || mx.Host == "" {
			return nil, &routeError{perm: true, code: "5.1.10", msg: fmt.Sprintf("%s does not accept mail (null MX, RFC 7505)", domain)}
		}
	}
	if len(mxs) == 0 {
		// RFC 5321 §5.1: no MX records, so the domain's own address records
		// are the implicit MX. The domain must exist for that.
		if _, err := r.LookupHost(ctx, domain); err != nil {
			if isNotFound(err) {
				return nil, &routeError{perm: true, code: "5.1.2", msg: fmt.Sprintf("domain %s has no MX and no address records", domain)}
			}
			return nil, &routeError{code: "4.4.3", msg: fmt.Sprintf("address lookup for %s failed: %v", domain, err)}
		}
		return []string{domain}, nil
	}
	sort.SliceStable(mxs, func(i, j int) bool { return mxs[i].Pref < mxs[j].Pref })
	hosts := make([]string, 0, len(mxs))
	seen := map[string]bool{}
	for _, mx := range mxs {
		h := strings.ToLower(strings.TrimSuffix(mx.Host, "."))
		if !seen[h] {
			seen[h] = true
			hosts = append(hosts, h)
		}
	}
	return hosts, nil
}

func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}
