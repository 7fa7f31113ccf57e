package sieve

import (
	"strconv"
	"strings"

	"postern/mimeinfo"
)

// The body test (RFC 5173), and the tests that ask the Host: spamtest
// and virustest (RFC 5235), mailboxexists (RFC 5490 §3.1).

type bodyTransform uint8

const (
	bodyText bodyTransform = iota // :text, the default (RFC 5173 §5)
	bodyRaw
	bodyContent
)

type bodyTest struct {
	transform bodyTransform
	types     []string // :content types in lower case
	m         *matcher
}

func compileBody(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &bodyTest{}
	switch {
	case a.has("raw"):
		t.transform = bodyRaw
	case a.has("content"):
		t.transform = bodyContent
		for _, s := range a.tags["content"].params[0].Strings {
			t.types = append(t.types, strings.ToLower(s.Value))
		}
	}
	m, err := ck.compileMatcher(a, a.positional[0])
	if err != nil {
		return nil, err
	}
	// The body test sets no match variables (RFC 5173 §6).
	m.vars = false
	t.m = m
	return t, nil
}

// typeMatches applies a :content type to a part (RFC 5173 §5.2): "" is
// every type, "type" every subtype of it, "type/subtype" that one; a
// type that starts or ends with "/" or has two is none.
func typeMatches(spec string, p *mimeinfo.Part) bool {
	if spec == "" {
		return true
	}
	typ, sub, slash := strings.Cut(spec, "/")
	if !slash {
		return typ == p.Type
	}
	if typ == "" || sub == "" || strings.Contains(sub, "/") {
		return false
	}
	return typ == p.Type && sub == p.Subtype
}

func (t *bodyTest) eval(r *run) (bool, error) {
	body := r.msg.Body()
	var vals []string
	switch t.transform {
	case bodyRaw:
		raw := body.Raw()
		if len(raw) > r.opts.MaxBodyBytes {
			raw = raw[:r.opts.MaxBodyBytes]
		}
		vals = []string{string(raw)}
	case bodyText:
		vals = []string{body.Text()}
	case bodyContent:
		parts := body.Parts()
		for i := range parts {
			p := &parts[i]
			for _, spec := range t.types {
				if !typeMatches(spec, p) {
					continue
				}
				vals = append(vals, p.Content)
				if p.Type == "multipart" {
					// Preamble and epilogue are separate strings.
					vals = append(vals, p.Epilogue)
				}
				break
			}
		}
	}
	n := 0
	for _, v := range vals {
		n += len(v)
	}
	if err := r.stepBytes(n); err != nil {
		return false, err
	}
	return r.match(t.m, vals)
}

// scoreTest is spamtest or virustest (RFC 5235 §3).
type scoreTest struct {
	virus   bool
	percent bool
	m       *matcher
}

func compileScore(ck *checker, c *Command, a *args) (cond, *Error) {
	m, err := ck.compileMatcher(a, a.positional[0])
	return &scoreTest{virus: c.Name == "virustest", percent: a.has("percent"), m: m}, err
}

func (t *scoreTest) eval(r *run) (bool, error) {
	var vals []string
	switch s := r.host.Spam; {
	case t.virus:
		// 0 is "not tested", 1 to 5 the result (RFC 5235 §3.3).
		v := 0
		if r.host.Virus != nil {
			v = min(max(r.host.Virus.Percent, 1), 5)
		}
		vals = []string{strconv.Itoa(v)}
	case t.percent:
		// 0 to 100; an untested message has no value at all, which
		// :count "eq" "0" tells apart (RFC 5235 §3.2).
		if s != nil {
			vals = []string{strconv.Itoa(min(max(s.Percent, 0), 100))}
		}
	default:
		// 0 is "not tested", 1 (clean) to 10 (spam) (RFC 5235 §3.1).
		v := 0
		if s != nil {
			v = 1 + (min(max(s.Percent, 0), 100)*9+50)/100
		}
		vals = []string{strconv.Itoa(v)}
	}
	return r.match(t.m, vals)
}

// mailboxExistsTest is mailboxexists (RFC 5490 §3.1): true when every
// named mailbox exists.
type mailboxExistsTest struct {
	pos   Pos
	names strList
}

func (t *mailboxExistsTest) eval(r *run) (bool, error) {
	names, err := r.expandList(t.names)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if r.host.Mailboxes == nil || checkMailboxName(n) != "" {
			return false, nil
		}
		ok, err := r.host.Mailboxes.MailboxExists(r.ctx, n)
		if err != nil {
			return false, r.errorf(t.pos, "mailboxexists: %v", err)
		}
		if !ok {
			return false, nil
		}
	}
	return true, nil
}

func init() {
	tests["body"] = testDef{ext: "body", fn: compileBody, spec: argSpec{
		tags: tags([]tagDef{comparatorTag}, matchTags, []tagDef{
			{name: "raw", group: "transform"},
			{name: "content", group: "transform", params: []argType{aStringList}},
			{name: "text", group: "transform"},
		}),
		positional: []argType{aStringList}, minPositional: 1,
	}}
	scoreSpec := argSpec{tags: tags([]tagDef{comparatorTag}, matchTags), positional: []argType{aString}, minPositional: 1}
	spamSpec := scoreSpec
	spamSpec.tags = append([]tagDef{{name: "percent", ext: "spamtestplus"}}, scoreSpec.tags...)
	tests["spamtest"] = testDef{ext: "spamtest", ext2: "spamtestplus", fn: compileScore, spec: spamSpec}
	tests["virustest"] = testDef{ext: "virustest", fn: compileScore, spec: scoreSpec}
	tests["mailboxexists"] = testDef{ext: "mailbox", spec: argSpec{positional: []argType{aStringList}, minPositional: 1},
		fn: func(ck *checker, c *Command, a *args) (cond, *Error) {
			l, err := ck.compileList(a.positional[0])
			return &mailboxExistsTest{pos: c.Pos, names: l}, err
		}}
}
