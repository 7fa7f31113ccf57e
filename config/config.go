// Package config loads and checks Postern's config.toml. Every key has a
// compiled-in production default; unknown keys and bad values are errors that
// name the key, and the server does not start on them.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"postern/mailaddr"
)

// Config is the whole configuration file.
type Config struct {
	Hostname   string     `toml:"hostname"`
	DataDir    string     `toml:"data_dir"`
	Domains    []string   `toml:"domains"`
	LogFormat  string     `toml:"log_format"`
	TLS        TLS        `toml:"tls"`
	SMTP       SMTP       `toml:"smtp"`
	Submission Submission `toml:"submission"`
	IMAP       IMAP       `toml:"imap"`
	POP3       POP3       `toml:"pop3"`
	Auth       Auth       `toml:"auth"`
	Limits     Limits     `toml:"limits"`
	Delivery   Delivery   `toml:"delivery"`
	DKIM       DKIM       `toml:"dkim"`
	HTTP       HTTP       `toml:"http"`
	MTASTS     MTASTS     `toml:"mta_sts"`
	DNS        DNS        `toml:"dns"`
}

// TLS names the certificate files; both empty means a self-signed certificate
// generated into data_dir (fit for a quick start, not for the internet),
// unless ACME obtains certificates from a CA.
type TLS struct {
	Cert          string `toml:"cert"`
	Key           string `toml:"key"`
	ACME          bool   `toml:"acme"`
	ACMEEmail     string `toml:"acme_email"`
	ACMEDirectory string `toml:"acme_directory"`
}

// SMTP is the MX listener: mail from the internet for the served domains.
type SMTP struct {
	Listen          string `toml:"listen"`
	MaxMessageBytes int64  `toml:"max_message_bytes"`
	MaxRecipients   int    `toml:"max_recipients"`
}

// Submission is where users' clients send mail: TLS and AUTH required.
type Submission struct {
	Listen    string `toml:"listen"`     // STARTTLS
	ListenTLS string `toml:"listen_tls"` // implicit TLS
	// AllowFromDomains lists domains whose addresses any authenticated
	// user may put in the From and Sender header fields of submitted mail
	// (a newsletter domain, say). Otherwise those fields must name the
	// user's own address or aliases. Default: none.
	AllowFromDomains []string `toml:"allow_from_domains"`
}

// IMAP listeners.
type IMAP struct {
	Listen    string `toml:"listen"`
	ListenTLS string `toml:"listen_tls"`
}

// POP3 listeners and what happens to messages deleted over POP3.
type POP3 struct {
	Listen    string `toml:"listen"`
	ListenTLS string `toml:"listen_tls"`
	Delete    string `toml:"delete"` // expunge | flag | trash
}

// Auth holds login policy.
type Auth struct {
	PlaintextOnLoopback bool `toml:"plaintext_on_loopback"`
}

// Delivery is outbound mail: the queue and, optionally, a smarthost relay
// that takes all remote mail instead of the recipients' mail exchangers.
type Delivery struct {
	Relay         string        `toml:"relay"` // "host:port"; empty: deliver to MX directly
	RelayUsername string        `toml:"relay_username"`
	RelayPassword string        `toml:"relay_password"`
	RelayTLS      string        `toml:"relay_tls"`     // starttls | tls | none
	MaxQueueAge   time.Duration `toml:"max_queue_age"` // e.g. "120h"; then the sender gets a bounce
}

// Relay TLS modes.
const (
	RelayStartTLS = "starttls"
	RelayTLS      = "tls"
	RelayNone     = "none"
)

// DKIM is outbound signing. Keys are files in data_dir/dkim made by
// "postern dkim keygen"; a domain with a key has its mail signed.
type DKIM struct {
	Selector string `toml:"selector"`
}

// Limits caps what one listener holds open. A connection over a cap is
// closed at once. Raise connections_per_ip when many clients share one
// address (a webmail host, a large office behind one NAT address).
type Limits struct {
	ConnectionsPerIP int `toml:"connections_per_ip"` // per client address (IPv6: per /64); 0 = no cap
	Connections      int `toml:"connections"`        // in all, per listener; 0 = no cap
	// ProxyProtocolFrom are the load balancers whose PROXY protocol
	// header gives the real client address; empty turns it off.
	ProxyProtocolFrom []Prefix `toml:"proxy_protocol_from"`
}

