// Package inbound decides what becomes of a message that arrives on the MX
// before it is stored: accepted (into INBOX or Junk, per recipient), refused
// at the end of DATA, or deferred. It combines sender authentication (SPF,
// DKIM, DMARC), the rule for our own domains, and the spam checks (reverse
// DNS, EHLO name, DNS block lists, greylisting, the per-account classifier
// and sender reputation, rspamd), and writes what it found as
// Authentication-Results (RFC 8601) and X-Spam-Score/X-Spam-Status fields.
//
// The checks that need only the envelope start at MAIL FROM (Begin) and run
// while the client sends DATA; Transaction.Check finishes them once the
// message is in. Mail from an authenticated client is not checked: it gets
// no fields and is accepted.
package inbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"postern/mailauth/dmarc"
	"postern/mimeinfo"
	"postern/spam/bayes"
	"postern/spam/dnsbl"
	"postern/spam/greylist"
	"postern/spam/reputation"
	"postern/spam/rspamd"
)

// Options are the settings of the checks, one field per configuration key.
// The resolver's [dns] servers and the [submission] max_messages_per_hour
// limit are set on resolver.Config and ratelimit.Limiter.
type Options struct {
	// Hostname is our host name (hostname): the authserv-id of
	// Authentication-Results (RFC 8601 §2.5).
	Hostname string
	// Domains are the served domains (domains): mail claiming to be from
	// them must pass SPF or aligned DKIM.
	Domains []string
	// DMARCEnforce ([checks] dmarc_enforce) refuses mail that fails a
	// p=reject policy and puts p=quarantine failures in Junk; when false,
	// a DMARC failure only adds to the spam score.
	DMARCEnforce bool
	// DNSBL ([spam] dnsbl) are the DNS block list zones asked about the
	// client address.
	DNSBL []string
	// Greylist ([spam] greylist) defers the first attempt of unknown
	// (client, sender, recipient) triplets.
	Greylist bool
	// RspamdURL ([spam] rspamd_url) is rspamd's base URL; "" for none.
	RspamdURL string
	// JunkScore ([spam] junk_score): at or above it, a message goes to the
	// recipient's Junk mailbox.
	JunkScore float64
	// RejectScore ([spam] reject_score): at or above it for every
	// recipient, the message is refused at DATA.
	RejectScore float64
}

// DefaultOptions are the production defaults of the settings that have
// one: DMARC enforced, the junk and reject scores of rspamd's default scale.
func DefaultOptions() Options {
	return Options{DMARCEnforce: true, JunkScore: 6, RejectScore: 15}
}

// Resolver answers every lookup of the checks; *resolver.Resolver is one.
// Its errors must be bare *net.DNSError values (see package resolver).
type Resolver interface {
	LookupTXT(ctx context.Context, name string) ([]string, error)
	LookupMX(ctx context.Context, name string) ([]*net.MX, error)
	LookupIPAddr(ctx context.Context, host string) ([]net.IPAddr, error)
	LookupAddr(ctx context.Context, addr string) ([]string, error)
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Deps are what the checks use besides their settings. Nil stores turn
// their check off.
type Deps struct {
	Resolver Resolver
	// Bayes keeps the classifier's token counts per account.
	Bayes bayes.Store
	// Reputation keeps each account's correspondents.
	Reputation reputation.Store
	// Greylist keeps triplets; needed when Options.Greylist is set.
	Greylist greylist.Store
	// Rspamd overrides the client made from Options.RspamdURL (tests set
	// its timeout).
	Rspamd *rspamd.Client
	// Rand(n) returns a number in [0, n) for DMARC pct= sampling; nil
	// means math/rand/v2.
	Rand func(int) int
	// Now is the clock of greylisting. Default time.Now.
	Now func() time.Time
}

// Checker runs the checks. It is safe for concurrent use.
type Checker struct {
	opts     Options
	ours     map[string]bool // served domains, normalized
	r        Resolver
	lists    []dnsbl.List
	bayes    *bayes.Classifier
	rep      reputation.Store
	greylist *greylist.Greylist
	rspamd   *rspamd.Client
	rand     func(int) int
}

// New checks the options and returns a Checker. Errors name the setting.
func New(opts Options, deps Deps) (*Checker, error) {
	if deps.Resolver == nil {
		return nil, errors.New("inbound: no resolver")
	}
	if opts.Hostname == "" {
		return nil, errors.New("inbound: hostname is empty; it is the authserv-id of Authentication-Results")
	}
	if opts.JunkScore <= 0 || opts.RejectScore <= opts.JunkScore {
		return nil, fmt.Errorf("inbound: [spam] junk_score (%g) must be above 0 and below reject_score (%g)", opts.JunkScore, opts.RejectScore)
	}
	c := &Checker{opts: opts, ours: map[string]bool{}, r: deps.Resolver, rep: deps.Reputation, rspamd: deps.Rspamd, rand: deps.Rand}
	for _, d := range opts.Domains {
		n, ok := dmarc.Normalize(d)
		if !ok {
			return nil, fmt.Errorf("inbound: domains: %q is not a domain name", d)
		}
		c.ours[n] = true
	}
	lists, err := dnsbl.Lists(opts.DNSBL)
	if err != nil {
		return nil, err
	}
	c.lists = lists
	if deps.Bayes != nil {
		c.bayes = &bayes.Classifier{Store: deps.Bayes}
	}
	if opts.Greylist {
		if deps.Greylist == nil {
			return nil, errors.New("inbound: [spam] greylist is on but there is no greylist store")
		}
		c.greylist = &greylist.Greylist{Store: deps.Greylist, Now: deps.Now}
	}
	if c.rspamd == nil && opts.RspamdURL != "" {
		if c.rspamd, err = rspamd.NewClient(opts.RspamdURL); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Envelope is what the SMTP client said before DATA.
type Envelope struct {
	IP netip.Addr
	// HELO is the EHLO or HELO argument.
	HELO string
	// MailFrom is the reverse path without angle brackets, "" for <>.
	MailFrom string
	// User is the authenticated user; "" for mail from outside.
	User string
	// QueueID names the transaction in logs and in rspamd's.
	QueueID string
}

// Recipient is one accepted RCPT TO.
type Recipient struct {
	Address string
	// Account is the local account whose classifier and correspondents
	// apply (after aliases); "" for a recipient without one (a forward).
	Account string
}

// Message is a received message: its header block and its body.
type Message struct {
	// Header is the header block, with the empty line that ends it.
	Header []byte
	// Body holds the BodySize octets after the header.
	Body     io.ReaderAt
	BodySize int64
}

// MessageFromBytes splits a whole message (CRLF line endings) into a
// Message.
func MessageFromBytes(msg []byte) Message {
	n := mimeinfo.HeaderLen(msg)
	return Message{Header: msg[:n], Body: bytes.NewReader(msg[n:]), BodySize: int64(len(msg) - n)}
}

func (m Message) body() io.Reader { return io.NewSectionReader(m.Body, 0, m.BodySize) }

// prefix returns the header and at most n octets of the body as one slice.
func (m Message) prefix(n int64) []byte {
	n = min(n, m.BodySize)
	out := make([]byte, len(m.Header), len(m.Header)+int(n))
	copy(out, m.Header)
	out = out[:len(m.Header)+int(n)]
	k, _ := m.Body.ReadAt(out[len(m.Header):], 0)
	return out[:len(m.Header)+k]
}
