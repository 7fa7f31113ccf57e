package mimeinfo

import "strings"

// Section returns the bytes of an IMAP body section (RFC 3501 §6.4.5 FETCH
// BODY[section]). path is the part number list (nil or empty: the whole
// message); specifier is "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
// "TEXT" or "MIME" (any case); fieldNames are the names for the HEADER.FIELDS
// forms. Part numbers follow §6.4.5: the parts of a multipart are numbered from
// 1; a message/rfc822 part is numbered through to the encapsulated message's
// parts; a message that is not multipart has one part, 1, its body. HEADER,
// HEADER.FIELDS(.NOT) and TEXT after a part number need a message/rfc822 part
// and refer to the encapsulated message; MIME needs a part number. A part that
// does not exist, or a specifier that does not apply, gives ok=false.
//
// Section parses the message; for several sections of one message, parse
// it once with NewTree.
func Section(msg []byte, path []int, specifier string, fieldNames []string) (data []byte, ok bool) {
	var filter *HeaderFilter
	if u := strings.ToUpper(specifier); strings.HasPrefix(u, "HEADER.FIELDS") {
		filter = NewHeaderFilter(fieldNames, u == "HEADER.FIELDS.NOT")
	}
	return NewTree(msg).Section(path, specifier, filter)
}

// A Tree is the part structure of one message, parsed once (as Parse
// parses it: bounded in depth and parts, linear in the message's size),
// from which any number of sections are cut. A FETCH of many part
// sections of one message parses it once, not once per section.
type Tree struct {
	msg  []byte
	root *part
}

// NewTree parses the part structure of msg, which it keeps and slices.
func NewTree(msg []byte) *Tree { return &Tree{msg: msg, root: walk(msg)} }

// Section returns a body section of the message as the function Section
// does; filter selects the fields of the HEADER.FIELDS and
// HEADER.FIELDS.NOT specifiers (nil: none).
func (t *Tree) Section(path []int, specifier string, filter *HeaderFilter) (data []byte, ok bool) {
	msg := t.msg
	node, isMsg, ok := locate(t.root, path)
	if !ok {
		return nil, false
	}
	switch spec := strings.ToUpper(specifier); spec {
	case "":
		if isMsg {
			return msg[node.start:node.end], true
		}
		return msg[node.hdrEnd:node.end], true
	case "MIME":
		if isMsg {
			return nil, false
		}
		return msg[node.start:node.hdrEnd], true
	case "HEADER":
		if m := messageOf(node, isMsg); m != nil {
			return msg[m.start:m.hdrEnd], true
		}
	case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
		if m := messageOf(node, isMsg); m != nil {
			if filter == nil {
				filter = NewHeaderFilter(nil, spec == "HEADER.FIELDS.NOT")
			}
			return filter.Apply(msg[m.start:m.hdrEnd]), true
		}
	case "TEXT":
		if m := messageOf(node, isMsg); m != nil {
			return msg[m.hdrEnd:m.end], true
		}
	}
	return nil, false
}

// locate follows path from the root message. isMsg reports that the result is
// a message (the root, for an empty path) rather than a body part.
func locate(root *part, path []int) (node *part, isMsg bool, ok bool) {
	node, isMsg = root, true
	for _, n := range path {
		if n < 1 {
			return nil, false, false
		}
		if !isMsg && !node.isMultipart() {
			if node.msg == nil {
				return nil, false, false
			}
			// A message/rfc822 part: its numbers are those of the
			// encapsulated message.
			node, isMsg = node.msg, true
		}
		switch {
		case node.isMultipart():
			if n > len(node.children) {
				return nil, false, false
			}
			node, isMsg = node.children[n-1], false
		case isMsg && n == 1:
			// The single part of a non-multipart message is the message's body.
			isMsg = false
		default:
			return nil, false, false
		}
	}
	return node, isMsg, true
}

// messageOf returns the message that HEADER and TEXT refer to at this point:
// the message itself, or the message encapsulated in a message/rfc822 part.
func messageOf(node *part, isMsg bool) *part {
	if isMsg {
		return node
	}
	return node.msg
}
