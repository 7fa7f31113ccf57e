package progress

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAutoOnATerminal gives the reporter a real pseudo-terminal: it draws
// the bar, with "\r", at the terminal's width.
func TestAutoOnATerminal(t *testing.T) {
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer slave.Close()
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 50}); err != nil {
		t.Fatal(err)
	}
	r := New(slave, Options{Label: "import", Items: 10, Interval: -1})
	if !r.bar || r.opts.Width != 50 {
		t.Fatalf("on a terminal: bar %v, width %d", r.bar, r.opts.Width)
	}
	r.Add(5, 0)
	r.Flush()
	master.SetReadDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 256)
	k, err := master.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(buf[:k]); !strings.HasPrefix(got, "\rimport [============") {
		t.Fatalf("terminal got %q", got)
	}
	r.Finish()
}
