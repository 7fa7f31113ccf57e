package sieve

import (
	"strings"

	"postern/mimeinfo"
)

// addrPart is ADDRESS-PART (RFC 5228 §2.7.4, RFC 5233 §4).
type addrPart uint8

const (
	partAll addrPart = iota
	partLocal
	partDomain
	partUser
	partDetail
)

func addressPart(a *args) addrPart {
	switch {
	case a.has("localpart"):
		return partLocal
	case a.has("domain"):
		return partDomain
	case a.has("user"):
		return partUser
	case a.has("detail"):
		return partDetail
	}
	return partAll
}

// pick returns the part of an address made of local and domain (domain
// "" when the address has none). ok is false when the part does not
// exist: an invalid address has no local part or domain (RFC 5228
// §2.7.4), and an address without the separator has no detail (RFC 5233
// §4).
func (p addrPart) pick(local, domain, sep string) (string, bool) {
	switch p {
	case partAll:
		if domain == "" {
			return local, local != ""
		}
		return local + "@" + domain, true
	case partLocal:
		return local, local != "" && domain != ""
	case partDomain:
		return domain, local != "" && domain != ""
	}
	if local == "" || domain == "" {
		return "", false
	}
	user, detail, found := strings.Cut(local, sep)
	if p == partUser {
		return user, true
	}
	return detail, found
}

// addressHeaders are the fields the address test looks into (RFC 5228
// §5.1: at least From, To, Cc, Bcc, Sender, Resent-From and Resent-To,
// and other fields holding address lists).
var addressHeaders = map[string]bool{
	"from": true, "sender": true, "reply-to": true, "to": true, "cc": true, "bcc": true,
	"resent-from": true, "resent-sender": true, "resent-reply-to": true, "resent-to": true,
	"resent-cc": true, "resent-bcc": true, "return-path": true, "delivered-to": true,
	"envelope-to": true, "x-original-to": true, "errors-to": true, "mail-followup-to": true,
	"mail-reply-to": true, "disposition-notification-to": true, "return-receipt-to": true,
	"original-recipient": true, "x-envelope-to": true, "x-envelope-from": true,
}

// splitAddress splits a bare address at its last "@".
func splitAddress(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// envelopeAddress cleans an envelope address: angle brackets and a source
// route go (RFC 5228 §5.4: "MUST drop source routes").
func envelopeAddress(a string) string {
	a = strings.TrimSpace(a)
	a = strings.TrimSuffix(strings.TrimPrefix(a, "<"), ">")
	if strings.HasPrefix(a, "@") {
		if i := strings.IndexByte(a, ':'); i >= 0 {
			a = a[i+1:]
		}
	}
	return a
}

// parseSieveAddress checks an outbound address (RFC 5228 §2.4.2.3):
//
//	sieve-address = addr-spec / phrase "<" addr-spec ">"
//
// and returns the addr-spec. Groups, lists and source routes are refused.
func parseSieveAddress(s string) (addr string, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, ",;\r\n") && !strings.Contains(s, "\"") {
		return "", false
	}
	list := mimeinfo.AddressList(s)
	if len(list) != 1 || list[0].Mailbox == "" || list[0].Host == "" {
		return "", false
	}
	a := list[0]
	if strings.ContainsAny(a.Mailbox, " \t<>()[]:;,") && !strings.HasPrefix(a.Mailbox, "\"") {
		return "", false
	}
	if strings.ContainsAny(a.Host, " \t<>()\"@,;:\\") || strings.HasPrefix(a.Host, ".") || strings.HasSuffix(a.Host, ".") {
		return "", false
	}
	if strings.Count(s, "<") > 1 || strings.Count(s, ">") > 1 || strings.Contains(s, ":") && !strings.Contains(s, "\"") {
		return "", false
	}
	return a.Mailbox + "@" + a.Host, true
}
