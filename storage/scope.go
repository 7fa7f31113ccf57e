package storage

import (
	"context"
	"fmt"
)

type accountKey struct{}

// WithAccount scopes what the store does with ctx to one account: a mailbox
// or a body of another account is then not found, whatever id the caller
// passes. Sessions scope their context at login, so that an id they hold
// can never lead them to another account's mail.
func WithAccount(ctx context.Context, accountID int64) context.Context {
	return context.WithValue(ctxOrBackground(ctx), accountKey{}, accountID)
}

func accountScope(ctx context.Context) (int64, bool) {
	id, ok := ctx.Value(accountKey{}).(int64)
	return id, ok
}

// mailboxArg is the SQL for a mailbox id argument and its arguments: the id
// itself, or in a scoped context the id only if the mailbox belongs to the
// account (else NULL, which matches no row). The subquery is not correlated:
// SQLite evaluates it once and still uses the index on mailbox_id.
func mailboxArg(ctx context.Context, id int64) (string, []any) {
	if acct, ok := accountScope(ctx); ok {
		return `(SELECT id FROM mailboxes WHERE id=? AND account_id=?)`, []any{id, acct}
	}
	return `?`, []any{id}
}

// checkScope refuses a mailbox outside the context's account.
func checkScope(ctx context.Context, m Mailbox) error {
	if acct, ok := accountScope(ctx); ok && m.AccountID != acct {
		return fmt.Errorf("mailbox id %d: %w", m.ID, ErrNotFound)
	}
	return nil
}

// checkAccountScope refuses an account other than the context's.
func checkAccountScope(ctx context.Context, accountID int64) error {
	if acct, ok := accountScope(ctx); ok && accountID != acct {
		return fmt.Errorf("account id %d: %w", accountID, ErrNotFound)
	}
	return nil
}
