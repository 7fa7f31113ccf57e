package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/textproto"
	"strconv"
	"strings"
	"time"
)

// soakPOPConn is one POP3 connection of the soak test.
type soakPOPConn struct {
	r   *soakRun
	who string
	c   *textproto.Conn
}

// cmd sends a command and returns the status line; err is a broken
// connection or an answer that is neither +OK nor -ERR.
func (p *soakPOPConn) cmd(format string, args ...any) (line string, ok bool, err error) {
	if format != "" {
		if err := p.c.PrintfLine(format, args...); err != nil {
			return "", false, err
		}
	}
	line, err = p.c.ReadLine()
	switch {
	case err != nil:
		return "", false, err
	case strings.HasPrefix(line, "+OK"):
		return line, true, nil
	case strings.HasPrefix(line, "-ERR"):
		return line, false, nil
	}
	return line, false, fmt.Errorf("answer %q is neither +OK nor -ERR", line)
}

// lines reads a multi-line answer (RFC 1939 §3) of "n value" lines.
func (p *soakPOPConn) lines() (map[int]string, []int, error) {
	out, order := map[int]string{}, []int(nil)
	for {
		line, err := p.c.ReadLine()
		if err != nil {
			return nil, nil, err
		}
		if line == "." {
			return out, order, nil
		}
		f := strings.Fields(line)
		if len(f) != 2 {
			return nil, nil, fmt.Errorf("bad listing line %q", line)
		}
		n, err := strconv.Atoi(f[0])
		if err != nil || n < 1 {
			return nil, nil, fmt.Errorf("bad listing line %q", line)
		}
		out[n] = f[1]
		order = append(order, n)
	}
}

// login opens a session; inUse is an -ERR [IN-USE] answer (RFC 2449 §8.1.1).
func (p *soakPOPConn) login(a *soakAccount) (inUse bool, err error) {
	if _, ok, err := p.cmd(""); err != nil || !ok {
		return false, fmt.Errorf("greeting: %v", err)
	}
	if _, ok, err := p.cmd("USER %s", a.addr); err != nil || !ok {
		return false, fmt.Errorf("USER: %v", err)
	}
	line, ok, err := p.cmd("PASS %s", a.pass)
	if err != nil || ok {
		return false, err
	}
	if strings.HasPrefix(line, "-ERR [IN-USE]") {
		return true, nil
	}
	return false, fmt.Errorf("PASS: %s", line)
}

// listing reads STAT, LIST and UIDL and checks them against each other:
// the same messages, sizes adding up, UIDLs unique and of this INBOX.
func (p *soakPOPConn) listing(a *soakAccount) (sizes map[int]int64, uidls map[int]string, err error) {
	line, ok, err := p.cmd("STAT")
	if err != nil || !ok {
		return nil, nil, fmt.Errorf("STAT: %q %v", line, err)
	}
	var n int
	var octets int64
	if _, err := fmt.Sscanf(line, "+OK %d %d", &n, &octets); err != nil {
		return nil, nil, fmt.Errorf("STAT: %q", line)
	}
	if _, ok, err := p.cmd("LIST"); err != nil || !ok {
		return nil, nil, fmt.Errorf("LIST: %v", err)
	}
	list, _, err := p.lines()
	if err != nil {
		return nil, nil, err
	}
	if _, ok, err := p.cmd("UIDL"); err != nil || !ok {
		return nil, nil, fmt.Errorf("UIDL: %v", err)
	}
	uidls, _, err = p.lines()
	if err != nil {
		return nil, nil, err
	}
	sizes = map[int]int64{}
	var sum int64
	for i, v := range list {
		sizes[i], _ = strconv.ParseInt(v, 10, 64)
		sum += sizes[i]
	}
	if len(list) != n || sum != octets || len(uidls) != n {
		p.r.t.Errorf("%s: STAT %d %d, but LIST has %d messages of %d octets and UIDL %d", p.who, n, octets, len(list), sum, len(uidls))
	}
	byUIDL := map[string]int{}
	for i, u := range uidls {
		if j, dup := byUIDL[u]; dup {
			p.r.t.Errorf("%s: UIDL %s for messages %d and %d", p.who, u, i, j)
		}
		byUIDL[u] = i
		v, err := strconv.ParseUint(u[:min(8, len(u))], 16, 32)
		if len(u) != 16 || err != nil {
			p.r.t.Errorf("%s: UIDL %q is not UIDVALIDITY and UID in hex", p.who, u)
			continue
		}
		a.sawValidity(p.r.t, p.who, "INBOX", uint32(v))
	}
	return sizes, uidls, nil
}

