package httpd

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"howett.net/plist"

	"postern/config"
)

// Thunderbird's format, read back as a client would.
type tbAnswer struct {
	XMLName  xml.Name `xml:"clientConfig"`
	Version  string   `xml:"version,attr"`
	Provider struct {
		ID       string   `xml:"id,attr"`
		Domains  []string `xml:"domain"`
		Incoming []struct {
			Type       string `xml:"type,attr"`
			Hostname   string `xml:"hostname"`
			Port       int    `xml:"port"`
			SocketType string `xml:"socketType"`
			Username   string `xml:"username"`
			Auth       string `xml:"authentication"`
		} `xml:"incomingServer"`
		Outgoing []struct {
			Type       string `xml:"type,attr"`
			Hostname   string `xml:"hostname"`
			Port       int    `xml:"port"`
			SocketType string `xml:"socketType"`
		} `xml:"outgoingServer"`
	} `xml:"emailProvider"`
}

func TestThunderbird(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	for _, u := range []string{
		"http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=" + url.QueryEscape("alice@example.org"),
		"https://autoconfig.example.org/.well-known/autoconfig/mail/config-v1.1.xml",
	} {
		resp, body := ts.get(t, u)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", u, resp.StatusCode)
		}
		var a tbAnswer
		if err := xml.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("%s: %v\n%s", u, err, body)
		}
		if a.Version != "1.1" || a.Provider.ID != "example.org" || strings.Join(a.Provider.Domains, ",") != "example.com,example.org" {
			t.Errorf("%s: provider %+v", u, a.Provider)
		}
		var in, out []string
		for _, s := range a.Provider.Incoming {
			if s.Hostname != "mail.example.com" || s.Username != "%EMAILADDRESS%" || s.Auth != "password-cleartext" {
				t.Errorf("incoming %+v", s)
			}
			in = append(in, s.Type+":"+itoa(s.Port)+":"+s.SocketType)
		}
		for _, s := range a.Provider.Outgoing {
			if s.Hostname != "mail.example.com" || s.Type != "smtp" {
				t.Errorf("outgoing %+v", s)
			}
			out = append(out, itoa(s.Port)+":"+s.SocketType)
		}
		if got := strings.Join(in, " "); got != "imap:993:SSL imap:143:STARTTLS pop3:995:SSL pop3:110:STARTTLS" {
			t.Errorf("incoming servers %s", got)
		}
		if got := strings.Join(out, " "); got != "465:SSL 587:STARTTLS" {
			t.Errorf("outgoing servers %s", got)
		}
	}
}

func itoa(n int) string {
	b, _ := xml.Marshal(n)
	return strings.TrimSuffix(strings.TrimPrefix(string(b), "<int>"), "</int>")
}

// The ports are the configured ones; a listener that is off is not offered.
func TestThunderbirdPortsFromConfig(t *testing.T) {
	cfg := baseConfig()
	cfg.Ports = config.MailPorts{IMAPTLS: 2993, SubmissionTLS: 2465}
	ts := start(t, cfg, nil)
	_, body := ts.get(t, "http://autoconfig.example.com/mail/config-v1.1.xml")
	var a tbAnswer
	if err := xml.Unmarshal([]byte(body), &a); err != nil {
		t.Fatal(err)
	}
	if len(a.Provider.Incoming) != 1 || a.Provider.Incoming[0].Port != 2993 ||
		len(a.Provider.Outgoing) != 1 || a.Provider.Outgoing[0].Port != 2465 {
		t.Errorf("got %+v", a.Provider)
	}
}

// Addresses that are not ours get the same answer shape: the structure
// (element names and attributes) with the address masked out is identical.
func TestSameShapeForUnknownAddresses(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	shape := func(body, addr string) string {
		s := strings.ReplaceAll(body, addr, "ADDR")
		s = regexp.MustCompile(`[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}`).ReplaceAllString(s, "UUID")
		return regexp.MustCompile(`>[^<]*<`).ReplaceAllString(s, "><")
	}
	for _, kind := range []string{"thunderbird", "autodiscover", "mobileconfig"} {
		var shapes []string
		for _, addr := range []string{"alice@example.com", "nobody-here@example.com", "someone@elsewhere.net"} {
			var resp *http.Response
			var body string
			switch kind {
			case "thunderbird":
				resp, body = ts.get(t, "http://autoconfig.example.com/mail/config-v1.1.xml?emailaddress="+url.QueryEscape(addr))
			case "autodiscover":
				resp, body = ts.post(t, "http://autodiscover.example.com/autodiscover/autodiscover.xml", adRequest(addr))
			case "mobileconfig":
				resp, body = ts.get(t, "http://mail.example.com/mobileconfig?address="+url.QueryEscape(addr))
			}
			if resp.StatusCode != 200 {
				t.Fatalf("%s %s: %d %s", kind, addr, resp.StatusCode, body)
			}
			shapes = append(shapes, shape(body, addr))
		}
		for i := 1; i < len(shapes); i++ {
			if shapes[i] != shapes[0] {
				t.Errorf("%s: answer shape differs between addresses:\n%s\n---\n%s", kind, shapes[0], shapes[i])
			}
		}
	}
}

