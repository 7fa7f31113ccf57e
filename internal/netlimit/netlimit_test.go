package netlimit

import (
	"io"
	"net"
	"testing"
	"time"
)

func serveEcho(t *testing.T, l net.Listener) {
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
}

// alive reports whether the server keeps c open (echoes a byte).
func alive(c net.Conn) bool {
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Write([]byte("x")); err != nil {
		return false
	}
	b := make([]byte, 1)
	_, err := io.ReadFull(c, b)
	return err == nil
}

func dial(t *testing.T, addr string) net.Conn {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestPerIPCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(raw, 3, 0, nil)
	defer l.Close()
	serveEcho(t, l)
	var cs []net.Conn
	for i := 0; i < 3; i++ {
		c := dial(t, l.Addr().String())
		if !alive(c) {
			t.Fatalf("connection %d refused under the cap", i)
		}
		cs = append(cs, c)
	}
	if over := dial(t, l.Addr().String()); alive(over) {
		t.Fatal("a fourth connection from one address was served")
	}
	// Another address is not affected (127.0.0.2 is loopback too on Linux).
	other, err := net.DialTCP("tcp", &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, raw.Addr().(*net.TCPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if !alive(other) {
		t.Error("another address was refused")
	}
	// A closed connection gives its slot back.
	cs[0].Close()
	deadline := time.Now().Add(2 * time.Second)
	for l.Open() > 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if again := dial(t, l.Addr().String()); !alive(again) {
		t.Error("slot not given back after a close")
	}
}

func TestTotalCap(t *testing.T) {
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := Wrap(raw, 0, 2, nil)
	defer l.Close()
	serveEcho(t, l)
	a, b := dial(t, l.Addr().String()), dial(t, l.Addr().String())
	if !alive(a) || !alive(b) {
		t.Fatal("refused under the cap")
	}
	if alive(dial(t, l.Addr().String())) {
		t.Error("third connection served over a total cap of 2")
	}
}

func TestKeyGroupsIPv6By64(t *testing.T) {
	a := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:aaaa::1"), Port: 1})
	b := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:2:bbbb::2"), Port: 2})
	c := key(&net.TCPAddr{IP: net.ParseIP("2001:db8:1:3::1"), Port: 3})
	m := key(&net.TCPAddr{IP: net.ParseIP("::ffff:192.0.2.7"), Port: 4})
	if a != b || a == c || m.String() != "192.0.2.7" {
		t.Errorf("keys: %v %v %v %v", a, b, c, m)
	}
}
