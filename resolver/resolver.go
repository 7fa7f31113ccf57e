// Package resolver is the one DNS resolver of the server: SPF, DKIM, DMARC,
// DNSBL and reverse lookups, MX lookups for outbound mail and TLSA records all
// go through it. It asks the recursive resolvers of [dns] servers (or of
// /etc/resolv.conf) over UDP with EDNS0, retries over TCP when an answer is
// truncated (RFC 7766 §5), caches answers for their TTL and negative answers
// for the SOA minimum (RFC 2308 §5), and never waits past the caller's
// context.
//
// Its lookup methods have the signatures of *net.Resolver, so that a
// *Resolver can be handed to code written for one. Their errors are always a
// bare *net.DNSError, never wrapped, classified the way Go's resolver does:
// IsNotFound for a name or type that does not exist (NXDOMAIN, or an empty
// answer), IsTemporary (and IsTimeout) for servers that fail or do not answer
// in time, neither for an answer that is wrong for good (a CNAME loop, a TXT
// record set too large to be a policy). SPF, DKIM and DMARC libraries tell
// temperror from permerror by exactly these flags.
//
// Every answer is bounded: one DNS message is at most 64 KiB, a CNAME chain at
// most 8 links, a TXT record set at most Config.MaxTXT octets, and the cache at
// most Config.CacheEntries entries and Config.CacheBytes octets.
package resolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// Defaults for the zero values of Config.
const (
	DefaultResolvConf   = "/etc/resolv.conf"
	DefaultTimeout      = 2 * time.Second
	DefaultAttempts     = 2
	DefaultCacheEntries = 20000
	DefaultCacheBytes   = 32 << 20
	DefaultMaxTTL       = 24 * time.Hour
	DefaultFailureTTL   = 5 * time.Second
	DefaultMaxTXT       = 16 << 10

	// maxChain bounds the CNAMEs followed from the name asked (RFC 1034
	// §3.6.2 allows chains; resolvers cap them, BIND at 16, Unbound at 11).
	maxChain = 8
	// ednsSize is the UDP payload size we advertise: the size that avoids IP
	// fragmentation on the internet (DNS flag day 2020, RFC 9715 §3).
	ednsSize = 1232
)

// Config says where to send queries and how long to wait and remember.
type Config struct {
	// Servers are recursive resolvers as "host:port" (a bare host means
	// port 53), asked in order ([dns] servers). Empty: the nameservers of
	// ResolvConf.
	Servers []string
	// ResolvConf is read when Servers is empty. Default /etc/resolv.conf.
	ResolvConf string
	// Timeout bounds one exchange with one server. Default 2s.
	Timeout time.Duration
	// Attempts is how many rounds over all servers a query gets. Default 2.
	Attempts int
	// CacheEntries and CacheBytes bound the cache; the least recently used
	// answers go first. A negative CacheEntries turns the cache off.
	CacheEntries, CacheBytes int
	// MaxTTL caps how long an answer is kept, whatever its TTL. Default 24h.
	MaxTTL time.Duration
	// FailureTTL is how long a failure (server failure, timeout, an answer
	// refused as malformed) is remembered, so that a broken domain does not
	// cost every message a full timeout (RFC 9520 §3.2: at least 1 s, at
	// most 5 min). Default 5s.
	FailureTTL time.Duration
	// MaxTXT bounds the octets of one TXT record set; a larger one is a
	// permanent error. Default 16 KiB: SPF, DKIM and DMARC records are a few
	// hundred octets.
	MaxTXT int
	// Now is the clock of the cache. Default time.Now.
	Now func() time.Time
}

// Resolver answers DNS questions through recursive resolvers, with a cache.
// It is safe for concurrent use.
type Resolver struct {
	servers    []string
	timeout    time.Duration
	attempts   int
	maxTTL     time.Duration
	failureTTL time.Duration
	maxTXT     int
	now        func() time.Time

	cache    *cache
	udp, tcp *dns.Client

	mu       sync.Mutex
	inflight map[cacheKey]*call
}

// call is one resolution in progress that several callers wait for.
type call struct {
	done chan struct{}
	ans  *Answer
	err  *net.DNSError
}

// Answer is the records of one type found for a name.
type Answer struct {
	// Name is the name asked, lower case, fully qualified.
	Name string
	// Target is the name the records belong to: Name, or the end of its
	// CNAME chain.
	Target string
	// Records are the records of the type asked, owned by Target. They are
	// shared with the cache and must not be modified.
	Records []dns.RR
	// AD tells whether every server answer on the way had the Authenticated
	// Data bit: a validating resolver checked the DNSSEC signatures (RFC 4035
	// §3.2.3). It means something only if the path to the resolver is
	// trusted (loopback).
	AD bool
}

