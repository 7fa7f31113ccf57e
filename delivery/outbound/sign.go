package outbound

import (
	"bytes"
	"net/mail"
	"strings"

	"postern/mailaddr"
	"postern/storage"
)

// sign adds a DKIM signature to mail this server vouches for: submitted by
// an authenticated user or written by the server. The key is that of the
// author domain (the From header field, which DMARC aligns with); else the
// envelope sender's domain is tried. Forwarded mail goes out as it is: a
// signature of ours would make its unverified From pass DMARC (RFC 7489 §3.1).
func (r *Runner) sign(e storage.QueueEntry, msg []byte) []byte {
	if len(r.opts.DKIM) == 0 || !e.Origin.Authenticated() {
		return msg
	}
	if fromFields(msg) > 1 {
		// RFC 5322 §3.6 allows one From field; receivers differ on which of
		// several they show and which DMARC checks, so none is signed.
		r.log.Warn("outbound: several From fields; sending unsigned", "id", e.ID, "msgid", e.MsgID)
		return msg
	}
	var doms []string
	if m, err := mail.ReadMessage(bytes.NewReader(headerOf(msg, 0))); err == nil {
		if list, err := m.Header.AddressList("From"); err == nil && len(list) > 0 {
			if d := mailaddr.Domain(list[0].Address); d != "" {
				doms = append(doms, d)
			}
		}
	}
	if d := mailaddr.Domain(e.From); d != "" {
		doms = append(doms, d)
	}
	for _, d := range doms {
		if k := r.opts.DKIM[d]; k != nil {
			signed, err := k.Sign(msg)
			if err != nil {
				r.log.Error("outbound: DKIM signing failed; sending unsigned", "domain", d, "err", err)
				return msg
			}
			return signed
		}
	}
	return msg
}

// fromFields counts the From fields in the header as a receiver or the
// signer reads it: every line up to the first empty one, lines that are not
// header fields included, since parsers differ on where such a line ends
// the header.
func fromFields(msg []byte) int {
	n := 0
	for off := 0; off < len(msg); {
		next := len(msg)
		if i := bytes.IndexByte(msg[off:], '\n'); i >= 0 {
			next = off + i + 1
		}
		line := bytes.TrimRight(msg[off:next], "\r\n")
		if len(line) == 0 {
			break
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok && strings.EqualFold(string(bytes.TrimRight(name, " \t")), "From") {
			n++
		}
		off = next
	}
	return n
}
