package mimeinfo

// appendEnvelope writes the ENVELOPE of a message with header fields f
// (RFC 3501 §7.4.2): date, subject, from, sender, reply-to, to, cc, bcc,
// in-reply-to, message-id. Date and subject are the raw (unfolded) values.
// Sender and reply-to default to from when absent or empty, as §7.4.2 requires
// of the server.
func appendEnvelope(b []byte, f *fields) []byte {
	b = append(b, '(')
	b = appendNString(b, f.date)
	b = append(b, ' ')
	b = appendNString(b, f.subject)
	b = append(b, ' ')
	b = appendAddressList(b, f.from)
	b = append(b, ' ')
	b = appendAddressList(b, orFrom(f.sender, f.from))
	b = append(b, ' ')
	b = appendAddressList(b, orFrom(f.replyTo, f.from))
	b = append(b, ' ')
	b = appendAddressList(b, f.to)
	b = append(b, ' ')
	b = appendAddressList(b, f.cc)
	b = append(b, ' ')
	b = appendAddressList(b, f.bcc)
	b = append(b, ' ')
	b = appendNString(b, f.inReplyTo)
	b = append(b, ' ')
	b = appendNString(b, f.messageID)
	return append(b, ')')
}

// orFrom returns v unless it is absent or names nobody, in which case from.
func orFrom(v, from hval) hval {
	if !v.ok || len(parseAddressList(v.v)) == 0 {
		return from
	}
	return v
}
