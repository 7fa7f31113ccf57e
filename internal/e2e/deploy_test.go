package e2e

import (
	"encoding/xml"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-smtp"
	pp "github.com/pires/go-proxyproto"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"postern/config"
	"postern/internal/testserver"
)

// The load balancer dials from 127.0.0.2; clients elsewhere from 127.0.0.1.
func proxyServer(t *testing.T) *testserver.Server {
	t.Helper()
	return testserver.Start(t, testserver.Options{Configure: func(c *config.Config) {
		c.Limits.ProxyProtocolFrom = []config.Prefix{{Prefix: netip.MustParsePrefix("127.0.0.2/32")}}
	}})
}

func dialFrom(t *testing.T, addr, from string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}, Timeout: 10 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// Behind a proxy, the client address in the PROXY header is the one the
// server uses: in Received:, and for the plaintext-login rule.
func TestProxyProtocolClientAddress(t *testing.T) {
	ts := proxyServer(t)
	ts.AddUser(t, "alice@example.test", "pw-alice")

	// SMTP through the proxy with a v1 header.
	c := dialFrom(t, ts.SMTPAddr, "127.0.0.2")
	io.WriteString(c, "PROXY TCP4 203.0.113.7 192.0.2.1 40000 25\r\n")
	sc := smtp.NewClient(c)
	if err := sc.SendMail("someone@elsewhere.example", []string{"alice@example.test"},
		strings.NewReader("From: someone@elsewhere.example\r\nSubject: via proxy\r\n\r\nhello\r\n")); err != nil {
		t.Fatalf("SMTP through the proxy: %v", err)
	}
	sc.Quit()

	im := imapLogin(t, ts, "alice@example.test", "pw-alice", nil)
	msgs := fetchAll(t, im, "INBOX")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	for _, m := range msgs {
		if !strings.Contains(string(m), "203.0.113.7") {
			t.Errorf("Received: does not name the client address from the PROXY header:\n%s", m)
		}
		if strings.Contains(strings.SplitN(string(m), "\r\n\r\n", 2)[0], "127.0.0.2") {
			t.Errorf("Received: names the proxy:\n%s", m)
		}
	}

	// IMAP through the proxy with a v2 header: the client is not on
	// loopback, so a plaintext LOGIN is refused even though the proxy is.
	c = dialFrom(t, ts.IMAPAddr, "127.0.0.2")
	h := pp.HeaderProxyFromAddrs(2, &net.TCPAddr{IP: net.ParseIP("198.51.100.9"), Port: 51000},
		&net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 143})
	if _, err := h.WriteTo(c); err != nil {
		t.Fatal(err)
	}
	ic := imapclient.New(c, nil)
	if err := ic.Login("alice@example.test", "pw-alice").Wait(); err == nil {
		t.Error("plaintext LOGIN accepted from a non-loopback client behind the proxy")
	}
	ic.Close()

	// The same header from a peer outside proxy_protocol_from: closed.
	c = dialFrom(t, ts.IMAPAddr, "127.0.0.1")
	c.SetDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 512)
	if _, err := c.Read(buf); err != nil { // the greeting comes at once
		t.Fatal(err)
	}
	h.WriteTo(c)
	io.WriteString(c, "a1 CAPABILITY\r\n")
	// Closed (EOF, or a reset since the rest of the input was unread).
	if n, err := io.ReadAll(c); len(n) > 0 || isTimeout(err) {
		t.Errorf("spoofed header from an untrusted peer: got %q, %v; want the connection closed", n, err)
	}

	// A trusted peer without a header: closed without a greeting.
	c = dialFrom(t, ts.POP3Addr, "127.0.0.2")
	io.WriteString(c, "USER alice@example.test\r\n")
	c.SetDeadline(time.Now().Add(30 * time.Second))
	if n, err := io.ReadAll(c); len(n) > 0 || isTimeout(err) {
		t.Errorf("proxy connection without a header got %q, %v", n, err)
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("%s: %s", url, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return fams
}

// loginCount is postern_logins_total for a protocol and result.
func loginCount(fams map[string]*dto.MetricFamily, protocol, result string) float64 {
	f := fams["postern_logins_total"]
	if f == nil {
		return -1
	}
	for _, m := range f.Metric {
		labels := map[string]string{}
		for _, l := range m.Label {
			labels[l.GetName()] = l.GetValue()
		}
		if labels["protocol"] == protocol && labels["result"] == result {
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

func metricValue(fams map[string]*dto.MetricFamily, name, label, value string) (float64, bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
	for _, m := range f.Metric {
		if label != "" && (len(m.Label) == 0 || m.Label[0].GetValue() != value) {
			continue
		}
		if m.Counter != nil {
			return m.Counter.GetValue(), true
		}
		return m.Gauge.GetValue(), true
	}
	return 0, false
}

// The HTTP listener of the whole server: health, metrics, autoconfig with
// the bound ports.
func TestHTTPListener(t *testing.T) {
	ts := testserver.Start(t, testserver.Options{})
	ts.AddUser(t, "alice@example.test", "pw-alice")
	base := "http://" + ts.HTTPAddr

	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "ok\n" {
		t.Fatalf("/healthz: %d %q", resp.StatusCode, body)
	}

	imapLogin(t, ts, "alice@example.test", "pw-alice", nil).Logout().Wait()
	bad := dialLines(t, ts.POP3Addr)
	bad.expect("+OK")
	bad.send("USER alice@example.test")
	bad.expect("+OK")
	bad.send("PASS wrong")
	if l, _ := bad.line(); !strings.HasPrefix(l, "-ERR") {
		t.Fatalf("wrong password: %q", l)
	}
	fams := scrape(t, base+"/metrics")
	for _, c := range []struct {
		protocol, result string
		want             float64
	}{{"imap", "ok", 1}, {"pop3", "failed", 1}, {"pop3", "ok", 0}, {"submission", "failed", 0}} {
		if v := loginCount(fams, c.protocol, c.result); v != c.want {
			t.Errorf("logins of %s, %s: %v, want %v", c.protocol, c.result, v, c.want)
		}
	}
	if v, ok := metricValue(fams, "postern_connections_total", "protocol", "imap"); !ok || v < 1 {
		t.Errorf("imap connections = %v, %v", v, ok)
	}
	if v, ok := metricValue(fams, "postern_database_bytes", "", ""); !ok || v < 4096 {
		t.Errorf("database bytes = %v, %v", v, ok)
	}
	if v, ok := metricValue(fams, "postern_queue_messages", "", ""); !ok || v != 0 {
		t.Errorf("queue = %v, %v", v, ok)
	}

	resp, err = http.Get(base + "/mail/config-v1.1.xml?emailaddress=alice%40example.test")
	if err != nil {
		t.Fatal(err)
	}
	var tb struct {
		Incoming []struct {
			Port       int    `xml:"port"`
			SocketType string `xml:"socketType"`
		} `xml:"emailProvider>incomingServer"`
	}
	err = xml.NewDecoder(resp.Body).Decode(&tb)
	resp.Body.Close()
	if err != nil || len(tb.Incoming) == 0 {
		t.Fatalf("autoconfig: %v %+v", err, tb)
	}
	_, port, _ := net.SplitHostPort(ts.IMAPTLSAddr)
	if strconv.Itoa(tb.Incoming[0].Port) != port || tb.Incoming[0].SocketType != "SSL" {
		t.Errorf("autoconfig IMAP %+v, want port %s SSL", tb.Incoming[0], port)
	}

	// The store gone: unhealthy.
	ts.Store.Close()
	resp, err = http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "store") {
		t.Errorf("/healthz with the store closed: %d %q", resp.StatusCode, body)
	}
}
