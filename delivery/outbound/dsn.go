package outbound

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"postern/mailaddr"
	"postern/storage"
)

// reportRcpt is one recipient to report on in a DSN.
type reportRcpt struct {
	rcpt   storage.QueueRcpt
	out    outcome
	action string // failed, delayed, relayed (RFC 3464 §2.3.3)
}

type dsnInput struct {
	hostname   string
	entry      storage.QueueEntry
	rcpts      []reportRcpt
	original   []byte // header block, or the whole message when full
	full       bool
	now        time.Time
	retryUntil time.Time
}

// oneLine keeps text from the network or the envelope from breaking out of
// the header field or DSN field it is put in.
func oneLine(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == '\t' || r < ' ' || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) > 900 {
		s = s[:900]
	}
	return strings.TrimSpace(s)
}

// dsnStatus returns a status code whose class matches the action, as RFC
// 3464 §2.3.4 requires (2 for relayed, 4 for delayed, 4 or 5 for failed).
func dsnStatus(action, enh string) string {
	class := "5"
	switch action {
	case "relayed", "delivered":
		class = "2"
	case "delayed":
		class = "4"
	}
	if enh == "" || len(enh) < 5 || strings.Count(enh, ".") != 2 {
		return class + ".0.0"
	}
	if action == "failed" && (enh[0] == '4' || enh[0] == '5') {
		return enh
	}
	if enh[:1] != class {
		return class + enh[1:]
	}
	return enh
}

// buildDSN writes a delivery status notification (RFC 3464): a
// multipart/report (RFC 6522) with a human-readable part, the
// message/delivery-status part, and the original header (text/rfc822-headers)
// or, for RET=FULL, the original message (message/rfc822).
func buildDSN(in dsnInput) []byte {
	var b bytes.Buffer
	e := in.entry
	boundary := randomToken() + "/" + in.hostname
	worst := "relayed"
	for _, r := range in.rcpts {
		if r.action == "failed" || (r.action == "delayed" && worst == "relayed") {
			worst = r.action
		}
	}
	subject := map[string]string{
		"failed":  "Undelivered Mail Returned to Sender",
		"delayed": "Delayed Mail (still being retried)",
		"relayed": "Delivery Status Notification (relayed)",
	}[worst]
	date := in.now.Format(time.RFC1123Z)

	fmt.Fprintf(&b, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", in.hostname)
	fmt.Fprintf(&b, "To: <%s>\r\n", oneLine(mailaddr.Quote(e.From)))
	fmt.Fprintf(&b, "Subject: %s\r\n", subject)
	fmt.Fprintf(&b, "Date: %s\r\n", date)
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", randomToken(), in.hostname)
	b.WriteString("Auto-Submitted: auto-replied\r\n") // RFC 3834 §5
	b.WriteString("MIME-Version: 1.0\r\n")
	fmt.Fprintf(&b, "Content-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n\r\n", boundary)
	b.WriteString("This is a MIME-encapsulated delivery status notification.\r\n\r\n")

	// Human-readable part.
	fmt.Fprintf(&b, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Description: Notification\r\n\r\n", boundary)
	fmt.Fprintf(&b, "This is the mail system at %s.\r\n\r\n", in.hostname)
	switch worst {
	case "failed":
		b.WriteString("Your message could not be delivered to one or more recipients.\r\nIt is attached below.\r\n\r\n")
	case "delayed":
		b.WriteString("Your message has not been delivered yet to the recipients below.\r\nDelivery will be tried again; you need not send it again.\r\n\r\n")
	default:
		b.WriteString("Your message was handed on to the recipients' mail system, which\r\ndoes not send delivery reports of its own.\r\n\r\n")
	}
	for _, r := range in.rcpts {
		fmt.Fprintf(&b, "<%s>: %s", oneLine(r.rcpt.Address), r.action)
		if r.out.msg != "" {
			fmt.Fprintf(&b, ": %s", oneLine(r.out.msg))
		}
		b.WriteString("\r\n")
	}
	b.WriteString("\r\n")

	// Machine-readable part (RFC 3464 §2.2, §2.3).
	fmt.Fprintf(&b, "--%s\r\nContent-Type: message/delivery-status\r\nContent-Description: Delivery report\r\n\r\n", boundary)
	fmt.Fprintf(&b, "Reporting-MTA: dns; %s\r\n", in.hostname)
	if e.EnvelopeID != "" {
		fmt.Fprintf(&b, "Original-Envelope-Id: %s\r\n", oneLine(e.EnvelopeID))
	}
	fmt.Fprintf(&b, "Arrival-Date: %s\r\n", e.Created.Format(time.RFC1123Z))
	for _, r := range in.rcpts {
		b.WriteString("\r\n")
		if r.rcpt.ORCPT != "" {
			fmt.Fprintf(&b, "Original-Recipient: %s\r\n", oneLine(r.rcpt.ORCPT))
		}
		fmt.Fprintf(&b, "Final-Recipient: rfc822; %s\r\n", oneLine(mailaddr.Quote(r.rcpt.Address)))
		fmt.Fprintf(&b, "Action: %s\r\n", r.action)
		fmt.Fprintf(&b, "Status: %s\r\n", dsnStatus(r.action, r.out.enh))
		if r.out.remote != "" {
			fmt.Fprintf(&b, "Remote-MTA: dns; %s\r\n", oneLine(r.out.remote))
		}
		if r.out.code != 0 {
			fmt.Fprintf(&b, "Diagnostic-Code: smtp; %s\r\n", oneLine(r.out.msg))
		} else if r.out.msg != "" {
			fmt.Fprintf(&b, "X-Postern-Diagnostic: %s\r\n", oneLine(r.out.msg))
		}
		if !e.LastAttempt.IsZero() || e.Attempts > 0 {
			fmt.Fprintf(&b, "Last-Attempt-Date: %s\r\n", in.now.Format(time.RFC1123Z))
		}
		if r.action == "delayed" && !in.retryUntil.IsZero() {
			fmt.Fprintf(&b, "Will-Retry-Until: %s\r\n", in.retryUntil.Format(time.RFC1123Z))
		}
	}
	b.WriteString("\r\n")

	// The original message or its header.
	if in.full {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: message/rfc822\r\nContent-Description: Undelivered message\r\n\r\n", boundary)
	} else {
		fmt.Fprintf(&b, "--%s\r\nContent-Type: text/rfc822-headers\r\nContent-Description: Header of the message\r\n\r\n", boundary)
	}
	b.Write(in.original)
	if !bytes.HasSuffix(in.original, []byte("\r\n")) {
		b.WriteString("\r\n")
	}
	fmt.Fprintf(&b, "\r\n--%s--\r\n", boundary)
	return b.Bytes()
}

func randomToken() string {
	var p [12]byte
	rand.Read(p[:])
	return hex.EncodeToString(p[:])
}