// retr retrieves message i and checks that the octets after dot-unstuffing
// are the size LIST gave (RFC 1939 §5: sizes count CRLF as two octets).
func (p *soakPOPConn) retr(a *soakAccount, i int, size int64, uidl string) (tok string, err error) {
	line, ok, err := p.cmd("RETR %d", i)
	if err != nil {
		return "", err
	}
	if !ok {
		p.r.no("POP3 RETR: " + line)
		return "", nil
	}
	var got int64
	for {
		l, err := p.c.R.ReadString('\n')
		if err != nil {
			return "", err
		}
		if !strings.HasSuffix(l, "\r\n") {
			p.r.t.Errorf("%s: RETR %d: line %q does not end in CRLF", p.who, i, l)
		}
		if l == ".\r\n" {
			break
		}
		l = strings.TrimPrefix(l, ".")
		got += int64(len(l))
		if v, ok := strings.CutPrefix(l, "X-Token: "); ok && tok == "" {
			tok = strings.TrimSpace(v)
		}
	}
	if got != size || line != fmt.Sprintf("+OK %d octets", size) {
		p.r.t.Errorf("%s: RETR %d: %q and %d octets, LIST said %d", p.who, i, line, got, size)
	}
	uid, err := strconv.ParseUint(uidl[min(8, len(uidl)):], 16, 32)
	if err != nil {
		return "", fmt.Errorf("UIDL %q of message %d: %v", uidl, i, err)
	}
	a.sawMessage(p.r.t, p.who, "INBOX", uint32(uid), tok, size)
	return tok, nil
}

// soakPOP3 logs in soakPOP3Sessions times; each session lists, retrieves a
// few messages, deletes some of those, and then QUITs or drops the line.
func soakPOP3(r *soakRun, a *soakAccount, idx int) {
	rng := rand.New(rand.NewPCG(3, uint64(idx)))
	who := fmt.Sprintf("pop3(%s)", a.addr)
	for range soakPOP3Sessions {
		c, err := textproto.Dial("tcp", r.ts.POP3Addr)
		if err != nil {
			r.t.Errorf("%s: %v", who, err)
			return
		}
		p := &soakPOPConn{r: r, who: who, c: c}
		err = p.session(a, rng)
		c.Close()
		if err != nil {
			r.t.Errorf("%s: %v", who, err)
			return
		}
	}
}

func (p *soakPOPConn) session(a *soakAccount, rng *rand.Rand) error {
	inUse, err := p.login(a)
	if err != nil || inUse {
		if inUse {
			p.r.inUse.Add(1)
			time.Sleep(20 * time.Millisecond)
		}
		return err
	}
	sizes, uidls, err := p.listing(a)
	if err != nil {
		return err
	}
	deleted := 0
	for range min(len(sizes), 1+rng.IntN(4)) {
		i := 1 + rng.IntN(len(sizes))
		tok, err := p.retr(a, i, sizes[i], uidls[i])
		if err != nil {
			return err
		}
		if tok == "" || rng.IntN(2) == 0 {
			continue
		}
		a.mark(a.mayDelete, tok)
		line, ok, err := p.cmd("DELE %d", i)
		if err != nil {
			return err
		}
		if !ok {
			p.r.no("POP3 DELE: " + line)
			continue
		}
		deleted++
	}
	if line, _, err := p.cmd("STAT"); err != nil || !strings.HasPrefix(line, fmt.Sprintf("+OK %d ", len(sizes)-deleted)) {
		return fmt.Errorf("STAT after %d DELE of %d: %q %v", deleted, len(sizes), line, err)
	}
	p.r.tally(p.r.seen, fmt.Sprintf("POP3 session with %d DELE", min(deleted, 2)))
	if rng.IntN(3) == 0 {
		p.r.tally(p.r.seen, "POP3 session dropped")
		return nil // dropped: RFC 1939 §6, nothing is committed
	}
	line, ok, err := p.cmd("QUIT")
	if err == nil && !ok {
		p.r.no("POP3 QUIT: " + line)
	}
	return err
}

// soakPOP3Final logs in once more after the workers stopped (waiting out a
// lock a dropped session may still hold) and returns the UIDL listing.
func soakPOP3Final(r *soakRun, a *soakAccount) ([]string, bool) {
	for range 100 {
		c, err := textproto.Dial("tcp", r.ts.POP3Addr)
		if err != nil {
			r.t.Errorf("final POP3: %v", err)
			return nil, false
		}
		p := &soakPOPConn{r: r, who: "final pop3(" + a.addr + ")", c: c}
		inUse, err := p.login(a)
		if inUse {
			c.Close()
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var uidls map[int]string
		if err == nil {
			_, uidls, err = p.listing(a)
		}
		if err == nil {
			_, _, err = p.cmd("QUIT")
		}
		c.Close()
		if err != nil {
			r.t.Errorf("%s: %v", p.who, err)
			return nil, false
		}
		out := make([]string, len(uidls))
		for i, u := range uidls {
			if i > len(out) {
				r.t.Errorf("%s: UIDL numbers message %d of %d", p.who, i, len(out))
				return nil, false
			}
			out[i-1] = u
		}
		return out, true
	}
	r.t.Errorf("final POP3 for %s: INBOX still locked", a.addr)
	return nil, false
}
