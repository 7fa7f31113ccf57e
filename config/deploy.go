package config

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// HTTP is the listener for what is not mail: ACME challenges, /metrics,
// /healthz, client autoconfiguration and MTA-STS policies.
type HTTP struct {
	Listen      string   `toml:"listen"`       // plain HTTP (ACME HTTP-01, autoconfig)
	ListenTLS   string   `toml:"listen_tls"`   // HTTPS (ACME TLS-ALPN-01, MTA-STS)
	MetricsFrom []Prefix `toml:"metrics_from"` // who may read /metrics
}

// MTASTS is the MTA-STS policy published for every served domain
// (RFC 8461).
type MTASTS struct {
	Mode   string        `toml:"mode"`    // testing | enforce | none
	MaxAge time.Duration `toml:"max_age"` // how long senders cache the policy
}

// MTA-STS modes (RFC 8461 §5).
const (
	MTASTSTesting = "testing"
	MTASTSEnforce = "enforce"
	MTASTSNone    = "none"
)

// DNS is how the server looks names up, and what "postern dns" prints.
type DNS struct {
	// Servers are resolvers as "host:port"; empty uses the system's
	// (/etc/resolv.conf).
	Servers []string `toml:"servers"`
	// PublicIP are the server's public addresses, for the A/AAAA and PTR
	// records "postern dns" prints and checks.
	PublicIP []netip.Addr `toml:"public_ip"`
}

// LetsEncrypt is the default ACME directory: Let's Encrypt's production CA.
const LetsEncrypt = "https://acme-v02.api.letsencrypt.org/directory"

// Prefix is a network in CIDR form ("10.0.0.0/8", "2001:db8::/32") or a
// single address ("192.0.2.7", taken as /32 or /128).
type Prefix struct{ netip.Prefix }

// UnmarshalText parses a Prefix from the config file.
func (p *Prefix) UnmarshalText(text []byte) error {
	v, err := ParsePrefix(string(text))
	if err != nil {
		return err
	}
	*p = v
	return nil
}

// ParsePrefix parses a CIDR or a single address; IPv4-mapped IPv6
// addresses become IPv4.
func ParsePrefix(s string) (Prefix, error) {
	if pf, err := netip.ParsePrefix(s); err == nil {
		if pf.Addr().Is4In6() && pf.Bits() >= 96 {
			pf = netip.PrefixFrom(pf.Addr().Unmap(), pf.Bits()-96)
		}
		return Prefix{pf.Masked()}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return Prefix{}, fmt.Errorf("%q is neither a CIDR (e.g. \"10.0.0.0/8\") nor an IP address", s)
	}
	a = a.Unmap()
	return Prefix{netip.PrefixFrom(a, a.BitLen())}, nil
}

// Prefixes returns the networks of ps.
func Prefixes(ps []Prefix) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = p.Prefix
	}
	return out
}

func deployDefaults(c *Config) {
	c.HTTP = HTTP{Listen: ":80", ListenTLS: ":443", MetricsFrom: []Prefix{
		{netip.MustParsePrefix("127.0.0.0/8")}, {netip.MustParsePrefix("::1/128")},
	}}
	c.MTASTS = MTASTS{Mode: MTASTSTesting, MaxAge: 7 * 24 * time.Hour}
	c.TLS.ACMEDirectory = LetsEncrypt
}

// HTTPListeners lists the HTTP listen keys.
func (c *Config) HTTPListeners() []Listener {
	return []Listener{
		{"[http] listen", c.HTTP.Listen},
		{"[http] listen_tls", c.HTTP.ListenTLS},
	}
}

func (c *Config) validateDeploy(bad func(key, format string, args ...any)) {
	for _, l := range c.HTTPListeners() {
		if err := checkListen(l.Addr); err != nil {
			bad(l.Key, "%v", err)
		}
	}
	switch c.MTASTS.Mode {
	case MTASTSTesting, MTASTSEnforce, MTASTSNone:
	default:
		bad("[mta_sts] mode", "%q: want \"testing\", \"enforce\" or \"none\"", c.MTASTS.Mode)
	}
	// RFC 8461 §3.2: max_age is at most 31557600 seconds (a year).
	if c.MTASTS.MaxAge < time.Hour || c.MTASTS.MaxAge > 31557600*time.Second {
		bad("[mta_sts] max_age", "%v: want from \"1h\" to \"8766h\" (a year; weeks are usual, e.g. \"168h\")", c.MTASTS.MaxAge)
	}
	for _, s := range c.DNS.Servers {
		host, port, err := net.SplitHostPort(s)
		if p, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || p < 1 || p > 65535 {
			bad("[dns] servers", "%q is not host:port (e.g. \"127.0.0.1:53\"; empty uses /etc/resolv.conf)", s)
		}
	}
	for _, a := range c.DNS.PublicIP {
		if !a.IsValid() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() {
			bad("[dns] public_ip", "%v is not a public address of this server", a)
		}
	}
	t := c.TLS
	if t.ACME {
		if t.Cert != "" || t.Key != "" {
			bad("[tls] acme", "true together with cert and key: choose ACME or certificate files")
		}
		if !strings.HasPrefix(t.ACMEDirectory, "https://") {
			bad("[tls] acme_directory", "%q: want an https:// ACME directory URL (default %s)", t.ACMEDirectory, LetsEncrypt)
		}
		if c.HTTP.ListenTLS == "" && c.HTTP.Listen == "" {
			bad("[tls] acme", "needs [http] listen_tls (TLS-ALPN-01 on port 443) or [http] listen (HTTP-01 on port 80)")
		}
		if strings.Count(strings.Trim(c.Hostname, "."), ".") == 0 || net.ParseIP(c.Hostname) != nil {
			bad("[tls] acme", "hostname %q: a CA issues certificates for public DNS names only", c.Hostname)
		}
	}
	if t.ACMEEmail != "" && (!strings.Contains(t.ACMEEmail, "@") || strings.ContainsAny(t.ACMEEmail, " \t<>")) {
		bad("[tls] acme_email", "%q is not an email address", t.ACMEEmail)
	}
}

// MailPorts are the ports of the mail listeners; 0 is a listener that is
// off. Autoconfiguration and "postern dns" tell clients about them.
type MailPorts struct {
	SMTP                      int
	Submission, SubmissionTLS int // STARTTLS, implicit TLS
	IMAP, IMAPTLS             int
	POP3, POP3TLS             int
}

// MailPorts returns the configured ports. Behind port forwarding (Docker's
// published ports) the listen ports are the public ones too: publish them
// unchanged.
func (c *Config) MailPorts() MailPorts {
	return MailPorts{
		SMTP:       PortOf(c.SMTP.Listen),
		Submission: PortOf(c.Submission.Listen), SubmissionTLS: PortOf(c.Submission.ListenTLS),
		IMAP: PortOf(c.IMAP.Listen), IMAPTLS: PortOf(c.IMAP.ListenTLS),
		POP3: PortOf(c.POP3.Listen), POP3TLS: PortOf(c.POP3.ListenTLS),
	}
}

// PortOf is the port of a listen address ("" and bad addresses give 0).
func PortOf(addr string) int {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return 0
	}
	p, _ := strconv.Atoi(port)
	return p
}
