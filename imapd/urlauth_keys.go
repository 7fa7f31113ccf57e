package imapd

import (
	"context"
	"crypto/rand"
	"sync"
)

// URLAuthKeys keeps the mailbox access keys of URLAUTH (RFC 4467 §3):
// one secret per mailbox, from which the tokens of its URLs are made, and
// which RESETKEY replaces so that every URL made with it stops working.
// The store is the natural home of the keys; until it has them, the
// server keeps them in memory (newMemoryKeys), so that a restart works as
// a RESETKEY of every mailbox.
type URLAuthKeys interface {
	// Key returns the key of a mailbox; with create set, it makes one if
	// there is none, else it returns nil.
	Key(ctx context.Context, mailboxID int64, create bool) ([]byte, error)
	// Reset drops the keys of the mailboxes.
	Reset(ctx context.Context, mailboxIDs []int64) error
}

type memoryKeys struct {
	mu   sync.Mutex
	keys map[int64][]byte
}

func newMemoryKeys() *memoryKeys { return &memoryKeys{keys: map[int64][]byte{}} }

func (m *memoryKeys) Key(_ context.Context, mailboxID int64, create bool) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keys[mailboxID]
	if k == nil && create {
		k = make([]byte, 32)
		rand.Read(k)
		m.keys[mailboxID] = k
	}
	return k, nil
}

func (m *memoryKeys) Reset(_ context.Context, mailboxIDs []int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, id := range mailboxIDs {
		delete(m.keys, id)
	}
	return nil
}
