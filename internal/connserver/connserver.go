// Package connserver is the part of a TCP protocol server that does not
// depend on the protocol: the accept loop, the set of live connections and a
// graceful shutdown. The IMAP and POP3 servers run on it.
package connserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// Conn is one accepted connection as its protocol handles it.
type Conn interface {
	// Serve handles the connection until it ends, and closes it.
	Serve()
	// Shutdown asks the connection to end at the next command boundary: a
	// connection waiting for a command stops waiting (e.g. says BYE), one
	// running a command finishes it first.
	Shutdown()
	// Close ends the connection at once.
	Close()
}

// ErrClosed is returned by Serve once Shutdown has been called.
var ErrClosed = errors.New("server is shut down")

// Server accepts connections on any number of listeners.
type Server struct {
	// Log receives accept errors that are retried.
	Log *slog.Logger

	mu        sync.Mutex
	listeners map[net.Listener]struct{}
	conns     map[Conn]struct{}
	closing   bool
	wg        sync.WaitGroup
}

// Serve accepts connections on l and runs newConn(nc).Serve() for each in its
// own goroutine. It returns nil after Shutdown, or the listener's error.
// Temporary accept errors (out of file descriptors) are retried with a
// growing pause, as net/http does.
func (s *Server) Serve(l net.Listener, newConn func(net.Conn) Conn) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return ErrClosed
	}
	if s.listeners == nil {
		s.listeners = make(map[net.Listener]struct{})
		s.conns = make(map[Conn]struct{})
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
	}()

	var backoff time.Duration
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				if s.Log != nil {
					s.Log.Warn("accept failed; retrying", "addr", l.Addr().String(), "err", err, "retry_in", backoff)
				}
				time.Sleep(backoff)
				continue
			}
			return err
		}
		backoff = 0
		c := newConn(nc)
		s.mu.Lock()
		if s.closing {
			s.mu.Unlock()
			nc.Close()
			return nil
		}
		s.conns[c] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			c.Serve()
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Shutdown stops accepting, asks every connection to end, waits for them
// until ctx ends, then closes what is left and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Shutdown()
	}
	s.mu.Unlock()

	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		for c := range s.conns {
			c.Close()
		}
		s.mu.Unlock()
		<-done
		return ctx.Err()
	}
}
