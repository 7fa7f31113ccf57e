package imapd

import (
	"bufio"
	"bytes"
	"compress/flate"
	"crypto/rand"
	"io"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// deflateClient speaks IMAP over COMPRESS DEFLATE with Go's own
// compressor, flushing (sync flush) after every command, as clients do.
type deflateClient struct {
	t  *testing.T
	c  net.Conn
	fw *flate.Writer
	br *bufio.Reader
}

func (e *env) compressed(t *testing.T) *deflateClient {
	t.Helper()
	r := e.raw(t, true)
	r.send("z COMPRESS DEFLATE\r\n")
	if l := r.expect("z "); l[len(l)-1] != "z OK DEFLATE active" {
		t.Fatalf("COMPRESS: %q", l)
	}
	if r.br.Buffered() != 0 {
		t.Fatal("uncompressed bytes after the OK")
	}
	fw, _ := flate.NewWriter(r.c, flate.DefaultCompression)
	return &deflateClient{t: t, c: r.c, fw: fw, br: bufio.NewReader(flate.NewReader(r.c))}
}

func (d *deflateClient) send(s string) {
	d.t.Helper()
	d.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(d.fw, s); err != nil {
		d.t.Fatal(err)
	}
	if err := d.fw.Flush(); err != nil {
		d.t.Fatal(err)
	}
}

func (d *deflateClient) expect(prefix string) []string {
	d.t.Helper()
	var lines []string
	for {
		d.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		l, err := d.br.ReadString('\n')
		if err != nil {
			d.t.Fatalf("read: %v after %q", err, lines)
		}
		l = strings.TrimRight(l, "\r\n")
		lines = append(lines, l)
		if strings.HasPrefix(l, prefix) {
			return lines
		}
	}
}

func TestCompressGoClient(t *testing.T) {
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", strings.Repeat("compressible text ", 2000)))
	d := e.compressed(t)
	d.send("s SELECT INBOX\r\n")
	d.expect("s OK")
	d.send("f FETCH 1 BODY.PEEK[]\r\n")
	if l := d.expect("f OK"); !strings.Contains(l[0], "BODY[] {") {
		t.Fatalf("FETCH: %q", l)
	}
	// A second COMPRESS is refused (RFC 4978 §3).
	d.send("c COMPRESS DEFLATE\r\n")
	if l := d.expect("c "); !strings.HasPrefix(l[len(l)-1], "c NO [COMPRESSIONACTIVE]") {
		t.Fatalf("second COMPRESS: %q", l)
	}
	// IDLE updates are flushed as they happen.
	d.send("i IDLE\r\n")
	d.expect("+ ")
	e.deliver(t, "INBOX", testMessage("two", "a@example.test", "x"))
	d.expect("* 2 EXISTS")
	d.send("DONE\r\n")
	d.expect("i OK")
	// A literal split over several flushes.
	d.send("a APPEND INBOX {30+}\r\nSubject: split\r\n")
	d.send("\r\nbody.......\r\n")
	d.send("\r\n")
	d.expect("a OK [APPENDUID")
	d.send("l LOGOUT\r\n")
	d.expect("l OK")
}

// Python's zlib (the library real clients use) with each kind of flush:
// sync, full and partial. A partial flush leaves the end of the last
// block short of a byte boundary; the server must answer without waiting
// for the client's next bytes.
func TestCompressZlibFlushes(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for this test: ", err)
	}
	e := newEnv(t, nil)
	e.deliver(t, "INBOX", testMessage("one", "a@example.test", "x"))
	host, port, _ := strings.Cut(e.addr, ":")
	script := `
import socket, sys, zlib
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
f = s.makefile("rb")
def line():
    l = f.readline()
    assert l, "connection closed"
    return l
line()
s.sendall(b'l LOGIN alice@example.test "` + testPassword + `"\r\nz COMPRESS DEFLATE\r\n')
while not line().startswith(b"l OK"): pass
assert line().startswith(b"z OK"), "no OK to COMPRESS"
co = zlib.compressobj(6, zlib.DEFLATED, -15)
de = zlib.decompressobj(-15)
buf = b""
def expect(tag):
    global buf
    while True:
        while b"\n" not in buf:
            data = s.recv(65536)
            assert data, "connection closed"
            buf += de.decompress(data)
        l, buf = buf.split(b"\n", 1)
        if l.startswith(tag + b" "):
            assert l.startswith(tag + b" OK"), l
            return
n = 0
for rounds in range(3):
    for mode in (zlib.Z_SYNC_FLUSH, zlib.Z_FULL_FLUSH, zlib.Z_PARTIAL_FLUSH):
        n += 1
        tag = b"t%d" % n
        s.sendall(co.compress(tag + b" SELECT INBOX\r\n") + co.flush(mode))
        expect(tag)
        n += 1
        tag = b"t%d" % n
        s.sendall(co.compress(tag + b" FETCH 1 (FLAGS BODY.PEEK[HEADER])\r\n") + co.flush(mode))
        expect(tag)
s.sendall(co.compress(b"q LOGOUT\r\n") + co.flush(zlib.Z_SYNC_FLUSH))
expect(b"q")
print("zlib flushes ok")
`
	out, err := exec.Command(py, "-c", script, host, port).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "zlib flushes ok") {
		t.Fatalf("zlib client: %v\n%s", err, out)
	}
}

// A compressed stream of garbage, or one that inflates to far more than a
// command may hold, ends the connection promptly; the server goes on.
func TestCompressHostileStreams(t *testing.T) {
	e := newEnv(t, nil)
	garbage := make([]byte, 1<<20)
	rand.Read(garbage)
	var bomb bytes.Buffer
	fw, _ := flate.NewWriter(&bomb, flate.BestCompression)
	fw.Write([]byte("b NOOP "))
	zeros := make([]byte, 1<<20)
	for i := range zeros {
		zeros[i] = 'a'
	}
	for i := 0; i < 64; i++ { // 64 MiB of text on one line
		fw.Write(zeros)
	}
	fw.Close()
	for name, stream := range map[string][]byte{"garbage": garbage, "bomb": bomb.Bytes()} {
		r := e.raw(t, true)
		r.send("z COMPRESS DEFLATE\r\n")
		r.expect("z OK")
		start := time.Now()
		go func() {
			r.c.SetWriteDeadline(time.Now().Add(20 * time.Second))
			r.c.Write(stream)
		}()
		if !r.closed() {
			t.Fatalf("%s: connection not closed", name)
		}
		if d := time.Since(start); d > 20*time.Second {
			t.Fatalf("%s: took %v", name, d)
		}
	}
	r := e.raw(t, true)
	r.send("n NOOP\r\n")
	r.expect("n OK")
}
