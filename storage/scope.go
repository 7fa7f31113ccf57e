package storage

import (
	"context"
	"fmt"
)

type accountKey struct{}

// WithAccount scopes what the store does with ctx to one account: a mailbox
// or a body of another account is then not found, whatever id the caller
// passes. Sessions scope their context at login, so that an id they hold
// can never lead them to another account's mail. Every backend honours it.
func WithAccount(ctx context.Context, accountID int64) context.Context {
	return context.WithValue(ctxOrBackground(ctx), accountKey{}, accountID)
}

// AccountScope returns the account WithAccount scoped ctx to.
func AccountScope(ctx context.Context) (int64, bool) {
	if ctx == nil {
		return 0, false
	}
	id, ok := ctx.Value(accountKey{}).(int64)
	return id, ok
}

// CheckScope refuses a mailbox outside the context's account.
func CheckScope(ctx context.Context, m Mailbox) error {
	if acct, ok := AccountScope(ctx); ok && m.AccountID != acct {
		return fmt.Errorf("mailbox id %d: %w", m.ID, ErrNotFound)
	}
	return nil
}

// CheckAccountScope refuses an account other than the context's.
func CheckAccountScope(ctx context.Context, accountID int64) error {
	if acct, ok := AccountScope(ctx); ok && accountID != acct {
		return fmt.Errorf("account id %d: %w", accountID, ErrNotFound)
	}
	return nil
}
