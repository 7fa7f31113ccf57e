package imapd

import (
	"fmt"
)

// statusResp is a tagged status a command ends with: OK, NO or BAD, with
// an optional response code (RFC 3501 §7.1). Handlers return it as an
// error; a nil error is "OK <command> completed".
type statusResp struct {
	kind string // "OK", "NO", "BAD"
	code string // e.g. "TRYCREATE", "APPENDUID 1 2"; no brackets
	text string
}

func (r *statusResp) Error() string {
	if r.code != "" {
		return r.kind + " [" + r.code + "] " + r.text
	}
	return r.kind + " " + r.text
}

func okCode(code, text string) error { return &statusResp{kind: "OK", code: code, text: text} }

func no(format string, args ...any) error {
	return &statusResp{kind: "NO", text: fmt.Sprintf(format, args...)}
}

func noCode(code, format string, args ...any) error {
	return &statusResp{kind: "NO", code: code, text: fmt.Sprintf(format, args...)}
}

func bad(format string, args ...any) error {
	return &statusResp{kind: "BAD", text: fmt.Sprintf(format, args...)}
}

// errHandled tells the connection that the handler wrote the tagged
// response itself (STARTTLS must answer before the handshake).
var errHandled = &statusResp{kind: "OK", text: "handled"}

// errReadOnly refuses a change in a mailbox opened with EXAMINE. It
// carries no response code: READ-ONLY belongs to the tagged OK of
// SELECT and EXAMINE (RFC 3501 §7.1), and clients take it anywhere else
// as the mailbox having become read-only.
var errReadOnly = &statusResp{kind: "NO", text: "The mailbox is read-only (EXAMINE)"}
