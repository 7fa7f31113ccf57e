// Package reputation remembers, per account, the addresses and domains its
// user has corresponded with: mail to someone the user wrote to, or replied
// to, is unlikely to be spam. It is only worth asking about a sender whose
// From domain passed DMARC alignment, since anyone can write any From.
package reputation

import (
	"context"
	"strings"
	"sync"

	"postern/mailaddr"
)

// Store keeps the correspondents of every account.
type Store interface {
	// Known reports whether the account has corresponded with the address,
	// and with anyone at its domain.
	Known(ctx context.Context, account, address string) (addr, domain bool, err error)
	// Add records that the account corresponded with the address.
	Add(ctx context.Context, account, address string) error
}

// Normalize returns an address in the form stores keep: lower case, the
// domain without a trailing dot. ok is false for what is not local@domain.
func Normalize(address string) (addr, domain string, ok bool) {
	local, d, ok := mailaddr.Split(address)
	if !ok {
		return "", "", false
	}
	domain = mailaddr.NormalizeDomain(d)
	return strings.ToLower(local) + "@" + domain, domain, domain != ""
}

// MemStore is a Store in memory.
type MemStore struct {
	mu       sync.RWMutex
	accounts map[string]*correspondents
}

type correspondents struct {
	addrs   map[string]bool
	domains map[string]int
}

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{accounts: map[string]*correspondents{}} }

// Known implements Store.
func (m *MemStore) Known(_ context.Context, account, address string) (bool, bool, error) {
	addr, domain, ok := Normalize(address)
	if !ok {
		return false, false, nil
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	c := m.accounts[account]
	if c == nil {
		return false, false, nil
	}
	return c.addrs[addr], c.domains[domain] > 0, nil
}

// Add implements Store.
func (m *MemStore) Add(_ context.Context, account, address string) error {
	addr, domain, ok := Normalize(address)
	if !ok {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.accounts[account]
	if c == nil {
		c = &correspondents{addrs: map[string]bool{}, domains: map[string]int{}}
		m.accounts[account] = c
	}
	if !c.addrs[addr] {
		c.addrs[addr] = true
		c.domains[domain]++
	}
	return nil
}
