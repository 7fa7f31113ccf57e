package sqlite

import (
	"strconv"
	"sync/atomic"
)

func atomicAdd(p *int64) int64 { return atomic.AddInt64(p, 1) }
func itoa(n int64) string      { return strconv.FormatInt(n, 10) }
