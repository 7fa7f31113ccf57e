// Package fakedns is a DNS server for tests: it listens on one free loopback
// port over UDP and TCP, answers from records given in zone-file syntax, and
// can be told to misbehave (answer slowly, fail, or not follow CNAMEs) so that
// tests see what a resolver sees on the internet.
//
// It answers like a recursive resolver would: CNAMEs are followed within its
// own data, a missing name is NXDOMAIN, a name without the asked type is an
// empty NOERROR answer, and both carry an SOA in the authority section so that
// negative answers can be cached (RFC 2308 §5). UDP answers larger than the
// client's EDNS0 buffer (512 octets without EDNS0) are truncated with the TC
// bit set (RFC 1035 §4.2.1, RFC 6891 §6.2.5), and the same port serves TCP.
package fakedns

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a running fake DNS server.
type Server struct {
	// Addr is the host:port the server listens on, over UDP and TCP.
	Addr string

	mu       sync.Mutex
	rrs      map[string][]dns.RR // owner name (lower case, FQDN) -> records
	delay    map[string]time.Duration
	failing  map[string]int // name -> rcode to answer with
	noChase  bool
	negTTL   uint32
	queries  map[string]int // "name/TYPE" -> count
	protocol map[string]int // "udp" or "tcp" -> count

	udp, tcp *dns.Server
	stop     chan struct{}
}

// Start starts a server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		rrs:      map[string][]dns.RR{},
		delay:    map[string]time.Duration{},
		failing:  map[string]int{},
		negTTL:   60,
		queries:  map[string]int{},
		protocol: map[string]int{},
		stop:     make(chan struct{}),
	}
	// UDP and TCP on the same port: take a free UDP port and try TCP on it,
	// a few times, since another process may hold the TCP side.
	var pc net.PacketConn
	var ln net.Listener
	for try := 0; ; try++ {
		var err error
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("fakedns: %v", err)
		}
		ln, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			break
		}
		pc.Close()
		if try == 20 {
			t.Fatalf("fakedns: no port free for both UDP and TCP: %v", err)
		}
	}
	s.Addr = pc.LocalAddr().String()
	mux := dns.NewServeMux()
	mux.HandleFunc(".", s.serve)
	started := make(chan struct{}, 2)
	notify := func() { started <- struct{}{} }
	s.udp = &dns.Server{PacketConn: pc, Handler: mux, NotifyStartedFunc: notify}
	s.tcp = &dns.Server{Listener: ln, Handler: mux, NotifyStartedFunc: notify}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		go srv.ActivateAndServe()
	}
	<-started
	<-started
	t.Cleanup(s.Close)
	return s
}

// Close stops the server; slow answers in progress are abandoned.
func (s *Server) Close() {
	s.mu.Lock()
	select {
	case <-s.stop:
		s.mu.Unlock()
		return
	default:
		close(s.stop)
	}
	s.mu.Unlock()
	s.udp.Shutdown()
	s.tcp.Shutdown()
}

// Add adds records written in zone-file syntax, one per argument, e.g.
// `example.test. 300 IN TXT "v=spf1 -all"`. A record that does not parse
// panics: it is a mistake in the test.
func (s *Server) Add(records ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range records {
		rr, err := dns.NewRR(r)
		if err != nil || rr == nil {
			panic(fmt.Sprintf("fakedns: record %q: %v", r, err))
		}
		name := strings.ToLower(rr.Header().Name)
		s.rrs[name] = append(s.rrs[name], rr)
	}
}

// AddTXT adds one TXT record whose text may be longer than the 255 octets of
// one character-string: it is split into as many strings as needed, as zone
// tools do (RFC 7208 §3.3).
func (s *Server) AddTXT(name string, ttl uint32, text string) {
	var parts []string
	for len(text) > 255 {
		parts = append(parts, text[:255])
		text = text[255:]
	}
	parts = append(parts, text)
	rr := &dns.TXT{Hdr: dns.RR_Header{Name: dns.Fqdn(name), Rrtype: dns.TypeTXT, Class: dns.ClassINET, Ttl: ttl}, Txt: parts}
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(rr.Hdr.Name)
	s.rrs[key] = append(s.rrs[key], rr)
}

