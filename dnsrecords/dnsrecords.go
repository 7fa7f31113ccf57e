// Package dnsrecords lists the DNS records a domain served by Postern
// needs, in zone-file form, and checks what the DNS actually answers for
// each: MX, the hostname's addresses, SPF, DKIM, DMARC, MTA-STS, TLS-RPT,
// the SRV records of RFC 6186/8314, the autoconfig/autodiscover names, and
// the PTR records that the hosting provider publishes.
package dnsrecords

import (
	"fmt"
	"io"
	"net/netip"
	"strings"

	"postern/config"
	"postern/dkim"
	"postern/mtasts"
)

// Params describe one served domain and the server.
type Params struct {
	Domain    string
	Hostname  string
	PublicIPs []netip.Addr // [dns] public_ip; empty: A/AAAA and PTR are hints
	Ports     config.MailPorts
	DKIM      *dkim.Key // nil: no key for this domain yet
	MTASTS    mtasts.Policy
}

// Kind says what a record is for; Check compares by kind.
type Kind int

const (
	MX Kind = iota
	Address
	SPF
	DKIM
	DMARC
	MTASTSRecord
	MTASTSHost
	TLSRPT
	SRV
	ClientName // autoconfig., autodiscover.
	PTR
)

// Record is one record to publish.
type Record struct {
	Kind     Kind
	Name     string // fully qualified, with the final dot
	Type     string // MX, A, AAAA, TXT, SRV, CNAME, PTR
	Value    string // RDATA in zone-file form
	Required bool   // mail is not delivered, or not accepted by others, without it
	Comment  string // what it is for
	// Hint: the value is a placeholder the user must fill in.
	Hint bool
	// Provider: published by the owner of the address (the hosting
	// provider), not in the domain's zone.
	Provider bool

	srvService string // "submissions", ... for SRV
	port       int    // for SRV
	target     string // host name an SRV, CNAME or MX points to
}

// String is the zone-file line; hints and provider records are commented
// out, since they cannot be pasted as they are.
func (r Record) String() string {
	line := fmt.Sprintf("%s\t3600\tIN\t%s\t%s", r.Name, r.Type, r.Value)
	if r.Hint || r.Provider {
		line = "; " + line
	}
	return line
}

func fqdn(s string) string { return strings.ToLower(strings.TrimSuffix(s, ".")) + "." }

// quoteTXT writes a TXT value as quoted strings of at most 255 octets each
// (RFC 1035 §3.3.14); resolvers join them again.
func quoteTXT(v string) string {
	var parts []string
	for len(v) > 255 {
		parts = append(parts, `"`+v[:255]+`"`)
		v = v[255:]
	}
	return strings.Join(append(parts, `"`+v+`"`), " ")
}

// SPFValue, DMARCValue and TLSRPTValue are the TXT values printed.
func SPFValue() string { return "v=spf1 mx -all" }

// DMARCValue asks receivers to quarantine mail failing DMARC and to send
// aggregate reports to postmaster (RFC 7489 §6.3).
func DMARCValue(domain string) string {
	return "v=DMARC1; p=quarantine; rua=mailto:postmaster@" + strings.ToLower(domain)
}

// TLSRPTValue asks senders to report TLS failures to postmaster (RFC 8460).
func TLSRPTValue(domain string) string {
	return "v=TLSRPTv1; rua=mailto:postmaster@" + strings.ToLower(domain)
}

