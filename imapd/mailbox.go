package imapd

import (
	"errors"
	"strings"

	"postern/storage"
)

// mailboxError maps a store error about a mailbox to a tagged NO with the
// response code RFC 5530 gives it.
func mailboxError(name string, err error) error {
	switch {
	case errors.Is(err, storage.ErrNotFound):
		return noCode("NONEXISTENT", "Mailbox %q does not exist", name)
	case errors.Is(err, storage.ErrExists):
		return noCode("ALREADYEXISTS", "Mailbox %q already exists", name)
	case errors.Is(err, storage.ErrInvalidName):
		return noCode("CANNOT", "%s", strings.TrimSuffix(err.Error(), ": "+storage.ErrInvalidName.Error()))
	case errors.Is(err, storage.ErrNonEmpty):
		return noCode("INUSE", "Mailbox %q has children", name)
	}
	return err
}

// parents returns the superior names of a hierarchical name: "a/b/c"
// gives "a" and "a/b".
func parents(name string) []string {
	var out []string
	for i := 0; i < len(name); i++ {
		if name[i] == storage.Delimiter[0] {
			out = append(out, name[:i])
		}
	}
	return out
}