// Default returns the production defaults: standard ports on all interfaces.
func Default() Config {
	c := Config{
		Hostname:  "mail.example.com",
		DataDir:   "/var/lib/postern",
		Domains:   []string{"example.com"},
		LogFormat: "text",
		SMTP:      SMTP{Listen: ":25", MaxMessageBytes: 26214400, MaxRecipients: 100},
		Submission: Submission{
			Listen:    ":587",
			ListenTLS: ":465",
		},
		IMAP:     IMAP{Listen: ":143", ListenTLS: ":993"},
		POP3:     POP3{Listen: ":110", ListenTLS: ":995", Delete: "expunge"},
		Auth:     Auth{PlaintextOnLoopback: true},
		Limits:   Limits{ConnectionsPerIP: 100, Connections: 10000},
		Delivery: Delivery{RelayTLS: RelayStartTLS, MaxQueueAge: 120 * time.Hour},
		DKIM:     DKIM{Selector: "postern"},
	}
	deployDefaults(&c)
	return c
}

// POP3 delete policies (see DESIGN.md, cross-protocol semantics).
const (
	DeleteExpunge = "expunge"
	DeleteFlag    = "flag"
	DeleteTrash   = "trash"
)

// Path finds the config file: the -config flag, else $POSTERN_CONFIG, else
// ./config.toml.
func Path(flagValue string) string {
	if flagValue != "" {
		return flagValue
	}
	if env := os.Getenv("POSTERN_CONFIG"); env != "" {
		return env
	}
	return "config.toml"
}

// Load reads and checks the file at path, on top of the defaults.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w (give the file with -config FILE or $POSTERN_CONFIG)", err)
	}
	cfg, err := Parse(string(data))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse reads a config from TOML text, on top of the defaults, and checks it.
func Parse(text string) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		var perr toml.ParseError
		if errors.As(err, &perr) {
			if perr.LastKey != "" {
				return Config{}, fmt.Errorf("line %d: %s (key %s)", perr.Position.Line, perr.Message, perr.LastKey)
			}
			return Config{}, fmt.Errorf("line %d: %s", perr.Position.Line, perr.Message)
		}
		return Config{}, err
	}
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = k.String()
		}
		return Config{}, fmt.Errorf("unknown key %s (check the spelling against config.toml in the Postern repository)", strings.Join(keys, ", "))
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks every value and names the key of the first bad one.
func (c *Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", key, fmt.Sprintf(format, args...)))
	}
	if c.Hostname == "" || strings.ContainsAny(c.Hostname, " \t/@") {
		bad("hostname", "%q is not a host name", c.Hostname)
	}
	if c.DataDir == "" {
		bad("data_dir", "must not be empty")
	}
	if len(c.Domains) == 0 {
		bad("domains", "list at least one domain this server receives mail for")
	}
	seen := map[string]bool{}
	for i, d := range c.Domains {
		d, err := mailaddr.ParseDomain(strings.TrimSpace(d))
		if err != nil || strings.HasPrefix(d, "[") {
			bad("domains", "%q is not a domain name", c.Domains[i])
			continue
		}
		if seen[d] {
			bad("domains", "%q is listed twice", d)
		}
		seen[d] = true
		c.Domains[i] = d
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("log_format", "%q: want \"text\" or \"json\"", c.LogFormat)
	}
	if (c.TLS.Cert == "") != (c.TLS.Key == "") {
		bad("[tls] cert and key", "set both or neither (neither generates a self-signed certificate)")
	}
	for _, f := range []struct{ key, path string }{{"[tls] cert", c.TLS.Cert}, {"[tls] key", c.TLS.Key}} {
		if f.path != "" {
			if _, err := os.Stat(f.path); err != nil {
				bad(f.key, "%v", err)
			}
		}
	}
	for _, l := range c.Listeners() {
		if err := checkListen(l.Addr); err != nil {
			bad(l.Key, "%v", err)
		}
	}
	c.validateAllowFrom(bad)
	if c.SMTP.MaxMessageBytes < 1024 {
		bad("[smtp] max_message_bytes", "%d is too small (at least 1024)", c.SMTP.MaxMessageBytes)
	}
	if c.SMTP.MaxRecipients < 1 {
		bad("[smtp] max_recipients", "%d: must be at least 1", c.SMTP.MaxRecipients)
	}
	switch c.POP3.Delete {
	case DeleteExpunge, DeleteFlag, DeleteTrash:
	default:
		bad("[pop3] delete", "%q: want \"expunge\", \"flag\" or \"trash\"", c.POP3.Delete)
	}
	if c.Limits.ConnectionsPerIP < 0 {
		bad("[limits] connections_per_ip", "%d: must be 0 (no cap) or more", c.Limits.ConnectionsPerIP)
	}
	if c.Limits.Connections < 0 {
		bad("[limits] connections", "%d: must be 0 (no cap) or more", c.Limits.Connections)
	}
	c.validateDelivery(bad)
	c.validateDeploy(bad)
	return errors.Join(errs...)
}

