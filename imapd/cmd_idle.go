package imapd

import (
	"runtime/debug"
	"strings"
	"sync"
	"time"
)

// IDLE (RFC 2177): changes are pushed as they are committed. A second
// goroutine waits on the store's wake-up channel and writes updates while
// this one waits for DONE; it is stopped before this one writes again.
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
		// Nothing is buffered while idling: give the read buffer back so
		// an idle connection costs little.
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
