package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreProduction(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	want := map[string]string{
		"[smtp] listen": ":25", "[submission] listen": ":587", "[submission] listen_tls": ":465",
		"[imap] listen": ":143", "[imap] listen_tls": ":993", "[pop3] listen": ":110", "[pop3] listen_tls": ":995",
	}
	for _, l := range c.Listeners() {
		if want[l.Key] != l.Addr {
			t.Errorf("%s = %q, want %q", l.Key, l.Addr, want[l.Key])
		}
	}
	if c.SMTP.MaxMessageBytes != 26214400 || c.SMTP.MaxRecipients != 100 || c.POP3.Delete != "expunge" || !c.Auth.PlaintextOnLoopback ||
		c.Limits.ConnectionsPerIP != 100 || c.Limits.Connections != 10000 {
		t.Errorf("unexpected defaults: %+v", c)
	}
}

func TestQuickStartFile(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	ports := []string{"2525", "2587", "2465", "2143", "2993", "2110", "2995"}
	for i, l := range c.Listeners() {
		if l.Addr != "127.0.0.1:"+ports[i] {
			t.Errorf("%s = %q, want 127.0.0.1:%s", l.Key, l.Addr, ports[i])
		}
	}
	repo, _ := filepath.Abs("..")
	if c.DataDir != filepath.Join(repo, "data") || c.Hostname != "localhost" || len(c.Domains) != 1 || c.Domains[0] != "example.test" {
		t.Errorf("quick start = %+v", c)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ text, want string }{
		{`hostnme = "x"`, "unknown key hostnme"},
		{"[imap]\nlisten_tsl = \":993\"", "unknown key [imap] listen_tsl"},
		{"[imap]\nlisten = \"143\"", "[imap] listen"},
		{"[pop3]\nlisten_tls = \"x:99999\"", "[pop3] listen_tls"},
		{"[pop3]\ndelete = \"shred\"", "[pop3] delete"},
		{`log_format = "xml"`, "log_format"},
		{`domains = []`, "domains"},
		{`domains = ["a b"]`, "domains"},
		{"[tls]\ncert = \"" + filepath.Join(dir, "missing.pem") + "\"\nkey = \"" + filepath.Join(dir, "k.pem") + "\"", "[tls] cert"},
		{"[tls]\ncert = \"x.pem\"", "[tls] cert and key"},
		{"[smtp]\nmax_recipients = 0", "[smtp] max_recipients"},
		{"[submission]\nallow_from_domains = [\"a@b.test\"]", "[submission] allow_from_domains"},
		{"[submission]\nallow_from_domains = [\"*.b.test\"]", "[submission] allow_from_domains"},
		{"[submission]\nallow_from_domains = [\"\"]", "[submission] allow_from_domains"},
		{"[submission]\nallow_from_domains = [\"b.test\", \"B.test\"]", "[submission] allow_from_domains"},
		{"[submission]\nallow_from_domains = \"b.test\"", "allow_from_domains"},
		{"[smtp]\nmax_message_bytes = 10", "[smtp] max_message_bytes"},
		{`hostname = `, "line 1"},
		{`data_dir = 5`, "data_dir"},
		{"[limits]\nconnections_per_ip = -1", "[limits] connections_per_ip"},
		{"[limits]\nconnections = -5", "[limits] connections"},
	}
	for _, tc := range cases {
		_, err := Parse(tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error naming %q", tc.text, err, tc.want)
		}
	}
}

func TestEmptyListenTurnsOff(t *testing.T) {
	c, err := Parse("[pop3]\nlisten = \"\"\nlisten_tls = \"\"")
	if err != nil {
		t.Fatal(err)
	}
	if c.POP3.Listen != "" || c.POP3.ListenTLS != "" || c.IMAP.Listen != ":143" {
		t.Errorf("got %+v", c)
	}
}

func TestPathOrder(t *testing.T) {
	t.Setenv("POSTERN_CONFIG", "/env.toml")
	if p := Path("/flag.toml"); p != "/flag.toml" {
		t.Errorf("flag: %s", p)
	}
	if p := Path(""); p != "/env.toml" {
		t.Errorf("env: %s", p)
	}
	os.Unsetenv("POSTERN_CONFIG")
	if p := Path(""); p != "config.toml" {
		t.Errorf("default: %s", p)
	}
}

