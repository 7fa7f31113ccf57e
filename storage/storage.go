// Package storage is what Postern's front ends see of the mail store:
// accounts, aliases, mailboxes, messages and their bodies, the outbound
// queue, and the events that tell live sessions what changed. It holds the
// types, the rules every backend applies the same way (mailbox names,
// passwords, preparing a message body), the interfaces each consumer takes
// (iface.go), and the change log's types and reader. It speaks no SQL: a
// backend (storage/sqlite, the default) implements the interfaces, and
// storage/storagetest checks that it does so as the front ends expect.
//
// The store knows nothing of protocols: flags, UIDs and deletions look the
// same in SMTP, IMAP and POP3 because all of them go through it.
package storage

import (
	"context"
	"errors"
)

// Errors returned by the store. They are wrapped with context; test with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrExists      = errors.New("already exists")
	ErrAuthFailed  = errors.New("authentication failed")
	ErrInvalidName = errors.New("invalid name")
	ErrNonEmpty    = errors.New("has children")
	ErrTooBig      = errors.New("message too big")
	ErrClosed      = errors.New("store is closed")
)

// ErrNoSpace means the disk of data_dir is full: new mail cannot be stored
// now (SMTP 452 4.3.1, IMAP NO [OVERQUOTA], POP3 -ERR [SYS/TEMP]), while
// deleting mail still works.
var ErrNoSpace = errors.New("not enough disk space in data_dir")

// ctxOrBackground guards against nil contexts from callers.
func ctxOrBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}
