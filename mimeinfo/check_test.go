package mimeinfo

import (
	"fmt"
	"strings"
)

// The validators below check parsed wire values against the formal syntax of
// RFC 3501 §9 (envelope, body, body-type-1part, body-type-mpart, body-ext-*).

func isNString(s *sx) bool { return s.isNil || s.isStr }

func checkParams(s *sx) error {
	if s.isNil {
		return nil
	}
	if !s.isList || len(s.list) == 0 || len(s.list)%2 != 0 {
		return fmt.Errorf("body-fld-param: %v", s)
	}
	for _, e := range s.list {
		if !e.isStr {
			return fmt.Errorf("body-fld-param element: %v", e)
		}
	}
	return nil
}

func checkAddrList(s *sx) error {
	if s.isNil {
		return nil
	}
	if !s.isList || len(s.list) == 0 {
		return fmt.Errorf("address list: %v", s)
	}
	for _, a := range s.list {
		if !a.isList || len(a.list) != 4 {
			return fmt.Errorf("address: %v", a)
		}
		for _, e := range a.list {
			if !isNString(e) {
				return fmt.Errorf("address field: %v", e)
			}
		}
	}
	return nil
}

func checkEnvelope(s *sx) error {
	if !s.isList || len(s.list) != 10 {
		return fmt.Errorf("envelope is not a list of 10: %v", s)
	}
	for _, i := range []int{0, 1, 8, 9} {
		if !isNString(s.list[i]) {
			return fmt.Errorf("envelope field %d: %v", i, s.list[i])
		}
	}
	for i := 2; i < 8; i++ {
		if err := checkAddrList(s.list[i]); err != nil {
			return err
		}
	}
	return nil
}

func checkExtTail(rest []*sx) error {
	if len(rest) != 3 {
		return fmt.Errorf("want dsp, lang, loc; got %d fields", len(rest))
	}
	dsp := rest[0]
	if !dsp.isNil {
		if !dsp.isList || len(dsp.list) != 2 || !dsp.list[0].isStr {
			return fmt.Errorf("body-fld-dsp: %v", dsp)
		}
		if err := checkParams(dsp.list[1]); err != nil {
			return err
		}
	}
	if lang := rest[1]; lang.isList {
		for _, e := range lang.list {
			if !e.isStr {
				return fmt.Errorf("body-fld-lang: %v", lang)
			}
		}
	} else if !isNString(lang) {
		return fmt.Errorf("body-fld-lang: %v", lang)
	}
	if !isNString(rest[2]) {
		return fmt.Errorf("body-fld-loc: %v", rest[2])
	}
	return nil
}

// checkBody validates a BODY (ext=false) or BODYSTRUCTURE (ext=true) and
// returns the number of parts and the maximum nesting.
func checkBody(s *sx, ext bool) (parts, depth int, err error) {
	if !s.isList || len(s.list) == 0 {
		return 0, 0, fmt.Errorf("body is not a list: %v", s)
	}
	if s.list[0].isList {
		i := 0
		for i < len(s.list) && s.list[i].isList {
			p, d, err := checkBody(s.list[i], ext)
			if err != nil {
				return 0, 0, err
			}
			parts += p
			depth = max(depth, d)
			i++
		}
		if i >= len(s.list) || !s.list[i].isStr {
			return 0, 0, fmt.Errorf("multipart without subtype: %v", s)
		}
		rest := s.list[i+1:]
		if !ext {
			if len(rest) != 0 {
				return 0, 0, fmt.Errorf("BODY multipart with extension data")
			}
			return parts, depth + 1, nil
		}
		if len(rest) != 4 {
			return 0, 0, fmt.Errorf("multipart extension: want 4 fields, got %d", len(rest))
		}
		if err := checkParams(rest[0]); err != nil {
			return 0, 0, err
		}
		return parts, depth + 1, checkExtTail(rest[1:])
	}
	l := s.list
	if len(l) < 7 || !l[0].isStr || !l[1].isStr || !isNString(l[3]) || !isNString(l[4]) || !l[5].isStr || l[6].num() < 0 {
		return 0, 0, fmt.Errorf("body-type-basic fields: %v", s)
	}
	if err := checkParams(l[2]); err != nil {
		return 0, 0, err
	}
	rest := l[7:]
	parts, depth = 1, 1
	switch {
	case strings.EqualFold(l[0].str, "MESSAGE") && strings.EqualFold(l[1].str, "RFC822"):
		if len(rest) < 3 {
			return 0, 0, fmt.Errorf("body-type-msg too short: %v", s)
		}
		if err := checkEnvelope(rest[0]); err != nil {
			return 0, 0, err
		}
		p, d, err := checkBody(rest[1], ext)
		if err != nil {
			return 0, 0, err
		}
		if rest[2].num() < 0 {
			return 0, 0, fmt.Errorf("body-fld-lines: %v", rest[2])
		}
		parts, depth = 1+p, 1+d
		rest = rest[3:]
	case strings.EqualFold(l[0].str, "TEXT"):
		if len(rest) < 1 || rest[0].num() < 0 {
			return 0, 0, fmt.Errorf("text part without lines: %v", s)
		}
		rest = rest[1:]
	}
	if !ext {
		if len(rest) != 0 {
			return 0, 0, fmt.Errorf("BODY part with extension data: %v", s)
		}
		return parts, depth, nil
	}
	if len(rest) != 4 || !isNString(rest[0]) {
		return 0, 0, fmt.Errorf("body-ext-1part: %v", s)
	}
	return parts, depth, checkExtTail(rest[1:])
}

// checkInfo parses and validates all three wire forms of info.
func checkInfo(info *Info, msgLen int) error {
	if info.HeaderLen < 0 || info.HeaderLen > msgLen {
		return fmt.Errorf("HeaderLen %d outside [0,%d]", info.HeaderLen, msgLen)
	}
	env, err := parseWire(info.Envelope)
	if err != nil {
		return fmt.Errorf("envelope: %v", err)
	}
	if err := checkEnvelope(env); err != nil {
		return err
	}
	body, err := parseWire(info.Body)
	if err != nil {
		return fmt.Errorf("body: %v", err)
	}
	bs, err := parseWire(info.BodyStructure)
	if err != nil {
		return fmt.Errorf("bodystructure: %v", err)
	}
	p1, _, err := checkBody(body, false)
	if err != nil {
		return fmt.Errorf("body: %v", err)
	}
	p2, _, err := checkBody(bs, true)
	if err != nil {
		return fmt.Errorf("bodystructure: %v", err)
	}
	if p1 != p2 {
		return fmt.Errorf("BODY has %d parts, BODYSTRUCTURE %d", p1, p2)
	}
	return nil
}
