package connserver

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"
)

// echoConn echoes lines; on Shutdown it stops after the line in progress.
type echoConn struct {
	nc       net.Conn
	shutting atomic.Bool
	slow     time.Duration
}

func (e *echoConn) Serve() {
	defer e.nc.Close()
	br := bufio.NewReader(e.nc)
	for !e.shutting.Load() {
		line, err := br.ReadString('\n')
		if err != nil {
			if e.shutting.Load() {
				e.nc.Write([]byte("bye\n"))
			}
			return
		}
		time.Sleep(e.slow)
		e.nc.Write([]byte(line))
	}
	e.nc.Write([]byte("bye\n"))
}

func (e *echoConn) Shutdown() {
	e.shutting.Store(true)
	e.nc.SetReadDeadline(time.Now())
}

func (e *echoConn) Close() { e.nc.Close() }

func start(t *testing.T, slow time.Duration) (*Server, string, chan error) {
	s := &Server{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(l, func(nc net.Conn) Conn { return &echoConn{nc: nc, slow: slow} })
	}()
	return s, l.Addr().String(), done
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

func TestShutdownEndsIdleConnections(t *testing.T) {
	s, addr, done := start(t, 0)
	c, br := dial(t, addr)
	c.Write([]byte("hello\n"))
	if l, _ := br.ReadString('\n'); l != "hello\n" {
		t.Fatalf("echo: %q", l)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, _ := br.ReadString('\n'); l != "bye\n" {
		t.Errorf("want bye, got %q", l)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve after Shutdown = %v, want nil", err)
	}
	if _, err := net.Dial("tcp", addr); err == nil {
		t.Error("still accepting after Shutdown")
	}
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	defer l.Close()
	if err := s.Serve(l, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Serve after Shutdown = %v", err)
	}
}

func TestShutdownLetsACommandFinishThenForces(t *testing.T) {
	s, addr, _ := start(t, 300*time.Millisecond)
	c, br := dial(t, addr)
	c.Write([]byte("slow\n"))
	time.Sleep(50 * time.Millisecond) // the command is running
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l, _ := br.ReadString('\n'); l != "slow\n" {
		t.Errorf("the running command was cut: %q", l)
	}

	s2, addr2, _ := start(t, time.Second)
	c2, br2 := dial(t, addr2)
	c2.Write([]byte("stuck\n"))
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s2.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("forced shutdown = %v", err)
	}
	c2.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := br2.ReadString('\n'); err == nil {
		t.Error("connection not closed by a forced shutdown")
	}
}
