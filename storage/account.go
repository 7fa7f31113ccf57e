package storage

import (
	"fmt"
	"strings"
	"time"

	"postern/mailaddr"
)

// Account is a user who can log in and receive mail.
type Account struct {
	ID       int64
	Address  string
	Created  time.Time
	Disabled bool
}

// DefaultMailboxes are created with every account, with their RFC 6154
// special-use attributes.
var DefaultMailboxes = []struct{ Name, SpecialUse string }{
	{"INBOX", ""},
	{"Sent", `\Sent`},
	{"Drafts", `\Drafts`},
	{"Trash", `\Trash`},
	{"Junk", `\Junk`},
	{"Archive", `\Archive`},
}

// ValidateAddress refuses what cannot be an account's or alias's address.
func ValidateAddress(a string) error {
	if _, err := mailaddr.Parse(a); err != nil {
		return fmt.Errorf("%w (want local@domain)", err)
	}
	return nil
}

// Alias maps an address, or "@domain" for a catch-all, to one or more targets.
type Alias struct {
	Address string
	Targets []string
}

// NormalizeAlias checks an alias and its targets and returns them in
// normal form (mailaddr.Normalize), as every backend stores them.
func NormalizeAlias(alias string, targets []string) (string, []string, error) {
	alias = mailaddr.Normalize(alias)
	if !strings.HasPrefix(alias, "@") {
		if err := ValidateAddress(alias); err != nil {
			return "", nil, fmt.Errorf("alias: %w", err)
		}
	} else if _, err := mailaddr.ParseDomain(alias[1:]); err != nil {
		return "", nil, fmt.Errorf("alias %q: a catch-all is written @domain: %w", alias, err)
	}
	if len(targets) == 0 {
		return "", nil, fmt.Errorf("alias %s: no target given", alias)
	}
	out := make([]string, len(targets))
	for i, t := range targets {
		out[i] = mailaddr.Normalize(t)
		if err := ValidateAddress(out[i]); err != nil {
			return "", nil, fmt.Errorf("alias target: %w", err)
		}
		if strings.EqualFold(out[i], alias) {
			return "", nil, fmt.Errorf("alias %s: points at itself", alias)
		}
	}
	return alias, out, nil
}
