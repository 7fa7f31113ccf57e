// Package sieve parses, checks and runs Sieve mail filters (RFC 5228).
//
// Compile parses a script by the grammar of RFC 5228 §8 and checks it;
// every error is an *Error with the line and column of what is wrong.
// Script.Run runs it on one message for one recipient and returns a
// Result: typed actions (Keep, FileInto, Redirect, Reject, Discard,
// Vacation) for the caller to carry out, the implicit keep included
// (RFC 5228 §2.10.2). A run never touches the world: it reads the message
// through Message, the envelope from Envelope, and asks Host for the
// rest, so the same script and message give the same result.
//
//	s, err := sieve.Compile(src, &sieve.Options{MaxRedirects: 4})
//	msg := sieve.ParseMessage(raw) // once per message, for every recipient
//	res := s.Run(ctx, msg, sieve.Envelope{From: from, To: rcpt}, &sieve.Host{...})
//	for _, a := range res.Actions { ... }
//
// # Extensions
//
// The capabilities are those Extensions returns: fileinto, envelope and
// encoded-character (RFC 5228), reject and ereject (RFC 5429), imap4flags
// (RFC 5232), copy (RFC 3894), body (RFC 5173), variables (RFC 5229),
// vacation (RFC 5230) and vacation-seconds (RFC 6131), relational (RFC
// 5231), comparator-i;ascii-numeric (RFC 4790; i;octet and i;ascii-casemap
// are always there), subaddress (RFC 5233), date and index (RFC 5260),
// mailbox (RFC 5490 §3: fileinto :create and mailboxexists), include
// (RFC 6609), spamtest, spamtestplus and virustest (RFC 5235) and
// duplicate (RFC 7352). Where the RFCs leave a choice:
//
//   - "?" in :matches is one octet, as for i;octet and i;ascii-casemap
//     (RFC 5228 §2.7.1); i;ascii-casemap folds ASCII letters only.
//   - Header values are compared decoded (RFC 2047) and made valid UTF-8;
//     address and envelope compare the address as written.
//   - The address test looks only into fields that hold addresses (From,
//     To, Cc, Bcc, Sender, Reply-To, the Resent- fields, Return-Path,
//     Delivered-To and the like); naming another is a compile error.
//   - envelope knows "from", "to" and "auth" (the AUTH= of MAIL FROM).
//   - Comparator names, relational operators, date parts, :zone, :content
//     types and include's script name are taken as written: variables are
//     not expanded in them.
//   - body :content of a message/rfc822 part compares its header decoded,
//     one "Name: value" line per field. :text is the text of the text
//     parts with HTML reduced to words (mimeinfo.SearchText). At most
//     Options.MaxBodyBytes of body are compared.
//   - A second delivery to one mailbox (fileinto twice, or keep and
//     fileinto "INBOX") is merged into the first, flags added (RFC 5228
//     §2.10.3); a redirect to the same address twice is one.
//   - reject and ereject go with discard only: with keep, fileinto,
//     redirect (:copy or not), vacation or another reject they are a
//     run-time error (RFC 5429 §2.1, RFC 5230 §4.7).
//   - Invalid IMAP flags are left out of flag lists (RFC 5232 §3).
//   - Variables are cut at Options.MaxVariableSize octets (RFC 5229 §6).
//   - The editheader, enotify, regex, environment and metadata extensions
//     are not offered; scripts that require them do not compile.
//
// # What the caller does with a Result
//
// Result.Err set means the script failed: deliver to INBOX as the single
// implicit Keep says, and log the error and Result.Abandoned (RFC 5228
// §2.10.6). Otherwise carry out every action:
//
//   - Keep: store in INBOX with Flags (nil: the usual flags).
//   - FileInto: store in Mailbox with Flags. When the mailbox does not
//     exist, create it if Create is set, else store in INBOX.
//   - Redirect: send the message unchanged to Address with a loop-counting
//     header of the caller's own; keep the envelope sender "<>" when it
//     was, rewrite it (SRS) otherwise (RFC 5228 §4.2).
//   - Reject: refuse at SMTP time (ereject, before the final reply) or
//     send a bounce to the envelope sender, never to "<>" (RFC 5429).
//   - Discard: nothing; it only cancelled the implicit keep.
//   - Vacation: if VacationEligible allows it and no reply with the same
//     Handle went to the envelope sender within Period, send
//     VacationReply from "<>" through the outbound queue, DKIM-signed,
//     and remember (sender, Handle) for Period; keep at least 1000 such
//     records (RFC 5230 §4.2).
//   - Result.Duplicates: once the message is delivered, remember each
//     (Handle, ID) until Expires (RFC 7352); Refresh moves the expiry of
//     an ID already remembered.
//
// All the actions of one message belong in one transaction with the rest
// of its delivery.
//
// # Limits
//
// Options bound everything a hostile script or message could make large:
// script size, nesting, actions, redirects, variables and their size,
// includes (depth, count and loops), and the work of a run, counted in
// steps rather than time so that a run is deterministic. :matches runs in
// time linear in the value whatever the pattern: no backtracking.
package sieve
