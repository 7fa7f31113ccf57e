package rspamd

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"postern/internal/testkit/rspamdtest"
)

const msg = "From: alice@example.test\r\nTo: bob@postern.test\r\nSubject: hello\r\nMessage-ID: <1@example.test>\r\n\r\n"

func TestRealRspamd(t *testing.T) {
	srv := rspamdtest.Start(t)
	c, err := NewClient(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := func(body string) *Request {
		return &Request{
			IP: netip.MustParseAddr("192.0.2.7"), Helo: "mail.example.test", Hostname: "mail.example.test",
			From: "alice@example.test", Rcpt: []string{"bob@postern.test", "carol@postern.test"},
			QueueID: "Q123", MTAName: "mx.postern.test",
			Message: strings.NewReader(msg + body + "\r\n"),
		}
	}

	t.Run("envelope", func(t *testing.T) {
		res, err := c.Check(ctx, req("plain text"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Action != NoAction || res.Score >= 6 || res.RequiredScore != 15 {
			t.Fatalf("%+v", res)
		}
		env, ok := res.Symbols["POSTERN_ENVELOPE"]
		if !ok {
			t.Fatalf("symbols %v", res.Symbols)
		}
		for _, want := range []string{"from=alice@example.test", "rcpt=bob@postern.test", "rcpt=carol@postern.test",
			"helo=mail.example.test", "ip=192.0.2.7", "hostname=mail.example.test", "queueid=Q123", "user="} {
			if !slices.Contains(env.Options, want) {
				t.Errorf("rspamd did not receive %q: %q", want, env.Options)
			}
		}
	})
	t.Run("actions", func(t *testing.T) {
		r := req("XPOSTERNJUNKX")
		r.Message, r.Size = strings.NewReader(msg+"XPOSTERNJUNKX\r\n"), int64(len(msg)+len("XPOSTERNJUNKX\r\n"))
		res, err := c.Check(ctx, r)
		if err != nil || res.Action != AddHeader || res.Score < 7 {
			t.Fatalf("junk: %+v %v", res, err)
		}
		res, err = c.Check(ctx, req("XPOSTERNSPAMX"))
		if err != nil || res.Action != Reject || res.Score < 20 {
			t.Fatalf("spam: %+v %v", res, err)
		}
		if _, ok := res.Symbols["POSTERN_SPAM"]; !ok {
			t.Fatalf("symbols %v", res.Symbols)
		}
	})
	t.Run("authenticated and null sender", func(t *testing.T) {
		r := req("x")
		r.From, r.User, r.Helo = "", "alice@postern.test", "evil\r\nX-Injected: 1"
		res, err := c.Check(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		opts := res.Symbols["POSTERN_ENVELOPE"].Options
		if !slices.Contains(opts, "user=alice@postern.test") || !slices.Contains(opts, "helo=evilX-Injected: 1") {
			t.Fatalf("%q", opts)
		}
	})
}

func TestRspamdDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := &Client{URL: "http://" + addr, Timeout: 5 * time.Second}
	start := time.Now()
	if _, err := c.Check(context.Background(), &Request{Message: strings.NewReader(msg), Size: int64(len(msg))}); err == nil {
		t.Fatal("no error from a closed port")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("took %v", d)
	}
}

func TestRspamdMisbehaves(t *testing.T) {
	block := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/slow/checkv2", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-block:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/garbage/checkv2", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>not json")) })
	mux.HandleFunc("/empty/checkv2", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) })
	mux.HandleFunc("/huge/checkv2", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"action":"no action","x":"` + strings.Repeat("a", 2<<20) + `"}`))
	})
	mux.HandleFunc("/error/checkv2", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "overloaded", http.StatusServiceUnavailable)
	})
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer close(block)

	for _, path := range []string{"/slow", "/garbage", "/empty", "/huge", "/error"} {
		c := &Client{URL: hs.URL + path, Timeout: 500 * time.Millisecond}
		start := time.Now()
		res, err := c.Check(context.Background(), &Request{Message: strings.NewReader(msg), Size: int64(len(msg))})
		if err == nil {
			t.Errorf("%s: no error, %+v", path, res)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: took %v", path, d)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:11333", "ftp://x", "http://"} {
		if _, err := NewClient(bad); err == nil || !strings.Contains(err.Error(), "rspamd_url") {
			t.Errorf("%q: %v", bad, err)
		}
	}
}
