package sieve

import (
	"strings"

	"postern/mimeinfo"
)

// The tests of RFC 5228 §5: address, allof, anyof, envelope, exists,
// false, header, not, size, true.

type constTest bool

func (t constTest) eval(*run) (bool, error) { return bool(t), nil }

type notTest struct{ t cond }

func (t notTest) eval(r *run) (bool, error) {
	ok, err := t.t.eval(r)
	return !ok, err
}

// listTest is allof (all true) or anyof (any true); both stop at the
// first test that decides (RFC 5229 §3.2 relies on it for match variables).
type listTest struct {
	all   bool
	tests []cond
}

func (t *listTest) eval(r *run) (bool, error) {
	for _, c := range t.tests {
		if err := r.step(1); err != nil {
			return false, err
		}
		ok, err := c.eval(r)
		if err != nil || ok != t.all {
			return ok, err
		}
	}
	return t.all, nil
}

func compileNot(ck *checker, c *Command, _ *args) (cond, *Error) {
	t, err := ck.test(c.Tests[0])
	return notTest{t}, err
}

func compileList(ck *checker, c *Command, _ *args) (cond, *Error) {
	lt := &listTest{all: c.Name == "allof"}
	for _, sub := range c.Tests {
		t, err := ck.test(sub)
		if err != nil {
			return nil, err
		}
		lt.tests = append(lt.tests, t)
	}
	return lt, nil
}

// names is a list of header names, lower-cased when constant.
type names struct {
	list  strList
	lower []string
}

func (ck *checker) compileNames(a Arg) (names, *Error) {
	l, err := ck.compileList(a)
	if err != nil {
		return names{}, err
	}
	n := names{list: l}
	if l.constant() {
		for _, s := range l {
			n.lower = append(n.lower, strings.ToLower(s.lit))
		}
	}
	return n, nil
}

func (r *run) names(n *names) ([]string, error) {
	if n.lower != nil {
		return n.lower, nil
	}
	return r.expandList(n.list)
}

// index is the :index and :last of RFC 5260 §6.
type index struct {
	n    int // 0: all fields
	last bool
}

func (ck *checker) compileIndex(c *Command, a *args) (index, *Error) {
	var ix index
	if tv, ok := a.tags["index"]; ok {
		n := tv.params[0].Num
		if n < 1 || n > 1<<20 {
			return ix, errorf(tv.pos, "%s: :index must be at least 1", c.Name)
		}
		ix.n = int(n)
	}
	if a.has("last") {
		if ix.n == 0 {
			return ix, errorf(a.tags["last"].pos, "%s: :last needs :index (RFC 5260 §6)", c.Name)
		}
		ix.last = true
	}
	return ix, nil
}

// pick returns the field values :index selects.
func (ix index) pick(vals []string) []string {
	if ix.n == 0 {
		return vals
	}
	if ix.n > len(vals) {
		return nil
	}
	if ix.last {
		return vals[len(vals)-ix.n : len(vals)-ix.n+1]
	}
	return vals[ix.n-1 : ix.n]
}

// pickLists is pick for the address lists of fields.
func (ix index) pickLists(lists [][]mimeinfo.Address) [][]mimeinfo.Address {
	if ix.n == 0 {
		return lists
	}
	if ix.n > len(lists) {
		return nil
	}
	if ix.last {
		return lists[len(lists)-ix.n : len(lists)-ix.n+1]
	}
	return lists[ix.n-1 : ix.n]
}

// headerTest is "header" (RFC 5228 §5.7).
type headerTest struct {
	names names
	m     *matcher
	ix    index
}

func compileHeader(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &headerTest{}
	var err *Error
	if t.names, err = ck.compileNames(a.positional[0]); err != nil {
		return nil, err
	}
	if t.m, err = ck.compileMatcher(a, a.positional[1]); err != nil {
		return nil, err
	}
	if t.ix, err = ck.compileIndex(c, a); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *headerTest) eval(r *run) (bool, error) {
	names, err := r.names(&t.names)
	if err != nil {
		return false, err
	}
	var vals []string
	if len(names) == 1 {
		vals = t.ix.pick(r.msg.DecodedHeader(names[0]))
	} else {
		for _, n := range names {
			vals = append(vals, t.ix.pick(r.msg.DecodedHeader(n))...)
		}
	}
	return r.match(t.m, vals)
}

// addressTest is "address" (RFC 5228 §5.1).
type addressTest struct {
	names names
	part  addrPart
	m     *matcher
	ix    index
}

func compileAddress(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &addressTest{part: addressPart(a)}
	var err *Error
	if t.names, err = ck.compileNames(a.positional[0]); err != nil {
		return nil, err
	}
	for i, n := range t.names.lower {
		if !addressHeaders[n] {
			return nil, errorf(a.positional[0].Strings[i].Pos, "address: header %s does not hold addresses (RFC 5228 §5.1); use the header test", quote(n))
		}
	}
	if t.m, err = ck.compileMatcher(a, a.positional[1]); err != nil {
		return nil, err
	}
	if t.ix, err = ck.compileIndex(c, a); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *addressTest) eval(r *run) (bool, error) {
	names, err := r.names(&t.names)
	if err != nil {
		return false, err
	}
	var vals []string
	for _, n := range names {
		if !addressHeaders[strings.ToLower(n)] {
			continue
		}
		for _, list := range t.ix.pickLists(r.addresses(n)) {
			if err := r.step(len(list)/8 + 1); err != nil {
				return false, err
			}
			for _, ad := range list {
				if p, ok := t.part.pick(ad.Mailbox, ad.Host, r.opts.Separator); ok {
					vals = append(vals, p)
				}
			}
		}
	}
	return r.match(t.m, vals)
}

