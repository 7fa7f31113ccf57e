// Package dkimverify checks the DKIM signatures of a received message
// (RFC 6376 §6), RSA and Ed25519 (RFC 8463) alike, with
// github.com/emersion/go-msgauth doing the cryptography.
//
// The library is given a bounded view of the header: the DKIM-Signature
// fields to verify and only the fields they sign, at most 256 KiB, 1000
// fields and 512 lines per field, so that a hostile header costs neither
// memory nor the library's quadratic unfolding. At most MaxSignatures
// signatures are verified; the others are reported with result policy.
//
// Where it departs from RFC 6376: a signature with l= fails (a body length
// lets anyone append text under the signature), rsa-sha1 is a permerror
// (RFC 8301 §3.1), RSA keys under 1024 bits fail (RFC 8301 §3.2), a signature
// whose i= differs from d= in letter case only is a permerror (the library
// compares them case-sensitively), and a signature that signs other
// DKIM-Signature fields fails when one of those was left unverified.
package dkimverify

import (
	"bytes"
	"io"
	"strings"

	"github.com/emersion/go-msgauth/dkim"

	"postern/mimeinfo"
)

// Result is a DKIM result (RFC 8601 §2.7.1), spelt as in Authentication-Results.
type Result string

// The results of RFC 8601 §2.7.1.
const (
	Pass      Result = "pass"
	Fail      Result = "fail"
	Policy    Result = "policy"
	Neutral   Result = "neutral"
	TempError Result = "temperror"
	PermError Result = "permerror"
)

// MaxSignatures is how many signatures of one message are verified. Each
// costs a DNS query and a pass over the body; real mail carries one to three.
const MaxSignatures = 5

// Bounds of the header view given to the library.
const (
	maxViewBytes  = 256 << 10
	maxViewFields = 1000
	maxFieldLines = 512
	maxSigField   = 8 << 10
	maxSignedKeys = 256
)

// LookupTXT returns the TXT records of a name; its errors report Temporary()
// for failures that may go away. resolver.Resolver.TXTFunc makes one.
type LookupTXT func(name string) ([]string, error)

// Signature is the verification of one DKIM-Signature field.
type Signature struct {
	// Domain is the signing domain (d=), lower case.
	Domain string
	// Selector is s=.
	Selector string
	// Identifier is the agent or user identifier (i=), or "@" Domain.
	Identifier string
	// Algorithm is a=, lower case.
	Algorithm string
	// HeaderB is the start of the signature (b=), to tell signatures of one
	// domain apart in Authentication-Results (RFC 6008 §4).
	HeaderB string
	Result  Result
	// Reason says why a signature did not pass.
	Reason string
}

// Verify verifies the DKIM signatures of a message given as its header block
// and its body. The body is read once. A message without signatures gives none.
func Verify(lookup LookupTXT, header []byte, body io.Reader) []Signature {
	var sigs []Signature
	var verify []int // indexes into sigs of the signatures handed to the library
	var sigFields [][]byte
	signed := map[string]bool{}
	for name, raw := range mimeinfo.Fields(header) {
		if !isSignatureField(name) {
			continue
		}
		s, keys, ok := describe(raw)
		switch {
		case !ok:
			// describe filled in the reason.
		case len(verify) == MaxSignatures:
			s.Result, s.Reason = Policy, "not verified: more than 5 signatures"
		default:
			verify = append(verify, len(sigs))
			sigFields = append(sigFields, raw)
			for _, k := range keys {
				signed[k] = true
			}
		}
		sigs = append(sigs, s)
	}
	if len(verify) == 0 {
		return sigs
	}

	view, ok := headerView(header, sigFields, signed)
	if !ok {
		for _, i := range verify {
			sigs[i].Result, sigs[i].Reason = PermError, "header too large to verify"
		}
		return sigs
	}
	msg := io.MultiReader(bytes.NewReader(view), strings.NewReader("\r\n"), body)
	vs, err := dkim.VerifyWithOptions(msg, &dkim.VerifyOptions{LookupTXT: lookup, MaxVerifications: len(verify)})
	if err != nil || len(vs) != len(verify) {
		reason := "message unreadable"
		if err != nil {
			reason = err.Error()
		}
		for _, i := range verify {
			sigs[i].Result, sigs[i].Reason = TempError, reason
		}
		return sigs
	}
	for j, v := range vs {
		s := &sigs[verify[j]]
		s.Result, s.Reason = classify(v.Err)
	}
	return sigs
}

