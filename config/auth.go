package config

import "time"

// Auth is the login policy of every protocol.
type Auth struct {
	// PlaintextOnLoopback allows passwords without TLS from loopback.
	PlaintextOnLoopback bool `toml:"plaintext_on_loopback"`
	// CacheTTL is how long a verified password is remembered, so that a
	// client reconnecting does not wait for the password hash again; "0s"
	// turns the cache off.
	CacheTTL time.Duration `toml:"cache_ttl"`
	// LockoutFailures failed logins from one address to one account
	// within LockoutDuration lock that address out of that account.
	LockoutFailures int `toml:"lockout_failures"`
	// LockoutFailuresPerAddress failed logins from one address, to any
	// accounts, lock the whole address out (password spraying).
	LockoutFailuresPerAddress int           `toml:"lockout_failures_per_address"`
	LockoutDuration           time.Duration `toml:"lockout_duration"`
	// TrustedNetworks are never delayed, locked out or capped in
	// connections.
	TrustedNetworks []Prefix `toml:"trusted_networks"`
	// SlowdownFailuresPerAccount failed logins to one account within an
	// hour, from any addresses, make every further attempt on it wait a
	// growing delay (never a lock, which would let anyone lock a user out).
	SlowdownFailuresPerAccount int `toml:"slowdown_failures_per_account"`
	// MinPasswordLength is the shortest password "postern user add" and
	// "user passwd" accept, in characters.
	MinPasswordLength int `toml:"min_password_length"`
}

// Limits caps the connections a listener holds open. A connection over a
// cap is answered with the protocol's "try later" (IMAP BYE [UNAVAILABLE],
// POP3 -ERR [SYS/TEMP], SMTP 421 4.7.0) and closed.
type Limits struct {
	// ConnectionsPerIP caps the connections from one address (IPv6: one
	// /64) that have not logged in, per listener; 0 = no cap.
	ConnectionsPerIP int `toml:"connections_per_ip"`
	// ConnectionsPerAccountIP caps the logged-in connections of one
	// account from one address, over all listeners; 0 = no cap.
	ConnectionsPerAccountIP int `toml:"connections_per_account_ip"`
	// Connections caps the connections of one listener in all; 0 = no cap.
	Connections int `toml:"connections"`
	// ProxyProtocolFrom are the load balancers whose PROXY protocol
	// header gives the real client address; empty turns it off.
	ProxyProtocolFrom []Prefix `toml:"proxy_protocol_from"`
}

// maxPasswordLength is the longest password the store hashes.
const maxPasswordLength = 1024

func defaultAuth() Auth {
	return Auth{
		PlaintextOnLoopback:        true,
		CacheTTL:                   time.Hour,
		LockoutFailures:            8,
		LockoutFailuresPerAddress:  40,
		LockoutDuration:            15 * time.Minute,
		SlowdownFailuresPerAccount: 50,
		MinPasswordLength:          10,
	}
}

func (c *Config) validateAuth(bad func(key, format string, args ...any)) {
	a := c.Auth
	if a.CacheTTL < 0 || a.CacheTTL > 24*time.Hour {
		bad("[auth] cache_ttl", "%v: want from \"0s\" (off) to \"24h\" (e.g. \"1h\")", a.CacheTTL)
	}
	if a.LockoutFailures < 1 || a.LockoutFailures > 1000 {
		bad("[auth] lockout_failures", "%d: want from 1 to 1000 (e.g. 8)", a.LockoutFailures)
	}
	if a.LockoutFailuresPerAddress < a.LockoutFailures || a.LockoutFailuresPerAddress > 100000 {
		bad("[auth] lockout_failures_per_address", "%d: want at least lockout_failures (%d) and at most 100000 (e.g. 40)",
			a.LockoutFailuresPerAddress, a.LockoutFailures)
	}
	if a.LockoutDuration < time.Minute || a.LockoutDuration > 7*24*time.Hour {
		bad("[auth] lockout_duration", "%v: want from \"1m\" to \"168h\" (e.g. \"15m\")", a.LockoutDuration)
	}
	if a.SlowdownFailuresPerAccount < 1 {
		bad("[auth] slowdown_failures_per_account", "%d: want 1 or more (e.g. 50)", a.SlowdownFailuresPerAccount)
	}
	if a.MinPasswordLength < 1 || a.MinPasswordLength > maxPasswordLength {
		bad("[auth] min_password_length", "%d: want from 1 to %d (e.g. 10)", a.MinPasswordLength, maxPasswordLength)
	}
	l := c.Limits
	if l.ConnectionsPerIP < 0 {
		bad("[limits] connections_per_ip", "%d: must be 0 (no cap) or more", l.ConnectionsPerIP)
	}
	if l.ConnectionsPerAccountIP < 0 {
		bad("[limits] connections_per_account_ip", "%d: must be 0 (no cap) or more", l.ConnectionsPerAccountIP)
	}
	if l.Connections < 0 {
		bad("[limits] connections", "%d: must be 0 (no cap) or more", l.Connections)
	}
}
