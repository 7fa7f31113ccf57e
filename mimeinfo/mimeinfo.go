// Package mimeinfo analyses a message once, when it is stored, and keeps what
// IMAP needs from it: ENVELOPE, BODY and BODYSTRUCTURE in wire form (RFC 3501
// §7.4.2), the decoded header fields SEARCH compares, and the length of the
// header block. It also extracts body sections for FETCH BODY[section]
// (RFC 3501 §6.4.5: Tree, parsed once per message, and HeaderFilter), the
// decoded text that SEARCH BODY and TEXT compare (RFC 3501 §6.4.4:
// SearchText and DecodeHeader), and compares it with all the keys of a
// SEARCH in one pass (Matcher).
//
// Every input is assumed hostile: the walk never fails, never panics, nests at
// most 32 deep, looks at no more than 1 MiB of any header block, analyses at
// most 4096 parts, and runs in time and memory linear in the message size.
package mimeinfo

import (
	"strings"
	"time"
)

// Version numbers the analysis Parse makes. The store records it with
// every body, and `postern reindex` analyses again the bodies stored by an
// older version: raise it whenever Parse changes what it computes. History:
// 1, ENVELOPE, BODYSTRUCTURE and the decoded fields SEARCH compares; 2, the
// base subject and the parsed addresses.
const Version = 2

// Info is what the store keeps per message body.
type Info struct {
	HeaderLen     int    // octets of the top-level header block including the empty line (CRLF) that ends it; = len(msg) if no empty line
	Envelope      []byte // IMAP ENVELOPE in wire form, RFC 3501 §7.4.2
	Body          []byte // IMAP BODY (non-extensible form) in wire form
	BodyStructure []byte // IMAP BODYSTRUCTURE (extensible form) in wire form

	// Header fields decoded to UTF-8 (RFC 2047) for SEARCH; address lists as
	// written, decoded.
	Subject, From, To, Cc, Bcc, MessageID, InReplyTo, References string

	Date time.Time // Date: header parsed (RFC 5322, lenient, obsolete forms), zero if missing/unparseable

	// BaseSubject is Subject as SORT and THREAD compare it (RFC 5256
	// §2.1; see the function BaseSubject).
	BaseSubject string
	// The addresses of the originator and destination fields as
	// mailbox@host, the domain lower-cased, the local part as written; a
	// group gives its members, and an entry that names no mailbox and
	// domain is left out.
	FromAddrs, SenderAddrs, ReplyToAddrs, ToAddrs, CcAddrs, BccAddrs []string
}

// Parse analyses a message whose line endings are already CRLF. It never fails
// and never panics: a malformed message yields a best-effort Info (a broken
// Content-Type becomes text/plain; charset=us-ascii; a multipart with no parts
// gets one empty text/plain child, because clients crash on empty multiparts;
// nesting is capped at depth 32 and deeper parts are treated as opaque leaves;
// header blocks over 1 MiB are truncated for analysis; part count capped).
func Parse(msg []byte) *Info {
	root := walk(msg)
	f := &root.f
	info := &Info{
		HeaderLen:  root.hdrEnd,
		Subject:    decodeHeader(f.subject.v),
		From:       decodeHeader(f.from.v),
		To:         decodeHeader(f.to.v),
		Cc:         decodeHeader(f.cc.v),
		Bcc:        decodeHeader(f.bcc.v),
		MessageID:  decodeHeader(f.messageID.v),
		InReplyTo:  decodeHeader(f.inReplyTo.v),
		References: decodeHeader(f.references.v),
	}
	if f.date.ok {
		info.Date = parseDate(f.date.v)
	}
	info.BaseSubject, _ = BaseSubject(info.Subject)
	info.FromAddrs = addrSpecs(f.from)
	info.SenderAddrs = addrSpecs(f.sender)
	info.ReplyToAddrs = addrSpecs(f.replyTo)
	info.ToAddrs = addrSpecs(f.to)
	info.CcAddrs = addrSpecs(f.cc)
	info.BccAddrs = addrSpecs(f.bcc)
	info.Envelope = appendEnvelope(make([]byte, 0, 256), f)
	info.Body = root.appendBody(make([]byte, 0, 256), msg, false)
	info.BodyStructure = root.appendBody(make([]byte, 0, 512), msg, true)
	return info
}

// maxAddrs bounds the addresses kept of one field: a list of thousands is
// junk or a mass mailing, and what SEARCH and SORT need is in the first.
const maxAddrs = 1000

// addrSpecs returns the mailbox@host of each address of a field.
func addrSpecs(v hval) []string {
	if !v.ok {
		return nil
	}
	var out []string
	for _, a := range AddressList(v.v) {
		if a.Mailbox == "" || a.Host == "" {
			continue
		}
		out = append(out, a.Mailbox+"@"+strings.ToLower(a.Host))
		if len(out) == maxAddrs {
			break
		}
	}
	return out
}
