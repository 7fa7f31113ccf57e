package resolver

import (
	"container/list"
	"net"
	"sync"
	"time"

	"github.com/miekg/dns"
)

type cacheKey struct {
	name  string
	qtype uint16
}

type cacheEntry struct {
	key     cacheKey
	ans     *Answer
	err     *net.DNSError
	expires time.Time
	size    int
}

// cache keeps answers and errors until they expire, dropping the least
// recently used first when it holds more than maxEntries entries or maxBytes
// octets of records.
type cache struct {
	mu                   sync.Mutex
	maxEntries, maxBytes int
	bytes                int
	lru                  *list.List // front: most recently used; values *cacheEntry
	entries              map[cacheKey]*list.Element
}

func newCache(maxEntries, maxBytes int) *cache {
	return &cache{maxEntries: maxEntries, maxBytes: maxBytes, lru: list.New(), entries: map[cacheKey]*list.Element{}}
}

func (c *cache) get(k cacheKey, now time.Time) (*Answer, *net.DNSError, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[k]
	if !ok {
		return nil, nil, false
	}
	e := el.Value.(*cacheEntry)
	if !now.Before(e.expires) {
		c.remove(el)
		return nil, nil, false
	}
	c.lru.MoveToFront(el)
	return e.ans, e.err, true
}

func (c *cache) put(k cacheKey, ans *Answer, err *net.DNSError, expires time.Time) {
	size := 64 + len(k.name)
	if ans != nil {
		for _, rr := range ans.Records {
			size += dns.Len(rr)
		}
	}
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[k]; ok {
		c.remove(el)
	}
	c.entries[k] = c.lru.PushFront(&cacheEntry{key: k, ans: ans, err: err, expires: expires, size: size})
	c.bytes += size
	for c.lru.Len() > c.maxEntries || c.bytes > c.maxBytes {
		c.remove(c.lru.Back())
	}
}

func (c *cache) remove(el *list.Element) {
	e := c.lru.Remove(el).(*cacheEntry)
	delete(c.entries, e.key)
	c.bytes -= e.size
}

// len reports the number of entries, for tests.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