// validateAllowFrom checks and lower-cases [submission] allow_from_domains.
func (c *Config) validateAllowFrom(bad func(key, format string, args ...any)) {
	seen := map[string]bool{}
	for i, d := range c.Submission.AllowFromDomains {
		d, err := mailaddr.ParseDomain(strings.TrimSpace(d))
		if err != nil || strings.HasPrefix(d, "[") {
			bad("[submission] allow_from_domains", "%q is not a domain name (list domains, e.g. [\"news.example.com\"]; no wildcards)", c.Submission.AllowFromDomains[i])
			continue
		}
		if seen[d] {
			bad("[submission] allow_from_domains", "%q is listed twice", d)
		}
		seen[d] = true
		c.Submission.AllowFromDomains[i] = d
	}
}

func (c *Config) validateDelivery(bad func(key, format string, args ...any)) {
	d := c.Delivery
	if d.Relay != "" {
		host, _, _ := net.SplitHostPort(d.Relay)
		if checkListen(d.Relay) != nil || host == "" {
			bad("[delivery] relay", "%q is not host:port (e.g. \"smtp.provider.net:587\"; empty delivers to each domain's MX)", d.Relay)
		}
	}
	switch d.RelayTLS {
	case RelayStartTLS, RelayTLS, RelayNone:
	default:
		bad("[delivery] relay_tls", "%q: want \"starttls\", \"tls\" or \"none\"", d.RelayTLS)
	}
	if (d.RelayUsername == "") != (d.RelayPassword == "") {
		bad("[delivery] relay_username and relay_password", "set both or neither")
	}
	if d.RelayUsername != "" && d.RelayTLS == RelayNone {
		bad("[delivery] relay_tls", "\"none\" with relay_username set: credentials are never sent without TLS")
	}
	if d.RelayUsername != "" && d.Relay == "" {
		bad("[delivery] relay_username", "set, but [delivery] relay is empty")
	}
	if d.MaxQueueAge < time.Minute {
		bad("[delivery] max_queue_age", "%v is too short (at least \"1m\"; e.g. \"120h\")", d.MaxQueueAge)
	}
	sel := c.DKIM.Selector
	if sel == "" || strings.Trim(sel, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") != "" ||
		strings.HasPrefix(sel, ".") || strings.HasSuffix(sel, ".") {
		bad("[dkim] selector", "%q is not a DNS label (letters, digits, '-', '.')", sel)
	}
}

// Listener is one configured listen address with its config key.
type Listener struct {
	Key  string // e.g. "[imap] listen_tls"
	Addr string // "" means off
}

// Listeners lists every listen key in a fixed order.
func (c *Config) Listeners() []Listener {
	return []Listener{
		{"[smtp] listen", c.SMTP.Listen},
		{"[submission] listen", c.Submission.Listen},
		{"[submission] listen_tls", c.Submission.ListenTLS},
		{"[imap] listen", c.IMAP.Listen},
		{"[imap] listen_tls", c.IMAP.ListenTLS},
		{"[pop3] listen", c.POP3.Listen},
		{"[pop3] listen_tls", c.POP3.ListenTLS},
	}
}

func checkListen(addr string) error {
	if addr == "" {
		return nil // off
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q is not host:port (e.g. \":993\" or \"127.0.0.1:2993\"; empty turns it off)", addr)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
		return fmt.Errorf("%q: port %q is not a number from 0 to 65535", addr, port)
	}
	if host != "" && net.ParseIP(host) == nil && strings.ContainsAny(host, " /") {
		return fmt.Errorf("%q: bad host %q", addr, host)
	}
	return nil
}

// ServesDomain reports whether domain is one of the served domains.
func (c *Config) ServesDomain(domain string) bool {
	domain = mailaddr.NormalizeDomain(domain)
	for _, d := range c.Domains {
		if d == domain {
			return true
		}
	}
	return false
}

// ShutdownTimeout bounds how long in-flight commands may run after SIGTERM.
const ShutdownTimeout = 10 * time.Second
