package mimeinfo

import "errors"

// ErrUnknownCTE is returned by Tree.Binary for a part whose
// Content-Transfer-Encoding it cannot undo (RFC 3516 §4.3: the server
// answers NO [UNKNOWN-CTE]).
var ErrUnknownCTE = errors.New("unknown Content-Transfer-Encoding")

// Binary returns a body section with its Content-Transfer-Encoding undone
// (RFC 3516 §4.2, FETCH BINARY[path]): for a leaf part, its body decoded
// from base64 or quoted-printable, or as it is for 7bit, 8bit and binary;
// for a multipart or message/rfc822 part, whose encoding can only be an
// identity (RFC 2045 §6.4), and for the whole message (an empty path), the
// bytes as they are. ok is false for a part that does not exist; an
// encoding other than those gives ErrUnknownCTE.
func (t *Tree) Binary(path []int) (data []byte, ok bool, err error) {
	node, isMsg, ok := locate(t.root, path)
	if !ok {
		return nil, false, nil
	}
	if isMsg {
		return t.msg[node.start:node.end], true, nil
	}
	body := t.msg[node.hdrEnd:node.end]
	if node.isMultipart() || node.msg != nil {
		return body, true, nil
	}
	switch enc := encodingOf(node.f.encoding); enc {
	case "7BIT", "8BIT", "BINARY":
		return body, true, nil
	case "BASE64", "QUOTED-PRINTABLE":
		return decodeTransfer(body, enc, len(body)), true, nil
	}
	return nil, true, ErrUnknownCTE
}

// Structure returns the BODYSTRUCTURE (extended) of the part at path, or
// of the message for an empty path, as FETCH BODYSTRUCTURE writes it: what
// URLFETCH's BODYPARTSTRUCTURE returns (RFC 5524 §3).
func (t *Tree) Structure(path []int) ([]byte, bool) {
	node, _, ok := locate(t.root, path)
	if !ok {
		return nil, false
	}
	return node.appendBody(nil, t.msg, true), true
}
