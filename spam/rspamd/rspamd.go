// Package rspamd asks an rspamd scanner (its "normal" worker) for a verdict
// on a message over HTTP: POST /checkv2 with the message as the body and the
// SMTP envelope in request headers (rspamd's protocol: IP, Helo, Hostname,
// From, Rcpt, User, Queue-Id, Deliver-To, MTA-Name), and reads back the
// action, the score and the symbols that matched.
//
// Every call is bounded by a timeout; an rspamd that is down, slow or
// answers nonsense gives an error, which callers treat as "not checked":
// mail flows without it.
package rspamd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// DefaultTimeout bounds one scan when Client.Timeout is 0. rspamd answers in
// tens of milliseconds; seconds mean it is overloaded or its own DNS is slow.
const DefaultTimeout = 10 * time.Second

// maxResponse bounds the JSON answer read.
const maxResponse = 1 << 20

// Action is what rspamd recommends.
type Action string

// rspamd's actions.
const (
	NoAction       Action = "no action"
	Greylist       Action = "greylist"
	AddHeader      Action = "add header"
	RewriteSubject Action = "rewrite subject"
	SoftReject     Action = "soft reject"
	Reject         Action = "reject"
)

// Client talks to one rspamd.
type Client struct {
	// URL is rspamd's base URL ([spam] rspamd_url), e.g.
	// "http://127.0.0.1:11333".
	URL string
	// Timeout bounds one scan; DefaultTimeout when 0.
	Timeout time.Duration
	// HTTP is the client used; http.DefaultClient's transport when nil.
	HTTP *http.Client
}

// NewClient checks the [spam] rspamd_url setting and returns a client for it.
func NewClient(rawURL string) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("rspamd: [spam] rspamd_url %q is not an http:// or https:// URL", rawURL)
	}
	return &Client{URL: strings.TrimSuffix(rawURL, "/")}, nil
}

// Request is one message to scan, with its SMTP envelope.
type Request struct {
	IP netip.Addr
	// Helo is the client's EHLO name; Hostname its verified reverse DNS
	// name, "" when it has none.
	Helo, Hostname string
	// From is MAIL FROM ("" for the null sender); Rcpt the recipients.
	From string
	Rcpt []string
	// User is the authenticated user, "" for mail from outside.
	User string
	// QueueID names the message in logs of both sides.
	QueueID string
	// MTAName is our host name.
	MTAName string
	// Message is the whole message, Size octets long (0: unknown, and the
	// request is sent chunked).
	Message io.Reader
	Size    int64
}

// Symbol is one rule that matched.
type Symbol struct {
	Name        string   `json:"name"`
	Score       float64  `json:"score"`
	Description string   `json:"description"`
	Options     []string `json:"options"`
}

// Result is rspamd's verdict.
type Result struct {
	Action        Action            `json:"action"`
	Score         float64           `json:"score"`
	RequiredScore float64           `json:"required_score"`
	Skipped       bool              `json:"is_skipped"`
	Symbols       map[string]Symbol `json:"symbols"`
	MessageID     string            `json:"message-id"`
}

// Check scans one message.
func (c *Client) Check(ctx context.Context, req *Request) (*Result, error) {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL+"/checkv2", io.NopCloser(req.Message))
	if err != nil {
		return nil, fmt.Errorf("rspamd: %w", err)
	}
	hr.ContentLength = req.Size
	h := hr.Header
	if req.IP.IsValid() {
		h.Set("IP", req.IP.Unmap().String())
	}
	setClean(h, "Helo", req.Helo)
	setClean(h, "Hostname", req.Hostname)
	if req.From != "" {
		setClean(h, "From", req.From)
	} else {
		h.Set("From", "<>")
	}
	for _, r := range req.Rcpt {
		if r = clean(r); r != "" {
			h.Add("Rcpt", r)
		}
	}
	setClean(h, "User", req.User)
	setClean(h, "Queue-Id", req.QueueID)
	setClean(h, "MTA-Name", req.MTAName)
	if len(req.Rcpt) == 1 {
		setClean(h, "Deliver-To", req.Rcpt[0])
	}
	hr.Header.Set("Content-Type", "message/rfc822")

	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("rspamd: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err != nil {
		return nil, fmt.Errorf("rspamd: reading the answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("rspamd: %s: %s", resp.Status, strings.TrimSpace(string(body[:min(len(body), 200)])))
	}
	if len(body) > maxResponse {
		return nil, fmt.Errorf("rspamd: answer larger than %d octets", maxResponse)
	}
	var res Result
	if err := json.Unmarshal(body, &res); err != nil {
		return nil, fmt.Errorf("rspamd: answer is not rspamd's JSON: %w", err)
	}
	if res.Action == "" && !res.Skipped {
		return nil, fmt.Errorf("rspamd: answer without an action")
	}
	return &res, nil
}

// setClean sets a header unless the value is empty after cleaning.
func setClean(h http.Header, name, value string) {
	if v := clean(value); v != "" {
		h.Set(name, v)
	}
}

// clean drops characters that cannot be in an HTTP header value: they come
// from the SMTP client.
func clean(s string) string {
	if strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) < 0 {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
