package resolver

import (
	"context"
	"errors"
	"net"
	"os"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// resolve asks the servers about name and follows CNAMEs, querying a chain's
// target itself when a server did not. It returns the answer or the error,
// and how long either may be cached (0: not at all).
func (r *Resolver) resolve(ctx context.Context, name string, qtype uint16) (*Answer, *net.DNSError, time.Duration) {
	ans := &Answer{Name: name, Target: name, AD: true}
	seen := map[string]bool{name: true}
	ttl := uint32(r.maxTTL / time.Second)
	links := 0
	target := name
	for {
		msg, server, derr := r.exchange(ctx, target, qtype)
		if derr != nil {
			derr.Name = name
			return nil, derr, r.failureTTL
		}
		ans.AD = ans.AD && msg.AuthenticatedData
		// Walk the chain this message holds, from the name asked.
		cur := target
		var records []dns.RR
		for {
			var cname *dns.CNAME
			for _, rr := range msg.Answer {
				h := rr.Header()
				if h.Class != dns.ClassINET || !strings.EqualFold(h.Name, cur) {
					continue
				}
				if h.Rrtype == qtype {
					records = append(records, rr)
					ttl = min(ttl, h.Ttl)
				} else if c, ok := rr.(*dns.CNAME); ok && cname == nil {
					cname = c
				}
			}
			if len(records) > 0 || cname == nil {
				break
			}
			next, ok := normalize(cname.Target)
			links++
			if !ok || seen[next] || links > maxChain {
				return nil, permanent(name, server, "CNAME chain too long or looping at "+cur), r.failureTTL
			}
			seen[next] = true
			ttl = min(ttl, cname.Hdr.Ttl)
			cur = next
		}
		ans.Target = cur
		if len(records) > 0 {
			if qtype == dns.TypeTXT {
				n := 0
				for _, rr := range records {
					for _, s := range rr.(*dns.TXT).Txt {
						n += len(s)
					}
				}
				if n > r.maxTXT {
					return nil, permanent(name, server, "TXT records too large"), r.failureTTL
				}
			}
			ans.Records = records
			return ans, nil, time.Duration(ttl) * time.Second
		}
		negTTL, hasSOA := soaTTL(msg)
		if msg.Rcode == dns.RcodeNameError || hasSOA || cur == target {
			// RFC 2308 §5: a negative answer is cached for the SOA's TTL
			// capped by its MINIMUM field, and not at all without an SOA.
			var keep time.Duration
			if hasSOA {
				keep = time.Duration(min(ttl, negTTL)) * time.Second
			}
			return nil, notFound(name, server), keep
		}
		// The server gave a CNAME but nothing about its target: ask for it.
		target = cur
	}
}

// soaTTL returns how long the negative answer in msg may be cached.
func soaTTL(msg *dns.Msg) (uint32, bool) {
	for _, rr := range msg.Ns {
		if soa, ok := rr.(*dns.SOA); ok {
			return min(soa.Hdr.Ttl, soa.Minttl), true
		}
	}
	return 0, false
}

// exchange sends one question to the servers in turn until one gives an
// answer (NOERROR or NXDOMAIN). A truncated UDP answer is asked again over
// TCP. The error is temporary: every server failed, refused or timed out.
func (r *Resolver) exchange(ctx context.Context, name string, qtype uint16) (*dns.Msg, string, *net.DNSError) {
	var last *net.DNSError
	for attempt := 0; attempt < r.attempts; attempt++ {
		for _, server := range r.servers {
			if ctx.Err() != nil {
				return nil, server, timedOut(name, server)
			}
			m := new(dns.Msg)
			m.SetQuestion(name, qtype)
			m.RecursionDesired = true
			// RFC 6840 §5.7: AD in a query asks a validating resolver to
			// report validation without DO and its signature records.
			m.AuthenticatedData = true
			m.SetEdns0(ednsSize, false)

			resp, err := r.exchangeOnce(ctx, m, server)
			if err != nil {
				last = err
				continue
			}
			switch resp.Rcode {
			case dns.RcodeSuccess, dns.RcodeNameError:
				return resp, server, nil
			default:
				last = temporary(name, server, "server answered "+dns.RcodeToString[resp.Rcode])
			}
		}
	}
	return nil, "", last
}

// exchangeOnce asks one server, over UDP and then TCP if the answer is
// truncated or does not fit the UDP buffer.
func (r *Resolver) exchangeOnce(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, *net.DNSError) {
	name := m.Question[0].Name
	actx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	resp, _, err := r.udp.ExchangeContext(actx, m, server)
	if err != nil && !isTimeout(err) && actx.Err() == nil {
		// A datagram too large for the buffer fails to unpack; TCP
		// carries any size (RFC 7766 §5).
		resp, _, err = r.tcp.ExchangeContext(actx, m, server)
	} else if err == nil && resp.Truncated {
		resp, _, err = r.tcp.ExchangeContext(actx, m, server)
	}
	if err != nil {
		if isTimeout(err) || actx.Err() != nil {
			return nil, timedOut(name, server)
		}
		return nil, temporary(name, server, err.Error())
	}
	if len(resp.Question) != 1 || resp.Question[0].Qtype != m.Question[0].Qtype ||
		!strings.EqualFold(resp.Question[0].Name, name) {
		// A reply whose question is not ours (RFC 5452 §4.2) is a
		// spoofing attempt or a broken server.
		return nil, temporary(name, server, "answer to another question")
	}
	return resp, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}