// addresses returns the address lists of the fields named name, parsed
// once per message when the Message keeps them, else once per run.
func (r *run) addresses(name string) [][]mimeinfo.Address {
	if am, ok := r.msg.(AddressMessage); ok {
		return am.Addresses(name)
	}
	key := strings.ToLower(name)
	if lists, ok := r.addrCache[key]; ok {
		return lists
	}
	var lists [][]mimeinfo.Address
	for _, v := range r.msg.Header(name) {
		lists = append(lists, mimeinfo.AddressList(v))
	}
	if r.addrCache == nil {
		r.addrCache = map[string][][]mimeinfo.Address{}
	}
	r.addrCache[key] = lists
	return lists
}

// envelopeTest is "envelope" (RFC 5228 §5.4).
type envelopeTest struct {
	parts names
	part  addrPart
	m     *matcher
}

var envelopeParts = map[string]bool{"from": true, "to": true, "auth": true}

func compileEnvelope(ck *checker, c *Command, a *args) (cond, *Error) {
	t := &envelopeTest{part: addressPart(a)}
	var err *Error
	if t.parts, err = ck.compileNames(a.positional[0]); err != nil {
		return nil, err
	}
	for i, p := range t.parts.lower {
		if !envelopeParts[p] {
			return nil, errorf(a.positional[0].Strings[i].Pos, "envelope: unknown envelope part %s; use \"from\", \"to\" or \"auth\"", quote(p))
		}
	}
	if t.m, err = ck.compileMatcher(a, a.positional[1]); err != nil {
		return nil, err
	}
	return t, nil
}

func (t *envelopeTest) eval(r *run) (bool, error) {
	parts, err := r.names(&t.parts)
	if err != nil {
		return false, err
	}
	var vals []string
	for _, p := range parts {
		var addr string
		switch strings.ToLower(p) {
		case "from":
			if addr = envelopeAddress(r.env.From); addr == "" {
				// The null reverse-path is the empty string whatever
				// the address part (RFC 5228 §5.4).
				vals = append(vals, "")
				continue
			}
		case "to":
			addr = envelopeAddress(r.env.To)
		case "auth":
			addr = envelopeAddress(r.env.Auth)
		}
		if addr == "" {
			continue
		}
		local, domain := splitAddress(addr)
		if t.part == partAll {
			vals = append(vals, addr)
		} else if v, ok := t.part.pick(local, domain, r.opts.Separator); ok {
			vals = append(vals, v)
		}
	}
	return r.match(t.m, vals)
}

// existsTest is "exists" (RFC 5228 §5.5): true when every field exists.
type existsTest struct{ names names }

func compileExists(ck *checker, _ *Command, a *args) (cond, *Error) {
	n, err := ck.compileNames(a.positional[0])
	return &existsTest{n}, err
}

func (t *existsTest) eval(r *run) (bool, error) {
	names, err := r.names(&t.names)
	if err != nil {
		return false, err
	}
	for _, n := range names {
		if len(r.msg.Header(n)) == 0 {
			return false, nil
		}
	}
	return true, nil
}

// sizeTest is "size" (RFC 5228 §5.9).
type sizeTest struct {
	over  bool
	limit uint64
}

func compileSize(_ *checker, c *Command, a *args) (cond, *Error) {
	if !a.has("over") && !a.has("under") {
		return nil, errorf(c.Pos, "size needs :over or :under")
	}
	return &sizeTest{over: a.has("over"), limit: a.positional[0].Num}, nil
}

func (t *sizeTest) eval(r *run) (bool, error) {
	size := uint64(r.msg.Size())
	if t.over {
		return size > t.limit, nil
	}
	return size < t.limit, nil
}

func init() {
	constant := func(v bool) func(*checker, *Command, *args) (cond, *Error) {
		return func(*checker, *Command, *args) (cond, *Error) { return constTest(v), nil }
	}
	tests["true"] = testDef{fn: constant(true)}
	tests["false"] = testDef{fn: constant(false)}
	tests["not"] = testDef{tests: 1, fn: compileNot}
	tests["allof"] = testDef{tests: 2, fn: compileList}
	tests["anyof"] = testDef{tests: 2, fn: compileList}
	tests["header"] = testDef{fn: compileHeader, spec: argSpec{
		tags:       tags([]tagDef{comparatorTag}, matchTags, indexTags),
		positional: []argType{aStringList, aStringList}, minPositional: 2,
	}}
	tests["address"] = testDef{fn: compileAddress, spec: argSpec{
		tags:       tags([]tagDef{comparatorTag}, matchTags, addressPartTags, indexTags),
		positional: []argType{aStringList, aStringList}, minPositional: 2,
	}}
	tests["envelope"] = testDef{ext: "envelope", fn: compileEnvelope, spec: argSpec{
		tags:       tags([]tagDef{comparatorTag}, matchTags, addressPartTags),
		positional: []argType{aStringList, aStringList}, minPositional: 2,
	}}
	tests["exists"] = testDef{fn: compileExists, spec: argSpec{positional: []argType{aStringList}, minPositional: 1}}
	tests["size"] = testDef{fn: compileSize, spec: argSpec{
		tags:       []tagDef{{name: "over", group: "size"}, {name: "under", group: "size"}},
		positional: []argType{aNumber}, minPositional: 1,
	}}
}