func TestServesDomain(t *testing.T) {
	c, _ := Parse(`domains = ["Example.TEST"]`)
	if !c.ServesDomain("example.test") || !c.ServesDomain("EXAMPLE.test.") || c.ServesDomain("other.test") {
		t.Error("ServesDomain is wrong")
	}
}

func TestDeliveryAndDKIM(t *testing.T) {
	c, err := Parse("")
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery.RelayTLS != "starttls" || c.Delivery.MaxQueueAge != 120*time.Hour || c.Delivery.Relay != "" || c.DKIM.Selector != "postern" {
		t.Errorf("defaults: %+v %+v", c.Delivery, c.DKIM)
	}
	c, err = Parse("[delivery]\nrelay = \"smtp.provider.test:587\"\nrelay_username = \"u\"\nrelay_password = \"p\"\nrelay_tls = \"tls\"\nmax_queue_age = \"48h\"\n[dkim]\nselector = \"mail2024\"\n")
	if err != nil {
		t.Fatal(err)
	}
	if c.Delivery.Relay != "smtp.provider.test:587" || c.Delivery.RelayTLS != "tls" || c.Delivery.MaxQueueAge != 48*time.Hour || c.DKIM.Selector != "mail2024" {
		t.Errorf("parsed: %+v %+v", c.Delivery, c.DKIM)
	}
	for _, bad := range []struct{ text, key string }{
		{"[delivery]\nrelay = \"nohost\"\n", "[delivery] relay"},
		{"[delivery]\nrelay = \":587\"\n", "[delivery] relay"},
		{"[delivery]\nrelay_tls = \"ssl\"\n", "[delivery] relay_tls"},
		{"[delivery]\nrelay = \"h:25\"\nrelay_username = \"u\"\n", "relay_password"},
		{"[delivery]\nrelay = \"h:25\"\nrelay_username = \"u\"\nrelay_password = \"p\"\nrelay_tls = \"none\"\n", "[delivery] relay_tls"},
		{"[delivery]\nrelay_username = \"u\"\nrelay_password = \"p\"\n", "[delivery] relay_username"},
		{"[delivery]\nmax_queue_age = \"10s\"\n", "[delivery] max_queue_age"},
		{"[delivery]\nmax_queue_age = \"5 days\"\n", `[delivery] max_queue_age (line 2): invalid duration: "5 days"; write a duration such as`},
		{"[storage]\nexpunge_history = \"30m\"\n", "[storage] expunge_history"},
		{"[storage]\nexpunge_history = \"100000h\"\n", "[storage] expunge_history"},
		{"[storage]\nexpunge_history = \"30 days\"\n", "[storage] expunge_history (line 2): invalid duration"},
		{"[storage]\nexpunge_histroy = \"1h\"\n", "unknown key [storage] expunge_histroy"},
		{"[dkim]\nselector = \"\"\n", "[dkim] selector"},
		{"[dkim]\nselector = \"a b\"\n", "[dkim] selector"},
		{"[dkim]\nselector = \"x/../y\"\n", "[dkim] selector"},
		{"[delivery]\nrelai = \"h:25\"\n", "relai"},
	} {
		if _, err := Parse(bad.text); err == nil || !strings.Contains(err.Error(), bad.key) {
			t.Errorf("%q: err %v, want one naming %s", bad.text, err, bad.key)
		}
	}
}

func TestAllowFromDomains(t *testing.T) {
	if d := Default().Submission.AllowFromDomains; len(d) != 0 {
		t.Errorf("default allow_from_domains = %q, want none", d)
	}
	c, err := Parse("[submission]\nallow_from_domains = [\"News.Example.COM\", \"letters.test\"]\n")
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Submission.AllowFromDomains; len(got) != 2 || got[0] != "news.example.com" || got[1] != "letters.test" {
		t.Errorf("allow_from_domains = %q", got)
	}
}

