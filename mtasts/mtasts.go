// Package mtasts builds the MTA-STS policy (RFC 8461) Postern publishes for
// its domains, and the id of its "_mta-sts" TXT record. The HTTP server
// serves the policy and "postern dns" prints the record, from the same
// values, so the two agree.
package mtasts

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"postern/config"
)

// Modes (RFC 8461 §5).
const (
	Enforce = "enforce"
	Testing = "testing"
	None    = "none"
)

// MaxMaxAge is the largest max_age a policy may give (RFC 8461 §3.2).
const MaxMaxAge = 31557600 * time.Second

// Policy is one MTA-STS policy.
type Policy struct {
	Mode   string
	MX     []string // allowed MX host names (or "*.suffix" patterns)
	MaxAge time.Duration
}

// Text is the policy file: CRLF-separated key/value pairs (RFC 8461 §3.2),
// one "mx" line per MX.
func (p Policy) Text() string {
	var b strings.Builder
	b.WriteString("version: STSv1\r\n")
	fmt.Fprintf(&b, "mode: %s\r\n", p.Mode)
	for _, mx := range p.MX {
		fmt.Fprintf(&b, "mx: %s\r\n", strings.ToLower(strings.TrimSuffix(mx, ".")))
	}
	fmt.Fprintf(&b, "max_age: %d\r\n", int64(min(max(p.MaxAge, 0), MaxMaxAge)/time.Second))
	return b.String()
}

// ID is the "id" of the "_mta-sts" TXT record: it must change whenever the
// policy does (RFC 8461 §3.1), so it is derived from the policy text. 1 to 32
// letters and digits.
func (p Policy) ID() string {
	sum := sha256.Sum256([]byte(p.Text()))
	return hex.EncodeToString(sum[:8])
}

// TXT is the value of the "_mta-sts.DOMAIN" TXT record.
func (p Policy) TXT() string { return "v=STSv1; id=" + p.ID() + ";" }

// FromConfig is the policy of cfg: its mode and max_age, with the hostname
// as the one MX. The HTTP server and "postern dns" both use it, so the
// served policy and the printed id agree.
func FromConfig(cfg *config.Config) Policy {
	return Policy{Mode: cfg.MTASTS.Mode, MX: []string{cfg.Hostname}, MaxAge: cfg.MTASTS.MaxAge}
}
