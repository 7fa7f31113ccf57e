package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"sync"
	"time"
)

// The cache remembers logins verified against the store, so that a client
// reconnecting with the same password is not made to wait for argon2id
// again (19 MiB and tens of milliseconds per check, two at a time).
//
// It holds no password, nor anything a password could be tested against
// offline: an entry is found by HMAC-SHA-256, under a random key made at
// start and never stored, of the account and password; its value is the
// account id and a digest of the stored hash the password matched. A hit
// counts only while that hash is still the stored one (so a password
// changed by another process is seen at once) and the account is enabled;
// in this process, a password change, deletion or disabling drops the
// account's entries at once (Service.Forget). A failed check is never
// remembered.

type cacheKey [sha256.Size]byte

// stamp identifies a stored password hash: it changes whenever the
// password does (a new salt every time).
type stamp [sha256.Size]byte

func stampOf(hash string) stamp { return sha256.Sum256([]byte(hash)) }

type cacheEntry struct {
	account int64
	stamp   stamp
	expires time.Time
}

type cache struct {
	secret []byte
	ttl    time.Duration
	size   int

	mu        sync.Mutex
	m         map[cacheKey]cacheEntry
	lastPrune time.Time
}

func newCache(ttl time.Duration, size int) *cache {
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		panic(err) // crypto/rand never fails on supported systems
	}
	return &cache{secret: secret, ttl: ttl, size: size, m: make(map[cacheKey]cacheEntry)}
}

// key is the entry's key for an account (its lookup key) and password.
func (c *cache) key(account, password string) cacheKey {
	m := hmac.New(sha256.New, c.secret)
	m.Write([]byte(account))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k cacheKey
	m.Sum(k[:0])
	return k
}

func (c *cache) get(k cacheKey, now time.Time) (account int64, st stamp, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return 0, stamp{}, false
	}
	if !now.Before(e.expires) {
		delete(c.m, k)
		return 0, stamp{}, false
	}
	return e.account, e.stamp, true
}

func (c *cache) put(k cacheKey, account int64, st stamp, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now.Sub(c.lastPrune) >= time.Minute || len(c.m) >= c.size {
		c.lastPrune = now
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
	}
	if _, there := c.m[k]; !there && len(c.m) >= c.size {
		// Full of live entries: make room with any one; it only costs
		// that login a hash computation next time.
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[k] = cacheEntry{account: account, stamp: st, expires: now.Add(c.ttl)}
}

// forget drops every entry of an account.
func (c *cache) forget(account int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, e := range c.m {
		if e.account == account {
			delete(c.m, k)
		}
	}
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