// New returns a resolver for cfg.
func New(cfg Config) (*Resolver, error) {
	r := &Resolver{
		timeout:    orDefault(cfg.Timeout, DefaultTimeout),
		attempts:   cfg.Attempts,
		maxTTL:     orDefault(cfg.MaxTTL, DefaultMaxTTL),
		failureTTL: orDefault(cfg.FailureTTL, DefaultFailureTTL),
		maxTXT:     cfg.MaxTXT,
		now:        cfg.Now,
		inflight:   map[cacheKey]*call{},
	}
	if r.attempts <= 0 {
		r.attempts = DefaultAttempts
	}
	if r.maxTXT <= 0 {
		r.maxTXT = DefaultMaxTXT
	}
	if r.now == nil {
		r.now = time.Now
	}
	servers := cfg.Servers
	if len(servers) == 0 {
		path := cfg.ResolvConf
		if path == "" {
			path = DefaultResolvConf
		}
		cc, err := dns.ClientConfigFromFile(path)
		if err != nil {
			return nil, fmt.Errorf("resolver: no [dns] servers set and %s unreadable: %v", path, err)
		}
		for _, s := range cc.Servers {
			servers = append(servers, net.JoinHostPort(s, cc.Port))
		}
		if len(servers) == 0 {
			return nil, fmt.Errorf("resolver: no [dns] servers set and no nameserver in %s", path)
		}
	}
	for _, s := range servers {
		addr, err := serverAddr(s)
		if err != nil {
			return nil, err
		}
		r.servers = append(r.servers, addr)
	}
	if cfg.CacheEntries >= 0 {
		r.cache = newCache(orDefaultInt(cfg.CacheEntries, DefaultCacheEntries), orDefaultInt(cfg.CacheBytes, DefaultCacheBytes))
	}
	r.udp = &dns.Client{Net: "udp", UDPSize: ednsSize, Timeout: r.timeout}
	r.tcp = &dns.Client{Net: "tcp", Timeout: r.timeout}
	return r, nil
}

// serverAddr checks one [dns] servers entry and adds the default port.
func serverAddr(s string) (string, error) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		host, port = strings.Trim(s, "[]"), "53"
	}
	if net.ParseIP(host) == nil {
		return "", fmt.Errorf("resolver: [dns] servers: %q is not an IP address with an optional port (the resolver itself cannot be looked up)", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		return "", fmt.Errorf("resolver: [dns] servers: %q has a bad port", s)
	}
	return net.JoinHostPort(host, port), nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func orDefaultInt(n, def int) int {
	if n <= 0 {
		return def
	}
	return n
}

// Lookup returns the records of type qtype (dns.TypeTLSA, ...) for name,
// following CNAMEs. A name with no such records gives an IsNotFound error.
func (r *Resolver) Lookup(ctx context.Context, name string, qtype uint16) (*Answer, error) {
	ans, err := r.lookup(ctx, name, qtype)
	if err != nil {
		return nil, err
	}
	return ans, nil
}

// lookup is Lookup with a typed error, so that callers can return it as an
// error without the trap of a typed nil pointer.
func (r *Resolver) lookup(ctx context.Context, name string, qtype uint16) (*Answer, *net.DNSError) {
	fqdn, ok := normalize(name)
	if !ok {
		return nil, notFound(name, "")
	}
	key := cacheKey{fqdn, qtype}
	if r.cache != nil {
		if ans, err, ok := r.cache.get(key, r.now()); ok {
			return ans, copyErr(err)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, timedOut(fqdn, "")
	}

	r.mu.Lock()
	c, running := r.inflight[key]
	if !running {
		c = &call{done: make(chan struct{})}
		r.inflight[key] = c
		// The resolution runs on its own, bounded by the per-exchange
		// timeouts, so that one impatient caller does not fail the others
		// waiting for the same answer, and its result is cached.
		go r.run(key, c)
	}
	r.mu.Unlock()

	select {
	case <-c.done:
		return c.ans, copyErr(c.err)
	case <-ctx.Done():
		return nil, timedOut(fqdn, "")
	}
}

func (r *Resolver) run(key cacheKey, c *call) {
	ans, err, ttl := r.resolve(context.Background(), key.name, key.qtype)
	if r.cache != nil && ttl > 0 {
		r.cache.put(key, ans, err, r.now().Add(ttl))
	}
	r.mu.Lock()
	delete(r.inflight, key)
	r.mu.Unlock()
	c.ans, c.err = ans, err
	close(c.done)
}

// copyErr gives each caller its own error value, since callers may set fields.
func copyErr(err *net.DNSError) *net.DNSError {
	if err == nil {
		return nil
	}
	e := *err
	return &e
}

// normalize turns a name into the lower-case, fully qualified A-label form
// used as cache key and sent on the wire. It refuses what is not a host name
// in the sense of Go's resolver (letters, digits, '-', '_'; labels of 1 to 63
// octets; at most 253 octets), since such a name cannot be in the DNS as a
// mail domain and may be a crafted macro expansion (RFC 7208 §7.3).
func normalize(name string) (string, bool) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return "", false
	}
	if !isASCII(name) {
		a, err := toASCII(name)
		if err != nil {
			return "", false
		}
		name = a
	}
	b := []byte(name)
	label := 0
	for i, c := range b {
		switch {
		case 'A' <= c && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_':
		case c == '.':
			if label == 0 {
				return "", false
			}
			label = -1
		default:
			return "", false
		}
		label++
		if label > 63 {
			return "", false
		}
	}
	if label == 0 {
		return "", false
	}
	return string(b) + ".", true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// IsNotFound reports whether err says the name or record type does not exist.
func IsNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}

// IsTemporary reports whether err is a failure that may go away: a server
// failure or a timeout.
func IsTemporary(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && (de.IsTemporary || de.IsTimeout)
}

func notFound(name, server string) *net.DNSError {
	return &net.DNSError{Err: "no such host", Name: name, Server: server, IsNotFound: true}
}

func timedOut(name, server string) *net.DNSError {
	return &net.DNSError{Err: "i/o timeout", Name: name, Server: server, IsTimeout: true, IsTemporary: true}
}

func temporary(name, server, why string) *net.DNSError {
	return &net.DNSError{Err: why, Name: name, Server: server, IsTemporary: true}
}

func permanent(name, server, why string) *net.DNSError {
	return &net.DNSError{Err: why, Name: name, Server: server}
}
