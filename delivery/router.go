// Package delivery decides where a message goes and puts it there: it
// resolves a recipient address to local accounts (directly, through aliases,
// plus-addressing or a catch-all) or to a remote address, and stores one copy
// of a message in the INBOX of every local recipient in one transaction.
// It knows SMTP envelopes but not the SMTP wire protocol.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"postern/mailaddr"
	"postern/storage"
)

// Resolution limits. An alias chain deeper than maxAliasDepth, or an expansion
// that visits more than maxExpansion addresses, is a configuration mistake
// (or a loop the visited set did not break); it is refused rather than
// followed without bound.
const (
	maxAliasDepth = 10
	maxExpansion  = 1000
)

// Errors returned by Resolve. The SMTP layer turns them into RCPT replies.
var (
	// ErrUnknownUser: the address is in a served domain but names no account,
	// alias or catch-all (RFC 3463 X.1.1).
	ErrUnknownUser = errors.New("no such user here")
	// ErrDisabled: the address is a disabled account (RFC 3463 X.2.1).
	ErrDisabled = errors.New("mailbox disabled, not accepting messages")
	// ErrAliasLoop: alias expansion looped or grew past the limits without
	// reaching a mailbox (RFC 3463 X.4.6, routing loop).
	ErrAliasLoop = errors.New("alias expansion loops or is too deep")
	// ErrAliasDangling: the address is an alias whose targets are gone
	// (deleted or disabled accounts): it leads to no mailbox any more.
	ErrAliasDangling = errors.New("alias leads to no mailbox: its targets no longer exist")
	// ErrBadAddress: not of the form local@domain.
	ErrBadAddress = errors.New("address is not of the form local@domain")
)

// Router resolves recipients against the store and the served domains. It is
// safe for concurrent use.
type Router struct {
	store   storage.DeliveryStore
	domains map[string]bool
	queue   Queue
}

// NewRouter returns a Router for the given served domains (config domains).
// Remote recipients are handed to q; nil means NoQueue, which refuses them
// with a temporary error until outbound delivery exists.
func NewRouter(st storage.DeliveryStore, domains []string, q Queue) *Router {
	r := &Router{store: st, domains: make(map[string]bool, len(domains)), queue: q}
	for _, d := range domains {
		r.domains[mailaddr.NormalizeDomain(d)] = true
	}
	if r.queue == nil {
		r.queue = NoQueue{}
	}
	return r
}

// Store is the store the router delivers into.
func (r *Router) Store() storage.DeliveryStore { return r.store }

// Queue is where remote recipients go.
func (r *Router) Queue() Queue { return r.queue }

// Result is where one recipient address leads.
type Result struct {
	// Accounts are the local mailboxes, without duplicates, in the order found.
	Accounts []storage.Account
	// Remote are addresses outside the served domains: the recipient itself,
	// or targets of a local alias that forwards elsewhere.
	Remote []string
	// Dangling are alias targets in a served domain that resolve to nothing.
	// They are skipped; the caller may log them as a configuration problem.
	Dangling []string
}

// Local reports whether the recipient leads only to local mailboxes.
func (res Result) Local() bool { return len(res.Remote) == 0 }

func (res *Result) addAccount(a storage.Account) {
	for _, have := range res.Accounts {
		if have.ID == a.ID {
			return
		}
	}
	res.Accounts = append(res.Accounts, a)
}

func (res *Result) addRemote(addr string) {
	for _, have := range res.Remote {
		if strings.EqualFold(have, addr) {
			return
		}
	}
	res.Remote = append(res.Remote, addr)
}

// ServesDomain reports whether domain is one of the served domains.
func (r *Router) ServesDomain(domain string) bool { return r.domains[mailaddr.NormalizeDomain(domain)] }

// IsLocal reports whether addr's domain is served here.
func (r *Router) IsLocal(addr string) bool {
	_, domain, ok := mailaddr.Split(addr)
	return ok && r.ServesDomain(domain)
}

// Resolve finds where mail for rcpt goes. Lookups ignore case. For an address
// in a served domain, in order: an account of that exact address, an alias of
// it, then the same two for the address without its "+tag"
// (user+tag@domain), and last the domain's catch-all alias "@domain". So a
// real account or alias always wins over the catch-all. Alias targets are
// resolved the same way, recursively; a target seen before is skipped, which
// breaks loops.
//
// A recipient outside the served domains comes back in Result.Remote; whether
// it may be relayed is the caller's decision.
func (r *Router) Resolve(ctx context.Context, rcpt string) (Result, error) {
	var res Result
	w := &walk{r: r, seen: map[string]bool{}, active: map[string]bool{}}
	found, err := w.resolve(ctx, rcpt, 0, &res, true)
	if err != nil {
		return Result{}, err
	}
	if !found {
		return Result{}, ErrUnknownUser
	}
	if len(res.Accounts) == 0 && len(res.Remote) == 0 {
		// Found only aliases whose targets looped back or dangled.
		if w.looped || len(res.Dangling) == 0 {
			return Result{}, ErrAliasLoop
		}
		return Result{}, ErrAliasDangling
	}
	return res, nil
}

// walk is the state of one Resolve: the addresses already visited.
type walk struct {
	r      *Router
	seen   map[string]bool
	active map[string]bool // being expanded: on the way from the recipient
	steps  int
	looped bool // an address was reached again while being expanded
}