// Every bad value names its key as the README writes it, and says what to
// write instead.
func TestBadValuesNameTheirKey(t *testing.T) {
	for _, c := range []struct{ text, want string }{
		{"[auth]\nlockout_duration = \"5 days\"", `[auth] lockout_duration (line 2): invalid duration: "5 days"; write a duration such as "90s"`},
		{"[auth]\nlockout_duration = \"10s\"", "[auth] lockout_duration: 10s: want from \"1m\""},
		{"[auth]\ncache_ttl = \"48h\"", "[auth] cache_ttl: 48h0m0s"},
		{"[auth]\ncache_ttl = \"-1s\"", "[auth] cache_ttl"},
		{"[auth]\nlockout_failures = 0", "[auth] lockout_failures: 0"},
		{"[auth]\nlockout_failures = 10\nlockout_failures_per_address = 5", "[auth] lockout_failures_per_address: 5: want at least lockout_failures (10)"},
		{"[auth]\nslowdown_failures_per_account = 0", "[auth] slowdown_failures_per_account"},
		{"[auth]\nmin_password_length = 0", "[auth] min_password_length"},
		{"[auth]\ntrusted_networks = [\"10.0.0.0/40\"]", "[auth] trusted_networks (line 2): \"10.0.0.0/40\" is neither a CIDR"},
		{"[auth]\nlockout_failures = \"eight\"", "[auth] lockout_failures (line 2): the value is string; want integer"},
		{"[limits]\nconnections = \"many\"", "[limits] connections (line 2): the value is string; want integer"},
		{"[limits]\nconnections_per_account_ip = -1", "[limits] connections_per_account_ip"},
		{"data_dir = 5", "data_dir (line 1): the value is int64; want string"},
		{"[auth]\nlockout_failure = 8", "unknown key [auth] lockout_failure"},
	} {
		_, err := Parse(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one with %q", c.text, err, c.want)
		}
	}
	d := Default()
	if d.Auth.CacheTTL != time.Hour || d.Auth.LockoutFailures != 8 || d.Auth.LockoutFailuresPerAddress != 40 ||
		d.Auth.LockoutDuration != 15*time.Minute || len(d.Auth.TrustedNetworks) != 0 || d.Auth.SlowdownFailuresPerAccount != 50 ||
		d.Auth.MinPasswordLength != 10 || d.Limits.ConnectionsPerIP != 100 || d.Limits.ConnectionsPerAccountIP != 20 ||
		d.Limits.Connections != 10000 || !d.Auth.PlaintextOnLoopback {
		t.Errorf("defaults: %+v %+v", d.Auth, d.Limits)
	}
	c, err := Parse("[auth]\ncache_ttl = \"0s\"\ntrusted_networks = [\"10.0.0.0/8\", \"2001:db8::1\"]\n")
	if err != nil || c.Auth.CacheTTL != 0 || len(c.Auth.TrustedNetworks) != 2 || c.Auth.TrustedNetworks[1].String() != "2001:db8::1/128" {
		t.Errorf("parsed: %+v %v", c.Auth, err)
	}
}

// Relative paths are taken from the config file's folder, whatever the
// current directory.
func TestRelativePathsFromTheConfigFolder(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("x"), 0o600)
	os.WriteFile(filepath.Join(dir, "key.pem"), []byte("x"), 0o600)
	path := filepath.Join(dir, "config.toml")
	os.WriteFile(path, []byte("data_dir = \"data\"\n[tls]\ncert = \"cert.pem\"\nkey = \"./key.pem\"\n"), 0o600)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.DataDir != filepath.Join(dir, "data") || c.TLS.Cert != filepath.Join(dir, "cert.pem") || c.TLS.Key != filepath.Join(dir, "key.pem") {
		t.Errorf("paths: %q %q %q", c.DataDir, c.TLS.Cert, c.TLS.Key)
	}
	os.WriteFile(path, []byte("data_dir = \"/srv/mail\"\n"), 0o600)
	if c, err := Load(path); err != nil || c.DataDir != "/srv/mail" {
		t.Errorf("absolute data_dir: %q %v", c.DataDir, err)
	}
}

// Every problem of a file is reported at once: unknown keys and bad values.
func TestEveryProblemReported(t *testing.T) {
	_, err := Parse("bogus = 1\n[auth]\nlockout_failures = 0\nmin_password_length = 0\n[pop3]\ndelete = \"never\"\n")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"unknown key bogus", "[auth] lockout_failures", "[auth] min_password_length", "[pop3] delete"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestStorage(t *testing.T) {
	c, err := Parse("[storage]\nexpunge_history = \"48h\"\n")
	if err != nil || c.Storage.ExpungeHistory != 48*time.Hour {
		t.Fatalf("expunge_history: %v, %v", c.Storage.ExpungeHistory, err)
	}
	q, err := Load(filepath.Join("..", "config.toml"))
	if err != nil || q.Storage.ExpungeHistory != 720*time.Hour {
		t.Errorf("quick start expunge_history: %v, %v", q.Storage.ExpungeHistory, err)
	}
}
