package sieve

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"postern/mimeinfo"
)

// Message is the message a script looks at.
type Message interface {
	// Header returns the values of the header fields named name (any
	// case), in the order they appear, unfolded (RFC 5322 §2.2.3) and
	// without surrounding white space, not decoded.
	Header(name string) []string
	// DecodedHeader is Header with RFC 2047 encoded words decoded to
	// UTF-8, as the header test compares them (RFC 5228 §2.7.2).
	DecodedHeader(name string) []string
	// Size is the message's size in octets (RFC 5228 §5.9).
	Size() int64
	// Body returns what the body test compares (RFC 5173). It is called
	// only when a body test runs.
	Body() Body
}

// AddressMessage is a Message that keeps the address lists of its fields
// parsed. The address test uses it when the Message has it, instead of
// parsing the fields on every test.
type AddressMessage interface {
	Message
	// Addresses returns, for each field named name (any case) in order,
	// its addresses as mimeinfo.AddressList parses the raw value.
	Addresses(name string) [][]mimeinfo.Address
}

// Body is a message body as the body test sees it (RFC 5173 §5). An
// implementation may hand out an analysis made once at delivery.
type Body interface {
	// Raw is the body as it is, after the header block (:raw).
	Raw() []byte
	// Text is the text a reader sees (:text): text parts decoded to
	// UTF-8, HTML reduced to its words, as mimeinfo.SearchText makes it.
	Text() string
	// Parts lists the MIME entities (:content), as mimeinfo.Parts does.
	Parts() []mimeinfo.Part
}

// Envelope is the SMTP envelope of the delivery a script runs for.
type Envelope struct {
	// From is the MAIL FROM address, "" for the null reverse-path "<>".
	From string
	// To is the RCPT TO address that delivered the message to this user
	// (RFC 5228 §5.4), before alias expansion.
	To string
	// Auth is the authenticated sender (the AUTH= parameter of MAIL,
	// RFC 4954 §5), "" when unknown; the envelope test's "auth" part.
	Auth string
}

// Host is what a run may ask of its surroundings. Every field is
// optional; the comments say what a nil one means.
type Host struct {
	// Mailboxes answers mailboxexists (RFC 5490 §3.1). Nil: no mailbox
	// exists.
	Mailboxes MailboxChecker
	// Scripts loads included scripts (RFC 6609). Nil: include fails
	// (unless :optional).
	Scripts ScriptLoader
	// Duplicates answers the duplicate test (RFC 7352). Nil: nothing is
	// a duplicate.
	Duplicates DuplicateTracker
	// Now is the clock for currentdate, duplicate and vacation. Nil:
	// time.Now.
	Now func() time.Time
	// Location is the local time zone of the date tests (RFC 5260
	// §4.1). Nil: UTC.
	Location *time.Location
	// Spam and Virus are the scores spamtest and virustest compare
	// (RFC 5235). Nil: the message was not tested.
	Spam, Virus *Score
}

// Score is the result of a spam or virus check.
type Score struct {
	// Percent is 0 (certainly clean) to 100 (certainly spam), for
	// spamtest. For virustest, 1 to 5 as RFC 5235 §3.3 defines: 1 clean,
	// 2 infection removed, 3 may be infected, 4 infected, 5 infected and
	// not to be delivered.
	Percent int
}

// MailboxChecker tells whether a mailbox of the user exists and can take
// mail (RFC 5490 §3.1).
type MailboxChecker interface {
	MailboxExists(ctx context.Context, name string) (bool, error)
}

// Location says where include looks for a script (RFC 6609 §3.2).
type Location int

// The script locations of include.
const (
	Personal Location = iota // the user's own scripts
	Global                   // scripts the site shares with every user
)

// ErrNoScript is what a ScriptLoader returns for a script that does not exist.
var ErrNoScript = errors.New("sieve: no such script")

// ScriptLoader returns the source of a script for include (RFC 6609), or
// ErrNoScript.
type ScriptLoader interface {
	LoadScript(ctx context.Context, loc Location, name string) ([]byte, error)
}

// DuplicateTracker answers whether an ID was seen for handle within the
// period of an earlier run and not expired by now (RFC 7352 §3). It only
// reads: the run lists in Result.Duplicates what to record once the
// message is delivered.
type DuplicateTracker interface {
	Seen(ctx context.Context, handle, id string, now time.Time) (bool, error)
}

// ParsedMessage is the Message of a stored message's octets. It splits the
// header once, decodes header fields once, and makes the body test's views
// once, on first use; one ParsedMessage can serve the runs of every
// recipient of a message, at the same time.
type ParsedMessage struct {
	raw       []byte
	headerLen int
	fields    map[string][]string
	decoded   map[string][]string
	addrs     map[string][][]mimeinfo.Address
	maxBody   int

	bodyOnce sync.Once
	body     *parsedBody
}

// ParseMessage prepares a message (CRLF line endings) for scripts. The
// body views hold at most DefaultMaxBodyBytes octets of text.
func ParseMessage(raw []byte) *ParsedMessage {
	m := &ParsedMessage{raw: raw, headerLen: mimeinfo.HeaderLen(raw), maxBody: DefaultMaxBodyBytes}
	fields := mimeinfo.FieldList(raw[:m.headerLen])
	m.fields = make(map[string][]string, len(fields))
	m.decoded = make(map[string][]string, len(fields))
	m.addrs = map[string][][]mimeinfo.Address{}
	for _, f := range fields {
		name := strings.ToLower(f.Name)
		m.fields[name] = append(m.fields[name], f.Value)
		m.decoded[name] = append(m.decoded[name], mimeinfo.DecodeValue(f.Value))
		if addressHeaders[name] {
			m.addrs[name] = append(m.addrs[name], mimeinfo.AddressList(f.Value))
		}
	}
	return m
}

func (m *ParsedMessage) Header(name string) []string        { return m.fields[lowerASCII(name)] }
func (m *ParsedMessage) DecodedHeader(name string) []string { return m.decoded[lowerASCII(name)] }
func (m *ParsedMessage) Size() int64                        { return int64(len(m.raw)) }

// Addresses returns the parsed address lists of the fields named name;
// only fields that hold addresses (those the address test looks at) have
// them.
func (m *ParsedMessage) Addresses(name string) [][]mimeinfo.Address {
	return m.addrs[lowerASCII(name)]
}

func (m *ParsedMessage) Body() Body {
	m.bodyOnce.Do(func() { m.body = &parsedBody{msg: m} })
	return m.body
}

// parsedBody computes each view on first use.
type parsedBody struct {
	msg       *ParsedMessage
	textOnce  sync.Once
	text      string
	partsOnce sync.Once
	parts     []mimeinfo.Part
}

func (b *parsedBody) Raw() []byte {
	raw := b.msg.raw[b.msg.headerLen:]
	if len(raw) > b.msg.maxBody {
		raw = raw[:b.msg.maxBody]
	}
	return raw
}

func (b *parsedBody) Text() string {
	b.textOnce.Do(func() { b.text = mimeinfo.SearchText(b.msg.raw, b.msg.maxBody) })
	return b.text
}

func (b *parsedBody) Parts() []mimeinfo.Part {
	b.partsOnce.Do(func() { b.parts = mimeinfo.Parts(b.msg.raw, b.msg.maxBody) })
	return b.parts
}
