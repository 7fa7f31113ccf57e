package storage

import "time"

// AuthBlock is a login lockout as the store keeps it, so that every process
// sees it: the server that set it, "postern auth blocked" that lists it and
// "postern auth unblock" that lifts it.
type AuthBlock struct {
	Source   string // an IPv4 address or an IPv6 /64, as text
	Account  string // the account locked for Source; "" locks the whole source
	Until    time.Time
	Failures int    // what was counted when the lock was set
	Reason   string // what was counted: failed logins, unknown recipients
	Created  time.Time
}
