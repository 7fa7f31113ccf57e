package outbound

import (
	"context"
	"errors"
	"slices"
	"strings"

	"postern/storage"
)

// finish records the outcome of an attempt on e, together with the delivery
// status notifications it calls for, in one store transaction. Temporary
// failures past max_queue_age become permanent ones (RFC 3463 X.4.7).
func (r *Runner) finish(ctx context.Context, e storage.QueueEntry, res map[int]outcome, s *session) {
	now := r.opts.Now()
	expired := now.Sub(e.Created) >= r.opts.MaxQueueAge
	u := storage.QueueUpdate{ID: e.ID, NextAttempt: now.Add(r.retryDelay(e.Attempts))}
	var report []reportRcpt
	var lastErr string
	for _, rc := range e.Pending() {
		o, ok := res[rc.N]
		if !ok {
			continue
		}
		if o.status == storage.RcptPending && expired {
			o.status = storage.RcptFailed
			o.enh = "4.4.7" // delivery time expired; the DSN's Action is "failed"
			o.msg = "gave up after " + r.opts.MaxQueueAge.String() + ": " + o.msg
		}
		rr := storage.RcptResult{N: rc.N, Status: o.status, Code: o.code, Error: o.msg}
		if o.status != storage.RcptDelivered {
			lastErr = o.msg
		}
		switch {
		case o.status == storage.RcptFailed && notifies(rc.Notify, "FAILURE"):
			report = append(report, reportRcpt{rcpt: rc, out: o, action: "failed"})
		case o.status == storage.RcptDelivered && notifies(rc.Notify, "SUCCESS") && (s == nil || !s.dsn):
			// RFC 3461 §5.2.2: a server without DSN cannot report success on
			// our behalf, so we say it was relayed.
			report = append(report, reportRcpt{rcpt: rc, out: o, action: "relayed"})
		case o.status == storage.RcptPending && !rc.DelaySent && explicitly(rc.Notify, "DELAY"):
			// One "delayed" notice per recipient, and only when asked for.
			report = append(report, reportRcpt{rcpt: rc, out: o, action: "delayed"})
			rr.DelaySent = true
		}
		u.Rcpts = append(u.Rcpts, rr)
		r.log.Info("outbound: delivery", "id", e.ID, "msgid", e.MsgID, "rcpt", rc.Address, "status", o.status.String(),
			"remote", o.remote, "detail", o.msg, "attempt", e.Attempts)
	}
	u.LastError = lastErr
	if len(report) > 0 && e.From != "" {
		n, err := r.notice(ctx, e, report)
		if err != nil {
			r.log.Error("outbound: building a delivery status notification", "id", e.ID, "err", err)
		}
		u.Notice = n
	}
	if _, err := r.st.QueueUpdate(ctx, u); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return // dropped from the CLI meanwhile
		}
		r.log.Error("outbound: recording a delivery result", "id", e.ID, "err", err)
	}
}

// notifies reports whether a recipient's NOTIFY asks for kind. Without NOTIFY
// the default is FAILURE (RFC 3461 §4.1); NEVER asks for nothing.
func notifies(notify []string, kind string) bool {
	if len(notify) == 0 {
		return kind == "FAILURE"
	}
	return explicitly(notify, kind)
}

func explicitly(notify []string, kind string) bool {
	for _, n := range notify {
		if strings.EqualFold(n, kind) {
			return true
		}
	}
	return false
}

// returnsContent reports whether a failure notice about e may carry the
// whole message: the sender asked for it (RET=FULL, RFC 3461 §4.3) and the
// message is one this server vouches for. Mail that arrived unauthenticated
// comes back as its header only, whatever it asked: its reverse-path is
// unverified, and returning the content to it would let anyone send their
// message to any address through us by forging that address as the sender.
func returnsContent(e storage.QueueEntry) bool {
	return strings.EqualFold(e.Return, "FULL") && e.Origin.Authenticated()
}

// maxForwardedHeader bounds the header returned in a notice about mail that
// arrived unauthenticated: its header is as much the sender's choice as its
// body, and a notice should not carry megabytes of it to an unverified
// address.
const maxForwardedHeader = 64 << 10

// notice builds the DSN for report and says where it goes: into the sender's
// INBOX when the sender is a local account, else queued with the null sender
// (so that it can never cause a bounce itself).
func (r *Runner) notice(ctx context.Context, e storage.QueueEntry, report []reportRcpt) (storage.Notice, error) {
	b, err := r.st.ReadBody(ctx, e.BodyID)
	if err != nil {
		return storage.Notice{}, err
	}
	// RFC 3461 §4.3 and §6.2: RET applies to notices of failure only; any
	// other notice (relayed, delayed) returns the header.
	full := returnsContent(e) && slices.ContainsFunc(report, func(rr reportRcpt) bool { return rr.action == "failed" })
	orig := b
	if !full {
		limit := 0
		if !e.Origin.Authenticated() {
			limit = maxForwardedHeader
		}
		orig = headerOf(b, limit)
	}
	dsn := buildDSN(dsnInput{
		hostname: r.hostname, entry: e, rcpts: report, original: orig,
		full: full, now: r.opts.Now(), retryUntil: e.Created.Add(r.opts.MaxQueueAge),
	})
	queued := func(rcpts []string) storage.QueueItem {
		it := storage.QueueItem{MsgID: "dsn-" + e.MsgID, From: "", Origin: storage.OriginServer, Body: storage.NewBody(dsn)}
		for _, a := range rcpts {
			it.Recipients = append(it.Recipients, storage.QueueRecipient{Address: a, Notify: []string{"NEVER"}})
		}
		return it
	}
	if !r.router.IsLocal(e.From) {
		return storage.Notice{Queue: []storage.QueueItem{queued([]string{e.From})}}, nil
	}
	// A served domain: the sender is an account, a +tag of one, or an alias
	// leading to accounts (and maybe forwarding elsewhere), as for any mail.
	res, err := r.router.Resolve(ctx, e.From)
	if err != nil || (len(res.Accounts) == 0 && len(res.Remote) == 0) {
		r.log.Warn("outbound: the sender leads to no mailbox; delivery status notification dropped", "id", e.ID, "sender", e.From, "err", err)
		return storage.Notice{}, nil
	}
	var n storage.Notice
	if len(res.Accounts) > 0 {
		// The final delivery records the null reverse-path (RFC 5321 §4.4).
		local := storage.NewBody(append([]byte("Return-Path: <>\r\n"), dsn...))
		for _, a := range res.Accounts {
			n.Append = append(n.Append, storage.AppendItem{AccountID: a.ID, Body: local})
		}
	}
	if len(res.Remote) > 0 {
		n.Queue = append(n.Queue, queued(res.Remote))
	}
	return n, nil
}
