package sieve

import (
	"strings"
	"time"
)

// Action is one thing the caller must do with the message. Actions come in
// the order the script took them; the implicit keep, if taken, is last.
// The concrete types are Keep, FileInto, Redirect, Reject, Discard and
// Vacation.
type Action interface{ action() }

// Keep stores the message in the user's main mailbox, INBOX (RFC 5228
// §4.3). Implicit is true for the implicit keep (RFC 5228 §2.10.2).
type Keep struct {
	// Flags are the IMAP flags and keywords to store the message with
	// (RFC 5232 §3), empty for none; nil when the script does not use
	// imap4flags, so that delivery sets its own defaults.
	Flags    []string
	Implicit bool
}

// FileInto stores the message in Mailbox (RFC 5228 §4.1), a name in UTF-8
// with "/" or the server's hierarchy separator as the script wrote it.
type FileInto struct {
	Mailbox string
	Flags   []string // as Keep.Flags
	// Create asks for the mailbox to be created when it does not exist
	// (RFC 5490 §3.2). Without it, the caller delivers to INBOX instead.
	Create bool
	// Copy is set for fileinto :copy (RFC 3894): it did not cancel the
	// implicit keep. It changes nothing else for the caller.
	Copy bool
}

// Redirect sends the message on to Address, a bare addr-spec (RFC 5228
// §4.2). The caller must keep the envelope sender empty when it was empty,
// rewrite it (SRS) otherwise, add its loop-detection header and leave the
// message unchanged.
type Redirect struct {
	Address string
	Copy    bool // redirect :copy (RFC 3894)
}

// Reject refuses the message with Reason (RFC 5429). Extended is set for
// ereject: the caller should refuse at the SMTP level when it still can
// (§2.1), and otherwise, like for reject, send a bounce (an MDN or DSN,
// §2.2) to the envelope sender, never to "<>".
type Reject struct {
	Reason   string
	Extended bool
}

// Discard records that the script discarded the message (RFC 5228 §4.4).
// It only cancels the implicit keep: other actions still happen.
type Discard struct{}

// Vacation asks for an auto-reply (RFC 5230, RFC 6131), every parameter
// resolved. The caller decides whether to send it: VacationEligible
// applies RFC 5230 §4.5, §4.6 and RFC 3834; the caller must also not reply
// twice to one sender with one Handle within Period (RFC 5230 §4.2),
// remembering at least 1000 senders. VacationReply builds the message,
// which goes out from "<>" (§5.1), DKIM-signed like any other.
type Vacation struct {
	// Handle names the response for tracking: "handle:" and the :handle
	// argument, or "auto:" and a digest of :subject, :from, :mime and the
	// reason as written, before variables were expanded (RFC 5230 §4.2).
	Handle string
	// Period is :days or :seconds, the default when neither was given,
	// bounded by the site's minimum and maximum (RFC 5230 §4.1).
	Period time.Duration
	// Subject is :subject, or "Auto: " and the original subject, or
	// "Automated reply" (RFC 5230 §5.3).
	Subject string
	// From is :from as a bare address, or "" for the script owner's
	// address (RFC 5230 §5.4). FromHeader is :from as written, display
	// name included, for the From field.
	From, FromHeader string
	// Addresses are the :addresses, extra addresses of the user
	// (RFC 5230 §4.5).
	Addresses []string
	// MIME is set when Reason is a MIME entity, headers included (§4.4).
	MIME   bool
	Reason string
}

func (Keep) action()     {}
func (FileInto) action() {}
func (Redirect) action() {}
func (Reject) action()   {}
func (Discard) action()  {}
func (Vacation) action() {}

// mergeFlags adds the flags of b to a, without repeats (flags compare
// case-insensitively, RFC 3501 §2.3.2).
func mergeFlags(a, b []string) []string {
	if a == nil && b == nil {
		return nil
	}
	out := append([]string{}, a...)
	for _, f := range b {
		if !containsFold(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
