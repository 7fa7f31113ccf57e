// Package config loads and checks Postern's config.toml. Every key has a
// compiled-in production default; unknown keys and bad values are errors that
// name the key, and the server does not start on them.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
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
	Storage    Storage    `toml:"storage"`
}

// Storage is how the store keeps its history.
type Storage struct {
	// ExpungeHistory is how long expunged UIDs stay on record, so that
	// an IMAP client resyncing after that long is told what vanished
	// (RFC 7162 QRESYNC); one that stayed away longer resyncs fully.
	ExpungeHistory time.Duration `toml:"expunge_history"`
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
		Auth:     defaultAuth(),
		Limits:   Limits{ConnectionsPerIP: 100, ConnectionsPerAccountIP: 20, Connections: 10000},
		Delivery: Delivery{RelayTLS: RelayStartTLS, MaxQueueAge: 120 * time.Hour},
		DKIM:     DKIM{Selector: "postern"},
		Storage:  Storage{ExpungeHistory: 720 * time.Hour},
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

// Load reads and checks the file at path, on top of the defaults. Relative
// paths in it (data_dir, [tls] cert and key) are taken from the folder of
// the file, not the current directory: "postern -config
// /etc/postern/config.toml user list" run from anywhere opens the same
// store.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w (give the file with -config FILE or $POSTERN_CONFIG)", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	cfg, err := parse(string(data), filepath.Dir(abs))
	if err != nil {
		return Config{}, fmt.Errorf("%s: %w", path, err)
	}
	return cfg, nil
}

// Parse reads a config from TOML text, on top of the defaults, and checks
// it. Relative paths stay relative to the current directory.
func Parse(text string) (Config, error) { return parse(text, "") }

// parse reads and checks a config, taking relative paths from dir ("": as
// they are). Unknown keys and bad values are reported together.
func parse(text, dir string) (Config, error) {
	cfg := Default()
	md, err := toml.Decode(text, &cfg)
	if err != nil {
		return Config{}, decodeError(err)
	}
	var errs []error
	if undec := md.Undecoded(); len(undec) > 0 {
		keys := make([]string, len(undec))
		for i, k := range undec {
			keys[i] = KeyName(k.String())
		}
		errs = append(errs, fmt.Errorf("unknown key %s (check the spelling against config.toml in the Postern repository)", strings.Join(keys, ", ")))
	}
	if dir != "" {
		for _, p := range []*string{&cfg.DataDir, &cfg.TLS.Cert, &cfg.TLS.Key} {
			if *p != "" && !filepath.IsAbs(*p) {
				*p = filepath.Join(dir, *p)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	return cfg, nil
}

// typeError is the form of BurntSushi/toml's type mismatch errors, which
// are not ParseErrors.
var typeError = regexp.MustCompile(`^toml: (?:line (\d+) )?\(last key "([^"]+)"\): (.*)$`)

// decodeError rewrites a TOML decoding error so that it names the key as
// this file and the README write it ("[auth] lockout_duration") and says
// what to write instead.
func decodeError(err error) error {
	var perr toml.ParseError
	if errors.As(err, &perr) {
		msg := perr.Message
		if strings.Contains(msg, "invalid duration") {
			msg += `; write a duration such as "90s", "15m" or "120h" (units h, m, s; no days)`
		}
		if perr.LastKey != "" {
			return fmt.Errorf("%s (line %d): %s", KeyName(perr.LastKey), perr.Position.Line, msg)
		}
		return fmt.Errorf("line %d: %s", perr.Position.Line, msg)
	}
	if m := typeError.FindStringSubmatch(err.Error()); m != nil {
		msg := strings.Replace(m[3], "incompatible types: TOML value has type", "the value is", 1)
		msg = strings.Replace(msg, "destination has type", "want", 1)
		if m[1] != "" {
			return fmt.Errorf("%s (line %s): %s", KeyName(m[2]), m[1], msg)
		}
		return fmt.Errorf("%s: %s", KeyName(m[2]), msg)
	}
	return err
}

// KeyName writes a dotted TOML key as the documentation does:
// "auth.lockout_duration" is "[auth] lockout_duration"; a top-level key
// stays as it is.
func KeyName(dotted string) string {
	if i := strings.LastIndexByte(dotted, '.'); i > 0 {
		return "[" + dotted[:i] + "] " + dotted[i+1:]
	}
	return dotted
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
	c.validateAuth(bad)
	c.validateDelivery(bad)
	c.validateDeploy(bad)
	if h := c.Storage.ExpungeHistory; h < time.Hour || h > 87660*time.Hour {
		bad("[storage] expunge_history", "%v: want from \"1h\" to \"87660h\" (ten years; e.g. \"720h\", 30 days)", h)
	}
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
