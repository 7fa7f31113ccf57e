package imapd

import (
	"fmt"
	"net"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// IDLE (RFC 2177): changes are pushed as they are committed, while the
// connection waits for DONE.
//
// An idle session is what a server holds most of, so it is done with the
// connection's one goroutine: the store's publisher wakes the read with a
// deadline when events arrive (Subscription.Notify), the goroutine writes
// the updates and reads on, keeping what it had read of the DONE line. A
// compressed connection cannot be woken that way (its DEFLATE reader ends
// at a read error), so there a second goroutine waits for the events and
// writes them while this one waits for DONE.
func init() {
	addCap("IDLE", false)
	register(&command{name: "IDLE", states: authOrSel, handle: func(c *conn, r *request) error {
		if err := r.end(); err != nil {
			return err
		}
		c.enc.Raw("+ idling").CRLF()
		c.poll(true)
		if err := c.enc.Flush(); err != nil {
			return err
		}
		var line string
		var err error
		if c.compressed {
			line, err = c.idleWatched()
		} else {
			line, err = c.idleWoken()
		}
		if err != nil {
			if msg := c.stopping(); msg != "" && !c.closing {
				c.bye(msg)
				c.enc.Flush()
			} else if isTimeout(err) && !c.closing {
				// RFC 2177 §3: a client re-issues IDLE at least every 29
				// minutes; one that did not is gone.
				c.bye("Autologout; idle for too long")
				c.enc.Flush()
			}
			return err
		}
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		if c.closing {
			return errHandled
		}
		if !strings.EqualFold(strings.TrimSpace(line), "DONE") {
			return bad("Expected DONE to end IDLE")
		}
		return nil
	}})
}

// errClosing ends a connection that has said BYE.
var errClosing = fmt.Errorf("imap: closing after BYE: %w", net.ErrClosed)

// idleWoken waits for the DONE line on the connection's goroutine alone,
// woken by a read deadline to write updates as they come.
func (c *conn) idleWoken() (string, error) {
	var woken atomic.Bool
	stop := c.sub.Notify(func() {
		woken.Store(true)
		c.raw.SetReadDeadline(time.Now())
	})
	defer stop()
	end := time.Now().Add(c.srv.cfg.IdleTimeout)
	var sb strings.Builder
	c.r.StartCommand()
	for {
		// In this order: an event after the deadline is set wakes the
		// read below; one before it is written by poll.
		woken.Store(false)
		c.nc.SetReadDeadline(end)
		c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
		c.poll(true)
		if err := c.enc.Flush(); err != nil {
			return "", err
		}
		if c.closing {
			return "", errClosing
		}
		// Nothing is buffered while idling: give the read buffer back so
		// an idle connection costs little.
		c.r.Release()
		c.waiting.Store(true)
		if c.stopping() != "" {
			c.nc.SetReadDeadline(time.Now())
		}
		line, err := c.readLineInto(&sb)
		c.waiting.Store(false)
		if err != nil && isTimeout(err) && woken.Load() && c.stopping() == "" && time.Now().Before(end) {
			continue
		}
		return line, err
	}
}

// idleWatched waits for the DONE line while a second goroutine waits on
// the store's wake-up channel and writes updates; it is stopped before this
// one writes again.
func (c *conn) idleWatched() (string, error) {
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			// The connection's own guard does not cover this goroutine.
			if v := recover(); v != nil {
				c.srv.log.Error("imap connection panic in IDLE", "remote", c.nc.RemoteAddr().String(), "user", c.acct.Address,
					"panic", v, "stack", string(debug.Stack()))
				c.nc.Close()
			}
		}()
		for {
			select {
			case <-stop:
				return
			case <-c.sub.Ready():
				c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
				c.poll(true)
				if c.enc.Flush() != nil || c.closing {
					// Wake the reader so the connection ends.
					c.nc.SetReadDeadline(time.Now())
					return
				}
			}
		}
	}()
	c.r.Release()
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	c.waiting.Store(true)
	if c.stopping() != "" {
		c.nc.SetReadDeadline(time.Now())
	}
	line, err := c.readSASLLine()
	c.waiting.Store(false)
	close(stop)
	wg.Wait()
	return line, err
}

// readLineInto reads the rest of a client line into sb, which keeps what
// was read when a read error (a wake-up) interrupts it. It returns the
// line without its CRLF and resets sb.
func (c *conn) readLineInto(sb *strings.Builder) (string, error) {
	for {
		b, err := c.r.ReadByte()
		if err != nil {
			return "", err
		}
		if b == '\n' {
			line := strings.TrimSuffix(sb.String(), "\r")
			sb.Reset()
			c.r.StartCommand()
			return line, nil
		}
		if sb.Len() >= maxSASLLine {
			if err := c.r.SkipCommand(); err != nil {
				return "", err
			}
			return "", bad("IDLE continuation line too long; expected DONE")
		}
		sb.WriteByte(b)
	}
}
