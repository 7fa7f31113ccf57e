package sqlite

import (
	"context"

	"postern/storage"
)

// mailboxArg is the SQL for a mailbox id argument and its arguments: the id
// itself, or in a scoped context the id only if the mailbox belongs to the
// account (else NULL, which matches no row). The subquery is not correlated:
// SQLite evaluates it once and still uses the index on mailbox_id.
func mailboxArg(ctx context.Context, id int64) (string, []any) {
	if acct, ok := storage.AccountScope(ctx); ok {
		return `(SELECT id FROM mailboxes WHERE id=? AND account_id=?)`, []any{id, acct}
	}
	return `?`, []any{id}
}