func adRequest(addr string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>` + addr + `</EMailAddress>
    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>
  </Request>
</Autodiscover>`
}

func (ts *testServer) post(t *testing.T, u, body string) (*http.Response, string) {
	t.Helper()
	resp, err := ts.client.Post(u, "text/xml", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

type adAnswer struct {
	XMLName  xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006 Autodiscover"`
	Response struct {
		XMLName xml.Name `xml:"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a Response"`
		Account struct {
			AccountType string `xml:"AccountType"`
			Action      string `xml:"Action"`
			Protocol    []struct {
				Type, Server, LoginName, SSL, Encryption, AuthRequired, SPA string
				Port                                                        int
			} `xml:"Protocol"`
		} `xml:"Account"`
	} `xml:"Response"`
}

func TestAutodiscover(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	resp, body := ts.post(t, "https://autodiscover.example.com/autodiscover/autodiscover.xml", adRequest("Bob@Example.COM"))
	if resp.StatusCode != 200 {
		t.Fatalf("%d %s", resp.StatusCode, body)
	}
	var a adAnswer
	if err := xml.Unmarshal([]byte(body), &a); err != nil {
		t.Fatalf("%v\n%s", err, body)
	}
	acc := a.Response.Account
	if acc.AccountType != "email" || acc.Action != "settings" {
		t.Errorf("account %+v", acc)
	}
	var got []string
	for _, p := range acc.Protocol {
		if p.Server != "mail.example.com" || p.LoginName != "Bob@example.com" || p.SSL != "on" || p.AuthRequired != "on" || p.SPA != "off" {
			t.Errorf("protocol %+v", p)
		}
		got = append(got, p.Type+":"+itoa(p.Port)+":"+p.Encryption)
	}
	if s := strings.Join(got, " "); s != "IMAP:993:SSL IMAP:143:TLS POP3:995:SSL POP3:110:TLS SMTP:465:SSL SMTP:587:TLS" {
		t.Errorf("protocols %s", s)
	}
	// Only POST.
	if resp, _ := ts.get(t, "https://autodiscover.example.com/autodiscover/autodiscover.xml"); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d", resp.StatusCode)
	}
}

func TestAutodiscoverHostile(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	bomb := `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<Autodiscover><Request><EMailAddress>&lol9;@example.com</EMailAddress></Request></Autodiscover>`
	xxe := `<?xml version="1.0"?>
<!DOCTYPE a [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<Autodiscover><Request><EMailAddress>&xxe;</EMailAddress></Request></Autodiscover>`
	cases := map[string]string{
		"billion laughs":     bomb,
		"external entity":    xxe,
		"undeclared entity":  `<Autodiscover><Request><EMailAddress>&foo;@example.com</EMailAddress></Request></Autodiscover>`,
		"deep nesting":       "<Autodiscover>" + strings.Repeat("<a>", 1000) + strings.Repeat("</a>", 1000) + "</Autodiscover>",
		"many elements":      "<Autodiscover><Request>" + strings.Repeat("<x/>", 2000) + "</Request></Autodiscover>",
		"not xml":            "hello",
		"empty":              "",
		"wrong root":         `<Foo><Request><EMailAddress>a@example.com</EMailAddress></Request></Foo>`,
		"two roots":          `<Autodiscover/><Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>`,
		"no address":         `<Autodiscover><Request></Request></Autodiscover>`,
		"not an address":     `<Autodiscover><Request><EMailAddress>not an address</EMailAddress></Request></Autodiscover>`,
		"long address":       `<Autodiscover><Request><EMailAddress>` + strings.Repeat("a", 1000) + `@example.com</EMailAddress></Request></Autodiscover>`,
		"unclosed":           `<Autodiscover><Request><EMailAddress>a@example.com</EMailAddress>`,
		"markup in address":  `<Autodiscover><Request><EMailAddress>a&lt;script&gt;@example.com</EMailAddress></Request></Autodiscover>`,
		"other charset":      `<?xml version="1.0" encoding="ISO-8859-1"?><Autodiscover><Request><EMailAddress>a@example.com</EMailAddress></Request></Autodiscover>`,
		"processing garbage": `<?xml-stylesheet href="x"?><Autodiscover><Request><EMailAddress><![CDATA[a@example.com]]]></EMailAddress></Request></Autodiscover>`,
	}
	for name, body := range cases {
		start := time.Now()
		resp, answer := ts.post(t, "http://mail.example.com/autodiscover/autodiscover.xml", body)
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400: %s", name, resp.StatusCode, answer)
		}
		if strings.Contains(answer, "root:") || strings.Contains(answer, "lollol") {
			t.Errorf("%s: answer leaks expanded entities: %q", name, answer)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: took %v", name, d)
		}
	}
}