// Remove removes every record of a name.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.rrs, strings.ToLower(dns.Fqdn(name)))
}

// Delay makes every answer about name (and only name) wait d before it is sent.
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delay[strings.ToLower(dns.Fqdn(name))] = d
}

// Fail makes every query about name answered with rcode (dns.RcodeServerFailure,
// dns.RcodeRefused, ...); dns.RcodeSuccess removes the failure.
func (s *Server) Fail(name string, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.failing, strings.ToLower(dns.Fqdn(name)))
		return
	}
	s.failing[strings.ToLower(dns.Fqdn(name))] = rcode
}

// NoChase makes the server answer a name that has a CNAME with the CNAME
// alone, as an authoritative server for another zone would, so that the
// client must query the target itself.
func (s *Server) NoChase(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noChase = on
}

// NegativeTTL sets the SOA MINIMUM (and SOA TTL) sent with negative answers.
func (s *Server) NegativeTTL(ttl uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.negTTL = ttl
}

// Queries reports how many queries for name and type (dns.TypeTXT, ...) the
// server has received.
func (s *Server) Queries(name string, qtype uint16) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.queries[strings.ToLower(dns.Fqdn(name))+"/"+dns.TypeToString[qtype]]
}

// QueriesOver reports how many queries arrived over "udp" or "tcp".
func (s *Server) QueriesOver(network string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.protocol[network]
}

func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		m := new(dns.Msg)
		m.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(m)
		return
	}
	q := req.Question[0]
	name := strings.ToLower(q.Name)
	network := "udp"
	if _, ok := w.RemoteAddr().(*net.TCPAddr); ok {
		network = "tcp"
	}

	s.mu.Lock()
	s.queries[name+"/"+dns.TypeToString[q.Qtype]]++
	s.protocol[network]++
	delay := s.delay[name]
	rcode, failing := s.failing[name]
	m := new(dns.Msg)
	m.SetReply(req)
	m.RecursionAvailable = true
	if failing {
		m.Rcode = rcode
	} else {
		s.answer(m, name, q.Qtype)
	}
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.stop:
			return
		}
	}
	if opt := req.IsEdns0(); opt != nil {
		m.SetEdns0(opt.UDPSize(), false)
	}
	if network == "udp" {
		size := dns.MinMsgSize
		if opt := req.IsEdns0(); opt != nil {
			size = int(opt.UDPSize())
		}
		m.Truncate(size)
	}
	w.WriteMsg(m)
}

// answer fills m with what the data says about name and qtype; s.mu is held.
func (s *Server) answer(m *dns.Msg, name string, qtype uint16) {
	seen := map[string]bool{}
	for hops := 0; hops < 16; hops++ {
		rrs, exists := s.rrs[name]
		if !exists && !s.hasChildren(name) {
			m.Rcode = dns.RcodeNameError
			m.Ns = append(m.Ns, s.soa())
			return
		}
		var cname *dns.CNAME
		found := false
		for _, rr := range rrs {
			if rr.Header().Rrtype == qtype || qtype == dns.TypeANY {
				m.Answer = append(m.Answer, dns.Copy(rr))
				found = true
			}
			if c, ok := rr.(*dns.CNAME); ok {
				cname = c
			}
		}
		if found || cname == nil {
			if !found {
				m.Ns = append(m.Ns, s.soa())
			}
			return
		}
		m.Answer = append(m.Answer, dns.Copy(cname))
		if s.noChase || seen[name] {
			return
		}
		seen[name] = true
		name = strings.ToLower(cname.Target)
	}
}

// hasChildren reports whether name is an empty non-terminal: it has no
// records but names below it do, so it exists (RFC 8020).
func (s *Server) hasChildren(name string) bool {
	for n := range s.rrs {
		if strings.HasSuffix(n, "."+name) {
			return true
		}
	}
	return false
}

func (s *Server) soa() dns.RR {
	return &dns.SOA{
		Hdr:     dns.RR_Header{Name: "test.", Rrtype: dns.TypeSOA, Class: dns.ClassINET, Ttl: s.negTTL},
		Ns:      "ns.test.",
		Mbox:    "hostmaster.test.",
		Serial:  1,
		Refresh: 3600,
		Retry:   600,
		Expire:  86400,
		Minttl:  s.negTTL,
	}
}
