package main

import (
	"net"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

// nxServer is a loopback DNS server that knows no name at all.
func nxServer(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := dns.NewServeMux()
	mux.HandleFunc(".", func(w dns.ResponseWriter, r *dns.Msg) {
		m := new(dns.Msg)
		m.SetRcode(r, dns.RcodeNameError)
		w.WriteMsg(m)
	})
	srv := &dns.Server{PacketConn: pc, Handler: mux}
	go srv.ActivateAndServe()
	t.Cleanup(func() { srv.Shutdown() })
	return pc.LocalAddr().String()
}

func TestDNSCommands(t *testing.T) {
	cfg := writeConfig(t, "[dns]\npublic_ip = [\"203.0.113.10\"]\n")
	code, out, errs := cli(t, cfg, "", "dns", "example.test")
	if code != 0 {
		t.Fatalf("dns: %d %s", code, errs)
	}
	for _, want := range []string{"example.test.\t3600\tIN\tMX\t10 ", "\"v=spf1 mx -all\"", "_dmarc.example.test.", "_imaps._tcp.example.test.", "IN\tA\t203.0.113.10", "in-addr.arpa."} {
		if !strings.Contains(out, want) {
			t.Errorf("dns output lacks %q:\n%s", want, out)
		}
	}
	if code, _, errs := cli(t, cfg, "", "dns", "other.test"); code != 1 || !strings.Contains(errs, "not served") {
		t.Errorf("dns other.test: %d %q", code, errs)
	}
	code, out, errs = cli(t, cfg, "", "dns", "check", "example.test", "-servers", nxServer(t))
	if code != 1 || !strings.Contains(out, "MISSING   MX    example.test. (required)") || !strings.Contains(errs, "missing or wrong") {
		t.Errorf("dns check against an empty DNS: exit %d\n%s\n%s", code, out, errs)
	}
}
