package storage

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// Every process that opens a store is a node: the server, a CLI command,
// an import, later another server on the same database. Each change it
// commits is logged with its node id, so that a reader of the change log
// tells its own changes from those of others. Origin ids, which sessions
// also use as their ids, begin with the node id, so that they never
// collide across processes either.

var nodeID = newNodeID()

func newNodeID() uint64 {
	var b [8]byte
	for {
		rand.Read(b[:])
		// The high half is the prefix of origin ids: never zero, so
		// that no origin id is zero (zero means "no origin").
		if id := binary.BigEndian.Uint64(b[:]); id>>32 != 0 {
			return id
		}
	}
}

// NodeID returns this process's node id: 64 random bits, drawn at start.
func NodeID() uint64 { return nodeID }

var nodeTaken atomic.Bool

// NewNodeID returns the node id for a store being opened: this process's
// node id for the first store, a fresh random one for every later store.
// A process opens one store, so its changes are logged with its node id;
// a test that opens several on one data directory gets several nodes, as
// several processes would be.
func NewNodeID() uint64 {
	if nodeTaken.CompareAndSwap(false, true) {
		return nodeID
	}
	return newNodeID()
}

type originKey struct{}

var originSeq atomic.Uint32

// NewOriginID returns an id for WithOrigin, unique across processes: the
// high 32 bits are those of the node id, the low 32 bits count the ids
// this process handed out. A session uses it as its id.
func NewOriginID() uint64 {
	return nodeID&^0xffffffff | uint64(originSeq.Add(1))
}

// WithOrigin marks the writes made with ctx, so that the events they cause carry
// id and a session can tell its own changes from those of others.
func WithOrigin(ctx context.Context, id uint64) context.Context {
	return context.WithValue(ctx, originKey{}, id)
}

// OriginFrom returns the origin id WithOrigin put in ctx, or 0.
func OriginFrom(ctx context.Context) uint64 {
	if ctx == nil {
		return 0
	}
	id, _ := ctx.Value(originKey{}).(uint64)
	return id
}
