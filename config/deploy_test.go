package config

import (
	"net/netip"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDeployDefaults(t *testing.T) {
	c := Default()
	if c.HTTP.Listen != ":80" || c.HTTP.ListenTLS != ":443" {
		t.Errorf("[http] defaults %+v", c.HTTP)
	}
	if got := Prefixes(c.HTTP.MetricsFrom); len(got) != 2 || got[0].String() != "127.0.0.0/8" || got[1].String() != "::1/128" {
		t.Errorf("[http] metrics_from default %v, want loopback", got)
	}
	if c.MTASTS.Mode != "testing" || c.MTASTS.MaxAge != 168*time.Hour {
		t.Errorf("[mta_sts] defaults %+v", c.MTASTS)
	}
	if c.TLS.ACME || c.TLS.ACMEDirectory != LetsEncrypt {
		t.Errorf("[tls] acme defaults %+v", c.TLS)
	}
	if len(c.Limits.ProxyProtocolFrom) != 0 || len(c.DNS.Servers) != 0 || len(c.DNS.PublicIP) != 0 {
		t.Error("proxy_protocol_from, [dns] servers and public_ip must default to empty")
	}
	p := c.MailPorts()
	if p != (MailPorts{SMTP: 25, Submission: 587, SubmissionTLS: 465, IMAP: 143, IMAPTLS: 993, POP3: 110, POP3TLS: 995}) {
		t.Errorf("MailPorts %+v", p)
	}
}

func TestDeployQuickStart(t *testing.T) {
	c, err := Load(filepath.Join("..", "config.toml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTP.Listen != "127.0.0.1:28080" || c.HTTP.ListenTLS != "127.0.0.1:28443" {
		t.Errorf("quick start [http] %+v", c.HTTP)
	}
}

func TestDeployKeys(t *testing.T) {
	c, err := Parse(`
hostname = "mail.example.org"
[limits]
proxy_protocol_from = ["10.0.0.0/8", "192.0.2.7", "2001:db8::/32", "::ffff:198.51.100.1"]
[http]
metrics_from = ["10.1.0.0/16"]
[mta_sts]
mode = "enforce"
max_age = "720h"
[dns]
servers = ["127.0.0.1:5353", "[::1]:53"]
public_ip = ["203.0.113.10", "2001:db8::10"]
[tls]
acme = true
acme_email = "admin@example.org"
acme_directory = "https://acme-staging-v02.api.letsencrypt.org/directory"
`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range c.Limits.ProxyProtocolFrom {
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/8 192.0.2.7/32 2001:db8::/32 198.51.100.1/32" {
		t.Errorf("proxy_protocol_from %v", got)
	}
	if c.MTASTS.Mode != "enforce" || c.MTASTS.MaxAge != 720*time.Hour || len(c.DNS.Servers) != 2 ||
		c.DNS.PublicIP[1] != netip.MustParseAddr("2001:db8::10") || !c.TLS.ACME || c.TLS.ACMEEmail != "admin@example.org" {
		t.Errorf("parsed %+v %+v %+v", c.MTASTS, c.DNS, c.TLS)
	}
}

func TestDeployErrorsNameTheKey(t *testing.T) {
	cases := []struct{ text, want string }{
		{"[http]\nlisten = \"80\"", "[http] listen"},
		{"[http]\nlisten_tls = \"x:99999\"", "[http] listen_tls"},
		{"[http]\nmetrics_from = [\"10.0.0.0/33\"]", "[http] metrics_from"},
		{"[http]\nmetrics_fron = []", "unknown key [http] metrics_fron"},
		{"[limits]\nproxy_protocol_from = [\"example.com\"]", "[limits] proxy_protocol_from"},
		{"[mta_sts]\nmode = \"strict\"", "[mta_sts] mode"},
		{"[mta_sts]\nmax_age = \"10m\"", "[mta_sts] max_age"},
		{"[mta_sts]\nmax_age = \"9000h\"", "[mta_sts] max_age"},
		{"[dns]\nservers = [\"127.0.0.1\"]", "[dns] servers"},
		{"[dns]\npublic_ip = [\"127.0.0.1\"]", "[dns] public_ip"},
		{"[dns]\npublic_ip = [\"mail.example.com\"]", "[dns] public_ip"},
		{"hostname = \"mail.example.org\"\n[tls]\nacme = true\nacme_directory = \"http://ca.example/dir\"", "[tls] acme_directory"},
		{"hostname = \"localhost\"\n[tls]\nacme = true", "[tls] acme"},
		{"hostname = \"mail.example.org\"\n[tls]\nacme = true\n[http]\nlisten = \"\"\nlisten_tls = \"\"", "[tls] acme"},
		{"[tls]\nacme_email = \"not an address\"", "[tls] acme_email"},
	}
	for _, c := range cases {
		_, err := Parse(c.text)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one naming %s", c.text, err, c.want)
		}
	}
}
