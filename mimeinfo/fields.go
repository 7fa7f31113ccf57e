package mimeinfo

import "time"

// Field is one header field: its name as written (without the white space
// obsolete syntax allows before the colon) and its value unfolded and
// trimmed, not decoded.
type Field struct {
	Name, Value string
}

// FieldList returns the fields of a header block in order (RFC 5322 §2.2),
// looking at no more than 1 MiB of it, like Parse. A line without a colon
// is no field and is left out. Fields iterates over the same fields without
// copying them.
func FieldList(header []byte) []Field {
	if len(header) > maxHeaderAnalysis {
		header = header[:maxHeaderAnalysis]
	}
	var out []Field
	eachField(header, func(fl fieldLine) {
		for _, c := range fl.raw {
			if c == ':' {
				out = append(out, Field{Name: string(fl.name), Value: fieldValue(fl)})
				return
			}
		}
	})
	return out
}

// DecodeValue decodes the RFC 2047 encoded words of a header value to UTF-8,
// in any charset mimeinfo knows; invalid UTF-8 becomes U+FFFD and NUL goes.
func DecodeValue(v string) string { return decodeHeader(v) }

// ParseDate reads an RFC 5322 date-time leniently, with the obsolete forms
// of §4.3, as Parse does for the Date field. ok is false when no date can
// be read.
func ParseDate(s string) (t time.Time, ok bool) {
	t = parseDate(s)
	return t, !t.IsZero()
}

// Address is one mailbox of an address list: the display name and the
// local part and domain as written. A missing part is empty.
type Address struct {
	Name, Mailbox, Host string
}

// AddressList parses an address-list header value (RFC 5322 §3.4, with the
// obsolete forms of §4.4) as ENVELOPE does, leniently: group names are left
// out and the group's members kept; "<>" and junk name nobody. Work and
// output are linear in len(s).
func AddressList(s string) []Address {
	var out []Address
	for _, a := range parseAddresses(s, false) {
		if a.groupStart || a.groupEnd || (a.mailbox == "" && a.host == "") {
			continue
		}
		out = append(out, Address{Name: a.name, Mailbox: a.mailbox, Host: a.host})
	}
	return out
}