// resolve adds what addr leads to into res. It reports whether addr named
// anything at all (an account, an alias or a catch-all), so that the caller
// can tell an unknown user from an alias whose targets are all dangling.
func (w *walk) resolve(ctx context.Context, addr string, depth int, res *Result, top bool) (bool, error) {
	if depth > maxAliasDepth {
		return false, ErrAliasLoop
	}
	w.steps++
	if w.steps > maxExpansion {
		return false, ErrAliasLoop
	}
	local, domain, ok := mailaddr.Split(addr)
	if !ok {
		return false, fmt.Errorf("%q: %w", addr, ErrBadAddress)
	}
	if !w.r.ServesDomain(domain) {
		res.addRemote(addr)
		return true, nil
	}
	key := lookupKey(local, domain)
	if w.seen[key] {
		if w.active[key] {
			w.looped = true // a loop: this address is being expanded
		}
		return true, nil
	}
	w.seen[key] = true
	w.active[key] = true
	defer delete(w.active, key)

	found, err := w.exact(ctx, key, depth, res, top)
	if found || err != nil {
		return found, err
	}
	if base, _, plus := strings.Cut(local, "+"); plus && base != "" {
		bkey := lookupKey(base, domain)
		if !w.seen[bkey] {
			w.seen[bkey] = true
			if found, err := w.exact(ctx, bkey, depth, res, top); found || err != nil {
				return found, err
			}
		}
	}
	catchAll := "@" + mailaddr.NormalizeDomain(domain)
	if w.seen[catchAll] {
		return true, nil
	}
	w.seen[catchAll] = true
	return w.alias(ctx, catchAll, depth, res)
}

// exact resolves an address that must match an account or an alias as is.
func (w *walk) exact(ctx context.Context, addr string, depth int, res *Result, top bool) (bool, error) {
	acct, err := w.r.store.AccountByAddress(ctx, addr)
	switch {
	case err == nil:
		if acct.Disabled {
			if top {
				return false, ErrDisabled
			}
			res.Dangling = append(res.Dangling, addr)
			return true, nil
		}
		res.addAccount(acct)
		return true, nil
	case !errors.Is(err, storage.ErrNotFound):
		return false, err
	}
	return w.alias(ctx, addr, depth, res)
}

// alias expands one alias (or catch-all) if it exists.
func (w *walk) alias(ctx context.Context, alias string, depth int, res *Result) (bool, error) {
	targets, err := w.r.store.AliasTargets(ctx, alias)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range targets {
		found, err := w.resolve(ctx, t, depth+1, res, false)
		if err != nil {
			return true, err
		}
		if !found {
			res.Dangling = append(res.Dangling, t)
		}
	}
	return true, nil
}

// Owns reports whether the account may use addr as its envelope sender: addr
// is the account's own address (with or without a +tag), or an alias that
// leads to the account. The catch-all does not count, or its owner could send
// as any address of the domain.
func (r *Router) Owns(ctx context.Context, acct storage.Account, addr string) (bool, error) {
	local, domain, ok := mailaddr.Split(addr)
	if !ok || !r.ServesDomain(domain) {
		return false, nil
	}
	candidates := []string{local + "@" + domain}
	if base, _, plus := strings.Cut(local, "+"); plus && base != "" {
		candidates = append(candidates, base+"@"+domain)
	}
	for _, c := range candidates {
		if strings.EqualFold(c, acct.Address) {
			return true, nil
		}
		targets, err := r.store.AliasTargets(ctx, c)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return false, err
		}
		var res Result
		w := &walk{r: r, seen: map[string]bool{strings.ToLower(c): true}}
		for _, t := range targets {
			if _, err := w.resolveNoCatchAll(ctx, t, 1, &res); err != nil && !errors.Is(err, ErrAliasLoop) {
				return false, err
			}
		}
		for _, a := range res.Accounts {
			if a.ID == acct.ID {
				return true, nil
			}
		}
	}
	return false, nil
}

// resolveNoCatchAll is resolve without the catch-all step, for Owns.
func (w *walk) resolveNoCatchAll(ctx context.Context, addr string, depth int, res *Result) (bool, error) {
	if depth > maxAliasDepth {
		return false, ErrAliasLoop
	}
	w.steps++
	if w.steps > maxExpansion {
		return false, ErrAliasLoop
	}
	local, domain, ok := mailaddr.Split(addr)
	if !ok || !w.r.ServesDomain(domain) {
		return false, nil
	}
	key := lookupKey(local, domain)
	if w.seen[key] {
		return true, nil
	}
	w.seen[key] = true
	acct, err := w.r.store.AccountByAddress(ctx, key)
	if err == nil {
		if !acct.Disabled {
			res.addAccount(acct)
		}
		return true, nil
	}
	if !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	targets, err := w.r.store.AliasTargets(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, t := range targets {
		if _, err := w.resolveNoCatchAll(ctx, t, depth+1, res); err != nil {
			return true, err
		}
	}
	return true, nil
}

// lookupKey is the form accounts and aliases are found by, for an address
// whose local part is unquoted (go-smtp's form, and the alias table's).
func lookupKey(local, domain string) string {
	return mailaddr.Address{Local: local, Domain: mailaddr.NormalizeDomain(domain)}.Key()
}
