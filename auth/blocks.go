package auth

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"postern/storage"
)

// BlockStore keeps lockouts where every process sees them, so that
// "postern auth blocked" lists them and "postern auth unblock" lifts one in
// the running server. The store implements it.
type BlockStore interface {
	PutAuthBlock(ctx context.Context, b storage.AuthBlock) error
	AuthBlocked(ctx context.Context, source, account string, now time.Time) (bool, error)
	AuthBlocks(ctx context.Context, now time.Time) ([]storage.AuthBlock, error)
}

// lift ends a lock in this process and forgets what led to it.
func (l *Limiter) lift(key netip.Prefix, account string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.sources[key]
	if s == nil {
		return
	}
	if account == "" {
		delete(l.sources, key)
		return
	}
	delete(s.accounts, account)
}

// Unblock lifts the locks of ip's source in this process: of account, or
// all of them when account is "". The store's copy is the caller's.
func (l *Limiter) Unblock(ip netip.Addr, account string) {
	l.lift(Key(ip), account)
}

// Load takes the locks in force from the BlockStore, so that a restart
// does not lift them.
func (l *Limiter) Load(ctx context.Context) error {
	if l.opts.Blocks == nil {
		return nil
	}
	now := l.opts.Now()
	blocks, err := l.opts.Blocks.AuthBlocks(ctx, now)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range blocks {
		key, err := ParseSource(b.Source)
		if err != nil {
			continue
		}
		s := l.source(key, now)
		k := lock{until: b.Until, persisted: true, confirmed: now}
		if b.Account == "" {
			s.lock = k
		} else {
			s.accounts[b.Account] = &pair{lock: k}
		}
	}
	return nil
}

// persist logs a new lock and writes it to the BlockStore. what and guess
// name the last thing tried, for the log line.
func (l *Limiter) persist(ctx context.Context, b storage.AuthBlock, what, guess string) {
	scope := "address"
	if b.Account != "" {
		scope = "address and account"
	}
	l.opts.Logger.Warn("auth lockout", "remote", b.Source, "scope", scope, "reason", b.Reason,
		"failures", b.Failures, "until", b.Until.UTC().Format(time.RFC3339), what, guess)
	if l.opts.Blocks == nil {
		return
	}
	// The lock is in force here already; a lock that could not be written
	// holds until it ends, since no other process can see it to lift it.
	if err := l.opts.Blocks.PutAuthBlock(context.WithoutCancel(ctx), b); err != nil {
		l.opts.Logger.Error("could not record a lockout in the store; it holds in this process only", "remote", b.Source, "err", err)
		return
	}
	key, err := ParseSource(b.Source)
	if err != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sources[key]; s != nil {
		k := &s.lock
		if b.Account != "" {
			p := s.accounts[b.Account]
			if p == nil {
				return
			}
			k = &p.lock
		}
		if k.until.Equal(b.Until) {
			k.persisted = true
		}
	}
}

// sourceString prints an IPv4 source as a bare address and an IPv6 source
// as its /64.
func sourceString(p netip.Prefix) string {
	if !p.IsValid() {
		return "unknown"
	}
	if p.Addr().Is4() {
		return p.Addr().String()
	}
	return p.String()
}

// ParseSource reads a source as sourceString writes it, or any address or
// prefix inside one: "192.0.2.1", "2001:db8::5", "2001:db8::/64".
func ParseSource(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return Key(p.Addr()), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%q is not an IP address", s)
	}
	return Key(a), nil
}

// SourceString is the text a source is listed and looked up by.
func SourceString(p netip.Prefix) string { return sourceString(p) }
