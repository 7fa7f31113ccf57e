package sqlite

import (
	"strconv"
	"sync/atomic"

	"postern/storage"
)

func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }
func itoa(n int64) string      { return strconv.FormatInt(n, 10) }

func ended(sub *storage.Subscription) bool {
	select {
	case <-sub.Ended():
		return true
	default:
		return false
	}
}
