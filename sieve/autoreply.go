package sieve

import (
	"bytes"
	"mime"
	"mime/quotedprintable"
	"strings"
	"time"

	"postern/mimeinfo"
)

// VacationEligible decides whether the vacation reply v may go to the
// sender of msg, by the rules of RFC 5230 §4.5 and §4.6 and RFC 3834 §2.
// own are the addresses known to be the user's, aliases included (RFC
// 5230 §4.5 item 1); the envelope recipient (item 2) and :addresses (item
// 3) count too. It returns true, or false and the reason, for the log. The
// caller must still apply the period of RFC 5230 §4.2.
func VacationEligible(msg Message, env Envelope, v *Vacation, own []string) (bool, string) {
	sender := strings.ToLower(envelopeAddress(env.From))
	if sender == "" {
		return false, "the envelope sender is <> (RFC 3834 §2)"
	}
	local, _ := splitAddress(sender)
	switch {
	case local == "mailer-daemon", local == "listserv", local == "majordomo", local == "listproc",
		local == "noreply", local == "no-reply", local == "do-not-reply",
		strings.HasPrefix(local, "owner-"), strings.HasSuffix(local, "-request"),
		strings.HasSuffix(local, "-owner"), strings.HasSuffix(local, "-bounces"):
		// RFC 5230 §4.6: addresses used by automated systems and mailing
		// list software.
		return false, "the sender " + sender + " is an automated address (RFC 5230 §4.6)"
	}
	for _, h := range []string{"List-Id", "List-Help", "List-Subscribe", "List-Unsubscribe", "List-Post", "List-Owner", "List-Archive"} {
		if len(msg.Header(h)) > 0 {
			return false, "the message has a " + h + " field: it comes from a mailing list (RFC 5230 §4.6)"
		}
	}
	for _, p := range msg.Header("Precedence") {
		switch strings.ToLower(strings.TrimSpace(p)) {
		case "bulk", "list", "junk":
			return false, "the message has Precedence: " + strings.TrimSpace(p) + " (RFC 3834 §2)"
		}
	}
	for _, a := range msg.Header("Auto-Submitted") {
		kw, _, _ := strings.Cut(a, ";")
		if i := strings.IndexByte(kw, '('); i >= 0 {
			kw = kw[:i]
		}
		if !strings.EqualFold(strings.TrimSpace(kw), "no") {
			return false, "the message is Auto-Submitted: " + strings.TrimSpace(a) + " (RFC 3834 §2)"
		}
	}
	mine := map[string]bool{}
	add := func(a string) {
		if a = strings.ToLower(envelopeAddress(a)); a != "" {
			mine[a] = true
			mine[stripDetail(a)] = true
		}
	}
	for _, a := range own {
		add(a)
	}
	add(env.To)
	for _, a := range v.Addresses {
		if addr, ok := parseSieveAddress(a); ok {
			add(addr)
		} else {
			add(a)
		}
	}
	if mine[sender] || mine[stripDetail(sender)] {
		return false, "the sender is the user's own address"
	}
	for _, h := range []string{"To", "Cc", "Bcc", "Resent-To", "Resent-Cc", "Resent-Bcc"} {
		for _, val := range msg.Header(h) {
			for _, ad := range mimeinfo.AddressList(val) {
				a := strings.ToLower(ad.Mailbox + "@" + ad.Host)
				if mine[a] || mine[stripDetail(a)] {
					return true, ""
				}
			}
		}
	}
	return false, "the message is not addressed to the user in To, Cc or Bcc (RFC 5230 §4.5)"
}

// stripDetail removes a "+detail" from the local part of a lower-case
// address.
func stripDetail(a string) string {
	local, domain := splitAddress(a)
	if user, _, ok := strings.Cut(local, "+"); ok {
		return user + "@" + domain
	}
	return a
}

// VacationReply builds the reply message of v to the sender of msg (RFC
// 5230 §5, RFC 3834 §3): From is v.FromHeader or from (the user's
// address), To is to (the envelope sender), with Date, Message-ID
// messageID (without angle brackets), In-Reply-To and References from the
// original, and Auto-Submitted: auto-replied. The subject is RFC 2047
// encoded when it is not ASCII; a plain reason goes as UTF-8 text, a :mime
// one as the entity it is. Line endings are CRLF. The caller sends it from
// "<>" (§5.1).
func VacationReply(v *Vacation, msg Message, from, to string, date time.Time, messageID string) []byte {
	var b bytes.Buffer
	header := func(name, value string) {
		b.WriteString(name + ": " + oneLine(value) + "\r\n")
	}
	if v.FromHeader != "" {
		header("From", v.FromHeader)
	} else {
		header("From", "<"+from+">")
	}
	header("To", "<"+to+">")
	subject := oneLine(v.Subject)
	if !isASCII(subject) {
		subject = mime.QEncoding.Encode("utf-8", subject)
	}
	header("Subject", subject)
	header("Date", date.Format(time.RFC1123Z))
	header("Message-ID", "<"+messageID+">")
	if ids := msg.Header("Message-ID"); len(ids) > 0 && strings.TrimSpace(ids[0]) != "" {
		id := strings.TrimSpace(ids[0])
		header("In-Reply-To", id)
		refs := msg.Header("References")
		if len(refs) == 0 {
			// RFC 5322 §3.6.4: without References, In-Reply-To's ID.
			refs = msg.Header("In-Reply-To")
		}
		if len(refs) > 0 && strings.TrimSpace(refs[0]) != "" {
			header("References", strings.TrimSpace(refs[0])+" "+id)
		} else {
			header("References", id)
		}
	}
	header("Auto-Submitted", "auto-replied")
	header("MIME-Version", "1.0")
	if v.MIME {
		b.WriteString(toCRLF(v.Reason))
		return b.Bytes()
	}
	body := toCRLF(v.Reason)
	if isASCII(body) {
		header("Content-Type", "text/plain; charset=us-ascii")
		header("Content-Transfer-Encoding", "7bit")
		b.WriteString("\r\n" + body)
		return b.Bytes()
	}
	header("Content-Type", "text/plain; charset=utf-8")
	header("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	w := quotedprintable.NewWriter(&b)
	w.Write([]byte(body))
	w.Close()
	return b.Bytes()
}

// oneLine joins the lines of a value from a script: a header field may
// hold no line break (no header injection).
func oneLine(v string) string {
	return strings.Join(strings.FieldsFunc(v, func(r rune) bool { return r == '\r' || r == '\n' }), " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// toCRLF makes every line ending CRLF.
func toCRLF(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	return strings.ReplaceAll(s, "\n", "\r\n")
}