func isSignatureField(name []byte) bool {
	return len(name) == len("DKIM-Signature") && strings.EqualFold(string(name), "DKIM-Signature")
}

// classify maps a verification error of the library to a result.
func classify(err error) (Result, string) {
	switch {
	case err == nil:
		return Pass, ""
	case dkim.IsTempFail(err):
		return TempError, err.Error()
	case dkim.IsPermFail(err):
		if strings.Contains(err.Error(), "key is too short") {
			// RFC 8301 §3.2: such a signature is not valid.
			return Fail, err.Error()
		}
		return PermError, err.Error()
	default:
		return Fail, err.Error()
	}
}

// describe reads the tags of a DKIM-Signature field that name it in results
// and that decide what the library needs to see, and returns the lower-case
// names of the fields it signs. ok is false for a signature not handed to the
// library, whose Result and Reason are then set.
func describe(raw []byte) (s Signature, keys []string, ok bool) {
	if len(raw) > maxSigField {
		s.Result, s.Reason = PermError, "signature field too long"
		return s, nil, false
	}
	tags := parseTags(mimeinfo.FieldValue(raw))
	s.Domain = strings.ToLower(tags["d"])
	s.Selector = tags["s"]
	s.Algorithm = strings.ToLower(tags["a"])
	s.Identifier = tags["i"]
	if s.Identifier == "" && s.Domain != "" {
		s.Identifier = "@" + s.Domain
	}
	s.HeaderB = tags["b"]
	if len(s.HeaderB) > 12 {
		s.HeaderB = s.HeaderB[:12]
	}
	for k := range strings.SplitSeq(tags["h"], ":") {
		if k = strings.ToLower(stripSpace(k)); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) > maxSignedKeys {
		s.Result, s.Reason = PermError, "signs too many header fields"
		return s, nil, false
	}
	return s, keys, true
}

// parseTags reads a tag-list (RFC 6376 §3.2) leniently: the first value of
// each tag, white space removed from all values. The library does the strict
// parse of what it verifies.
func parseTags(v string) map[string]string {
	tags := map[string]string{}
	for spec := range strings.SplitSeq(v, ";") {
		name, value, ok := strings.Cut(spec, "=")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if _, dup := tags[name]; !dup {
			tags[name] = stripSpace(value)
		}
	}
	return tags
}

// stripSpace removes the folding white space that may sit anywhere in a tag
// value (RFC 6376 §3.2, §3.5 b= and bh=).
func stripSpace(s string) string {
	if strings.IndexAny(s, " \t\r\n") < 0 {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// headerView returns the fields of header that the verification needs, in
// their order: the DKIM-Signature fields to verify and the fields whose names
// they sign. ok is false when the view is over its bounds.
func headerView(header []byte, sigFields [][]byte, signed map[string]bool) ([]byte, bool) {
	var view []byte
	fields := 0
	var lower []byte
	for name, raw := range mimeinfo.Fields(header) {
		keep := false
		if isSignatureField(name) {
			for _, f := range sigFields {
				if &f[0] == &raw[0] {
					keep = true
				}
			}
		} else {
			lower = append(lower[:0], name...)
			keep = signed[string(bytes.ToLower(lower))]
		}
		if !keep {
			continue
		}
		fields++
		if fields > maxViewFields || len(view)+len(raw) > maxViewBytes || bytes.Count(raw, []byte("\n")) > maxFieldLines {
			return nil, false
		}
		view = append(view, raw...)
		if raw[len(raw)-1] != '\n' {
			view = append(view, '\r', '\n')
		}
	}
	return view, true
}