// Records lists the records of p, in the order they are printed.
func Records(p Params) []Record {
	d, h := fqdn(p.Domain), fqdn(p.Hostname)
	var rs []Record
	add := func(r Record) { rs = append(rs, r) }

	add(Record{Kind: MX, Name: d, Type: "MX", Value: "10 " + h, target: h, Required: true,
		Comment: "mail for " + p.Domain + " goes to this server"})

	if len(p.PublicIPs) == 0 {
		add(Record{Kind: Address, Name: h, Type: "A", Value: "203.0.113.10", Hint: true, Required: true,
			Comment: "this server's IPv4 address (set [dns] public_ip to print and check the real one)"})
		add(Record{Kind: Address, Name: h, Type: "AAAA", Value: "2001:db8::10", Hint: true,
			Comment: "this server's IPv6 address, if it has one"})
	}
	for _, ip := range p.PublicIPs {
		typ := "A"
		if ip.Is6() && !ip.Is4In6() {
			typ = "AAAA"
		}
		add(Record{Kind: Address, Name: h, Type: typ, Value: ip.Unmap().String(), Required: true,
			Comment: "the hostname's address"})
	}

	add(Record{Kind: SPF, Name: d, Type: "TXT", Value: quoteTXT(SPFValue()), Required: true,
		Comment: "SPF: only the MX hosts send mail for " + p.Domain + " (RFC 7208)"})
	if p.DKIM != nil {
		add(Record{Kind: DKIM, Name: p.DKIM.RecordName(), Type: "TXT", Value: quoteTXT(p.DKIM.TXT()), Required: true,
			Comment: "DKIM public key, selector " + p.DKIM.Selector + " (RFC 6376)"})
	} else {
		add(Record{Kind: DKIM, Name: "postern._domainkey." + d, Type: "TXT", Value: `"v=DKIM1; k=ed25519; p=..."`, Hint: true, Required: true,
			Comment: "DKIM: no key yet; run \"postern dkim keygen " + p.Domain + "\" and print again"})
	}
	add(Record{Kind: DMARC, Name: "_dmarc." + d, Type: "TXT", Value: quoteTXT(DMARCValue(p.Domain)), Required: true,
		Comment: "DMARC policy and aggregate reports (RFC 7489)"})

	add(Record{Kind: MTASTSRecord, Name: "_mta-sts." + d, Type: "TXT", Value: quoteTXT(p.MTASTS.TXT()),
		Comment: "MTA-STS: the policy id changes whenever [mta_sts] does (RFC 8461 §3.1)"})
	add(Record{Kind: MTASTSHost, Name: "mta-sts." + d, Type: "CNAME", Value: h, target: h,
		Comment: "serves https://mta-sts." + p.Domain + "/.well-known/mta-sts.txt"})
	add(Record{Kind: TLSRPT, Name: "_smtp._tls." + d, Type: "TXT", Value: quoteTXT(TLSRPTValue(p.Domain)),
		Comment: "TLS reporting (RFC 8460)"})

	// RFC 6186 §3, RFC 8314 §5.1: implicit TLS is preferred (lower
	// priority value); a service that is off gets the target "." (RFC 6186
	// §3.4: not available).
	srv := func(service string, prio, port int) {
		name := "_" + service + "._tcp." + d
		if port == 0 {
			add(Record{Kind: SRV, Name: name, Type: "SRV", Value: "0 0 0 .", srvService: service, target: ".",
				Comment: service + " is off"})
			return
		}
		add(Record{Kind: SRV, Name: name, Type: "SRV", Value: fmt.Sprintf("%d 1 %d %s", prio, port, h),
			srvService: service, port: port, target: h, Comment: "client autoconfiguration (RFC 6186, RFC 8314)"})
	}
	srv("submissions", 0, p.Ports.SubmissionTLS)
	srv("submission", 10, p.Ports.Submission)
	srv("imaps", 0, p.Ports.IMAPTLS)
	srv("imap", 10, p.Ports.IMAP)
	srv("pop3s", 0, p.Ports.POP3TLS)
	srv("pop3", 10, p.Ports.POP3)

	add(Record{Kind: ClientName, Name: "autoconfig." + d, Type: "CNAME", Value: h, target: h,
		Comment: "Thunderbird autoconfiguration"})
	add(Record{Kind: ClientName, Name: "autodiscover." + d, Type: "CNAME", Value: h, target: h,
		Comment: "Outlook autodiscover"})

	if len(p.PublicIPs) == 0 {
		add(Record{Kind: PTR, Name: "10.113.0.203.in-addr.arpa.", Type: "PTR", Value: h, Hint: true, Provider: true,
			Comment: "reverse DNS: ask your hosting provider to point your address at " + h})
	}
	for _, ip := range p.PublicIPs {
		add(Record{Kind: PTR, Name: reverseName(ip), Type: "PTR", Value: h, Provider: true, target: h,
			Comment: "reverse DNS: ask your hosting provider (many receivers refuse mail without it)"})
	}
	return rs
}

// reverseName is the in-addr.arpa or ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	b := ip.AsSlice()
	var parts []string
	if ip.Is4() {
		for i := len(b) - 1; i >= 0; i-- {
			parts = append(parts, fmt.Sprint(b[i]))
		}
		return strings.Join(parts, ".") + ".in-addr.arpa."
	}
	const hex = "0123456789abcdef"
	for i := len(b) - 1; i >= 0; i-- {
		parts = append(parts, string(hex[b[i]&0xf]), string(hex[b[i]>>4]))
	}
	return strings.Join(parts, ".") + ".ip6.arpa."
}

// WriteZone prints records as a commented zone-file fragment.
func WriteZone(w io.Writer, domain string, rs []Record) {
	fmt.Fprintf(w, "; DNS records for %s, to add to its zone. Lines starting with \";\" are\n; placeholders or records published elsewhere: read their comment.\n", domain)
	for _, r := range rs {
		req := "optional"
		if r.Required {
			req = "required"
		}
		fmt.Fprintf(w, "\n; %s (%s)\n%s\n", r.Comment, req, r)
	}
}

// ParamsFor returns the parameters of domain under cfg, with its DKIM key
// from data_dir (nil if there is none yet).
func ParamsFor(cfg *config.Config, domain string) (Params, error) {
	keys, err := dkim.Load(cfg.DataDir, []string{domain}, cfg.DKIM.Selector)
	if err != nil {
		return Params{}, err
	}
	return Params{
		Domain:    strings.ToLower(domain),
		Hostname:  cfg.Hostname,
		PublicIPs: cfg.DNS.PublicIP,
		Ports:     cfg.MailPorts(),
		DKIM:      keys[strings.ToLower(domain)],
		MTASTS:    mtasts.FromConfig(cfg),
	}, nil
}
