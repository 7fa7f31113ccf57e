package httpd

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"

	"postern/mailaddr"
)

// The answers below depend only on the config and the address a client
// names: no account is looked up, so an address that is not ours gets the
// same answer shape as one that is, and nothing is learned about accounts.

// maxAddressLen is the longest address accepted (RFC 5321 §4.5.3.1.3 path
// limit, less the brackets).
const maxAddressLen = 254

// checkAddress returns addr if it looks like local@domain, with no spaces
// or control characters.
func checkAddress(addr string) (string, bool) {
	addr = strings.TrimSpace(addr)
	if len(addr) > maxAddressLen || !utf8.ValidString(addr) {
		return "", false
	}
	for _, r := range addr {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == '<' || r == '>' {
			return "", false
		}
	}
	local, domain, ok := mailaddr.Split(addr)
	// A second "@" belongs only in a quoted local part (RFC 5321 §4.1.2).
	if ok && strings.Contains(local, "@") && !strings.HasPrefix(local, `"`) {
		ok = false
	}
	if !ok || strings.ContainsAny(domain, "@[]") || strings.HasPrefix(domain, ".") || strings.Contains(domain, "..") {
		return "", false
	}
	return local + "@" + strings.ToLower(domain), true
}

// domainFor picks the mail domain an answer describes: the address's domain
// if we serve it, else the autoconfig./autodiscover. host's, else the first
// served domain.
func (s *Server) domainFor(r *http.Request, addr string) string {
	if _, d, ok := mailaddr.Split(addr); ok && s.domains[d] {
		return d
	}
	h := requestHost(r)
	for _, p := range []string{"autoconfig.", "autodiscover."} {
		if d, ok := strings.CutPrefix(h, p); ok && s.domains[d] {
			return d
		}
	}
	return strings.ToLower(s.cfg.Domains[0])
}

// service is one way in for a client: a protocol on a port with implicit
// TLS or STARTTLS.
type service struct {
	proto    string // "imap", "pop3", "smtp"
	port     int
	implicit bool
}

// services lists the enabled ports, implicit TLS first (RFC 8314 §3
// prefers it), IMAP before POP3.
func (s *Server) services() []service {
	p := s.cfg.Ports
	var out []service
	add := func(proto string, port int, implicit bool) {
		if port > 0 {
			out = append(out, service{proto, port, implicit})
		}
	}
	add("imap", p.IMAPTLS, true)
	add("imap", p.IMAP, false)
	add("pop3", p.POP3TLS, true)
	add("pop3", p.POP3, false)
	add("smtp", p.SubmissionTLS, true)
	add("smtp", p.Submission, false)
	return out
}

// Thunderbird's autoconfig format, version 1.1.
type tbConfig struct {
	XMLName  xml.Name   `xml:"clientConfig"`
	Version  string     `xml:"version,attr"`
	Provider tbProvider `xml:"emailProvider"`
}

type tbProvider struct {
	ID        string     `xml:"id,attr"`
	Domains   []string   `xml:"domain"`
	Display   string     `xml:"displayName"`
	ShortName string     `xml:"displayShortName"`
	Incoming  []tbServer `xml:"incomingServer"`
	Outgoing  []tbServer `xml:"outgoingServer"`
}

type tbServer struct {
	Type       string `xml:"type,attr"`
	Hostname   string `xml:"hostname"`
	Port       int    `xml:"port"`
	SocketType string `xml:"socketType"` // SSL | STARTTLS
	Username   string `xml:"username"`
	Auth       string `xml:"authentication"`
}

func (s *Server) thunderbird(w http.ResponseWriter, r *http.Request) {
	addr := r.URL.Query().Get("emailaddress")
	if addr != "" {
		var ok bool
		if addr, ok = checkAddress(addr); !ok {
			http.Error(w, "emailaddress is not an email address", http.StatusBadRequest)
			return
		}
	}
	domain := s.domainFor(r, addr)
	cfg := tbConfig{Version: "1.1", Provider: tbProvider{
		ID:        domain,
		Domains:   s.cfg.Domains,
		Display:   domain + " mail",
		ShortName: domain,
	}}
	for _, sv := range s.services() {
		ts := tbServer{Type: sv.proto, Hostname: s.cfg.Hostname, Port: sv.port, SocketType: "STARTTLS",
			Username: "%EMAILADDRESS%", Auth: "password-cleartext"}
		if sv.implicit {
			ts.SocketType = "SSL"
		}
		if sv.proto == "smtp" {
			cfg.Provider.Outgoing = append(cfg.Provider.Outgoing, ts)
		} else {
			cfg.Provider.Incoming = append(cfg.Provider.Incoming, ts)
		}
	}
	writeXML(w, "application/xml", cfg)
}

func writeXML(w http.ResponseWriter, contentType string, v any) {
	out, err := xml.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType+"; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprint(w, xml.Header)
	w.Write(out)
	fmt.Fprintln(w)
}

// stableUUID derives a UUID (version 4 layout) from parts, so that the same
// profile downloaded twice replaces itself instead of adding a copy.
func stableUUID(parts ...string) string {
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	b := sum[:16]
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return strings.ToUpper(h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32])
}
