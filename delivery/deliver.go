package delivery

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"postern/storage"
)

// Envelope is one accepted SMTP transaction.
type Envelope struct {
	From       string   // reverse-path; "" is <>
	Recipients []string // forward-paths as accepted at RCPT, for the FOR clause
	Local      []storage.Account
	Remote     []Recipient
	Return     string // DSN RET
	EnvelopeID string // DSN ENVID
	UTF8       bool
	RequireTLS bool
	Trace      Trace
	// Check, if set, vets the prepared message (trace fields included)
	// before anything is stored. Its error refuses the message; Deliver
	// returns it wrapped in a *RefusedError.
	Check func(ctx context.Context, msg *storage.Body) error
}

// Delivered describes a stored message.
type Delivered struct {
	ID      string
	Size    int64 // of the stored local copy, header fields included
	Results []storage.AppendResult
}

// ReadError wraps a failure to read the message from the client (a broken
// connection, a timeout, a refused line ending). Nothing was stored.
type ReadError struct{ Err error }

func (e *ReadError) Error() string { return "reading message: " + e.Err.Error() }
func (e *ReadError) Unwrap() error { return e.Err }

// QueueError wraps a refusal of the outbound Queue. Nothing was stored.
type QueueError struct{ Err error }

func (e *QueueError) Error() string { return "queueing for remote delivery: " + e.Err.Error() }
func (e *QueueError) Unwrap() error { return e.Err }

// RefusedError wraps the refusal of Envelope.Check. Nothing was stored.
type RefusedError struct{ Err error }

func (e *RefusedError) Error() string { return "message refused: " + e.Err.Error() }
func (e *RefusedError) Unwrap() error { return e.Err }

// StoreError wraps a failure to store the message. The store commits the local
// copies and the outbound queue entry in one transaction, so no recipient got
// the message.
type StoreError struct{ Err error }

func (e *StoreError) Error() string { return "storing message: " + e.Err.Error() }
func (e *StoreError) Unwrap() error { return e.Err }

// errRecorder remembers the first read error of the client's stream, so that
// Deliver can tell it apart from its own failures.
type errRecorder struct {
	r   io.Reader
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// Deliver reads the message from raw and delivers it: the Received header is
// prepended for every copy and Return-Path for the local ones; the body is
// prepared once, outside any lock (a large message is spooled to data_dir as
// it arrives, not held in memory); then one Store.Accept stores a copy in
// the INBOX of each local account and queues the remote recipients, all in
// one transaction that is durable (fsync'd through the store's group
// commit) before Deliver returns. maxBytes caps the message as received,
// without the header fields added here (0: no cap).
func (r *Router) Deliver(ctx context.Context, raw io.Reader, env *Envelope, maxBytes int64) (Delivered, error) {
	if env.Trace.ID == "" {
		env.Trace.ID = NewID()
	}
	env.Trace.UTF8 = env.UTF8
	received := env.Trace.Received(env.Recipients)
	returnPath := ReturnPath(env.From, env.UTF8)
	head := returnPath + received
	limit := int64(0)
	if maxBytes > 0 {
		limit = maxBytes + int64(len(head))
	}
	rec := &errRecorder{r: raw}
	body, err := r.store.SpoolBody(ctx, io.MultiReader(strings.NewReader(head), rec), limit)
	switch {
	case rec.err != nil:
		return Delivered{ID: env.Trace.ID}, &ReadError{Err: rec.err}
	case errors.Is(err, storage.ErrTooBig):
		return Delivered{ID: env.Trace.ID}, &ReadError{Err: err}
	case err != nil:
		return Delivered{ID: env.Trace.ID}, &StoreError{Err: err}
	}
	defer body.Close()
	d := Delivered{ID: env.Trace.ID, Size: body.Size()}
	if env.Check != nil {
		if err := env.Check(ctx, body); err != nil {
			return d, &RefusedError{Err: err}
		}
	}

	var queue []storage.QueueItem
	if len(env.Remote) > 0 {
		if _, none := r.queue.(NoQueue); none {
			return d, &QueueError{Err: ErrOutboundDisabled}
		}
		// The outbound copy carries no Return-Path: the final delivery
		// elsewhere adds its own (RFC 5321 §4.4).
		outBody, err := body.Tail(ctx, int64(len(returnPath)))
		if err != nil {
			return d, &StoreError{Err: err}
		}
		defer outBody.Close()
		out := &Outbound{
			ID:         env.Trace.ID,
			From:       env.From,
			Origin:     env.Origin(),
			Recipients: env.Remote,
			Body:       outBody,
			Return:     env.Return,
			EnvelopeID: env.EnvelopeID,
			UTF8:       env.UTF8,
			RequireTLS: env.RequireTLS,
		}
		queue = append(queue, out.QueueItem())
	}

	items := make([]storage.AppendItem, 0, len(env.Local))
	seen := make(map[int64]bool, len(env.Local))
	for _, a := range env.Local {
		if seen[a.ID] {
			continue
		}
		seen[a.ID] = true
		// Mailbox "" is INBOX; \Recent is set by the store and left to IMAP.
		items = append(items, storage.AppendItem{AccountID: a.ID, Body: body})
	}
	if len(items) == 0 && len(queue) == 0 {
		return d, nil
	}
	res, err := r.store.Accept(ctx, items, queue)
	if err != nil {
		return d, &StoreError{Err: fmt.Errorf("%d local and %d remote recipient(s): %w", len(items), len(env.Remote), err)}
	}
	if len(queue) > 0 {
		r.queue.Queued()
	}
	d.Results = res
	return d, nil
}