type mcAnswer struct {
	PayloadType    string `plist:"PayloadType"`
	PayloadUUID    string `plist:"PayloadUUID"`
	PayloadVersion int    `plist:"PayloadVersion"`
	PayloadContent []struct {
		PayloadType                  string `plist:"PayloadType"`
		PayloadUUID                  string `plist:"PayloadUUID"`
		EmailAccountType             string `plist:"EmailAccountType"`
		EmailAddress                 string `plist:"EmailAddress"`
		IncomingMailServerHostName   string `plist:"IncomingMailServerHostName"`
		IncomingMailServerPortNumber int    `plist:"IncomingMailServerPortNumber"`
		IncomingMailServerUseSSL     bool   `plist:"IncomingMailServerUseSSL"`
		IncomingMailServerUsername   string `plist:"IncomingMailServerUsername"`
		OutgoingMailServerHostName   string `plist:"OutgoingMailServerHostName"`
		OutgoingMailServerPortNumber int    `plist:"OutgoingMailServerPortNumber"`
		OutgoingMailServerUseSSL     bool   `plist:"OutgoingMailServerUseSSL"`
		OutgoingMailServerUsername   string `plist:"OutgoingMailServerUsername"`
	} `plist:"PayloadContent"`
}

func TestMobileconfig(t *testing.T) {
	ts := start(t, baseConfig(), nil)
	get := func(addr string) mcAnswer {
		resp, body := ts.get(t, "https://mail.example.com/mobileconfig?address="+url.QueryEscape(addr))
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-apple-aspen-config" {
			t.Fatalf("%d %q %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
		var a mcAnswer
		if _, err := plist.Unmarshal([]byte(body), &a); err != nil {
			t.Fatalf("plist: %v\n%s", err, body)
		}
		return a
	}
	a := get("carol@example.org")
	if a.PayloadType != "Configuration" || a.PayloadVersion != 1 || len(a.PayloadContent) != 1 {
		t.Fatalf("profile %+v", a)
	}
	m := a.PayloadContent[0]
	if m.PayloadType != "com.apple.mail.managed" || m.EmailAccountType != "EmailTypeIMAP" || m.EmailAddress != "carol@example.org" ||
		m.IncomingMailServerHostName != "mail.example.com" || m.IncomingMailServerPortNumber != 993 || !m.IncomingMailServerUseSSL ||
		m.IncomingMailServerUsername != "carol@example.org" || m.OutgoingMailServerHostName != "mail.example.com" ||
		m.OutgoingMailServerPortNumber != 465 || !m.OutgoingMailServerUseSSL || m.OutgoingMailServerUsername != "carol@example.org" {
		t.Errorf("mail payload %+v", m)
	}
	if b := get("carol@example.org"); b.PayloadUUID != a.PayloadUUID || b.PayloadContent[0].PayloadUUID != m.PayloadUUID {
		t.Error("profile UUIDs change between downloads; a second install would duplicate the account")
	}
	if c := get("dave@example.org"); c.PayloadUUID == a.PayloadUUID {
		t.Error("two accounts share a profile UUID")
	}
	for _, bad := range []string{"", "no-at-sign", "a@", "@b", "a b@example.org", "a@b@c", "a\x00@example.org", "<a@example.org>", strings.Repeat("x", 300) + "@example.org"} {
		resp, _ := ts.get(t, "https://mail.example.com/mobileconfig?address="+url.QueryEscape(bad))
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("address %q: %d, want 400", bad, resp.StatusCode)
		}
	}
}

// FuzzParseAutodiscover: no panic, bounded work, and an accepted request's
// address came from the EMailAddress element.
func FuzzParseAutodiscover(f *testing.F) {
	f.Add(adRequest("a@example.com"))
	f.Add(`<!DOCTYPE x [<!ENTITY a "b">]><Autodiscover/>`)
	f.Add(`<Autodiscover><Request><EMailAddress>a&amp;b@c</EMailAddress></Request></Autodiscover>`)
	f.Add(`<Autodiscover><Request><EMailAddress>x</EMailAddress><EMailAddress>y</EMailAddress></Request></Autodiscover>`)
	f.Fuzz(func(t *testing.T, body string) {
		addr, err := parseAutodiscover(strings.NewReader(body))
		if err != nil {
			return
		}
		if len(addr) > maxAddressLen+64+maxAddressLen {
			t.Fatalf("address of %d bytes accepted", len(addr))
		}
		if !strings.Contains(body, "EMailAddress") {
			t.Fatalf("accepted without EMailAddress: %q", body)
		}
	})
}
