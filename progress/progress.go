// Package progress shows how a long job (an import, an export, a backup, a
// reindex) advances: on a terminal, a bar redrawn in place; otherwise (a
// log, a pipe, a file) a plain line every few seconds, so that logs stay
// readable. It never syncs its output to disk and never writes "\r" to
// something that is not a terminal.
package progress

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/term"
)

// Mode says how progress is shown.
type Mode int

const (
	Auto  Mode = iota // Bar on a terminal, Lines otherwise
	Bar               // one line redrawn in place
	Lines             // a line every Interval
)

// Options adjust a Reporter.
type Options struct {
	Label string // what runs: "import", "backup"
	Unit  string // what is counted, plural: "messages"; default "items"
	// Items and Bytes are the totals, for the percentage and the ETA;
	// 0 or less means unknown (SetTotal can tell them later).
	Items, Bytes int64
	Mode         Mode
	// Interval between lines (default 5s) or redraws of the bar (default
	// 200ms); negative: only Flush and Finish write.
	Interval time.Duration
	// Now is the clock; nil: time.Now.
	Now func() time.Time
	// Width of the bar's line; 0: the terminal's width, or 80.
	Width int
}

// Reporter counts a job's progress and shows it. Add may be called from
// any goroutine.
type Reporter struct {
	w     io.Writer
	opts  Options
	bar   bool
	start time.Time

	items, bytes           atomic.Int64
	totalItems, totalBytes atomic.Int64

	mu       sync.Mutex // serialises writes
	lastLen  int
	stop     chan struct{}
	done     chan struct{}
	finished bool
}

// New starts showing progress on w.
func New(w io.Writer, opts Options) *Reporter {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Unit == "" {
		opts.Unit = "items"
	}
	r := &Reporter{w: w, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	r.bar = opts.Mode == Bar || opts.Mode == Auto && IsTerminal(w)
	if r.opts.Width <= 0 {
		r.opts.Width = 80
		if f, ok := w.(*os.File); ok && r.bar {
			if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 20 {
				r.opts.Width = cols
			}
		}
	}
	if r.opts.Interval == 0 {
		r.opts.Interval = 5 * time.Second
		if r.bar {
			r.opts.Interval = 200 * time.Millisecond
		}
	}
	r.SetTotal(opts.Items, opts.Bytes)
	r.start = opts.Now()
	if r.opts.Interval > 0 {
		go r.tick()
	} else {
		close(r.done)
	}
	return r
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (r *Reporter) tick() {
	defer close(r.done)
	t := time.NewTicker(r.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			r.Flush()
		case <-r.stop:
			return
		}
	}
}

// SetTotal sets the totals; 0 or less means unknown.
func (r *Reporter) SetTotal(items, bytes int64) {
	r.totalItems.Store(items)
	r.totalBytes.Store(bytes)
}

// Add counts items and bytes done.
func (r *Reporter) Add(items, bytes int64) {
	r.items.Add(items)
	r.bytes.Add(bytes)
}

// Flush shows the progress now.
func (r *Reporter) Flush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.finished {
		return
	}
	r.write(r.status(false))
}

// Finish shows the final count and stops. It may be called more than once.
func (r *Reporter) Finish() {
	r.mu.Lock()
	if r.finished {
		r.mu.Unlock()
		return
	}
	r.finished = true
	r.mu.Unlock()
	if r.opts.Interval > 0 {
		close(r.stop)
	}
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	r.write(r.status(true))
	if r.bar {
		io.WriteString(r.w, "\n")
	}
}

func (r *Reporter) write(s string) {
	if !r.bar {
		io.WriteString(r.w, s+"\n")
		return
	}
	if len(s) > r.opts.Width-1 {
		s = s[:r.opts.Width-1]
	}
	pad := ""
	if n := r.lastLen - len(s); n > 0 {
		pad = strings.Repeat(" ", n) // wipe what the last, longer line left
	}
	r.lastLen = len(s)
	io.WriteString(r.w, "\r"+s+pad)
}

// status formats the progress; final adds the time taken.
func (r *Reporter) status(final bool) string {
	items, bytes := r.items.Load(), r.bytes.Load()
	ti, tb := r.totalItems.Load(), r.totalBytes.Load()
	elapsed := r.opts.Now().Sub(r.start)
	secs := elapsed.Seconds()

	frac := -1.0
	switch {
	case tb > 0 && bytes > 0:
		frac = float64(bytes) / float64(tb)
	case ti > 0:
		frac = float64(items) / float64(ti)
	}
	frac = min(frac, 1)

	var b strings.Builder
	b.WriteString(r.opts.Label)
	if r.bar {
		b.WriteString(" ")
		if frac >= 0 {
			const cells = 24
			n := int(frac * cells)
			b.WriteString("[" + strings.Repeat("=", n) + strings.Repeat(" ", cells-n) + "] ")
		}
	} else {
		b.WriteString(": ")
		if final {
			b.WriteString("done: ")
		}
	}
	b.WriteString(Count(items))
	if ti > 0 && !final {
		b.WriteString(" of " + Count(ti))
	}
	b.WriteString(" " + r.opts.Unit)
	if frac >= 0 && !final {
		fmt.Fprintf(&b, " (%d%%)", int(frac*100))
	}
	if bytes > 0 || tb > 0 {
		b.WriteString(", " + Size(bytes))
	}
	if final {
		b.WriteString(" in " + Duration(elapsed))
	}
	if secs >= 1 {
		fmt.Fprintf(&b, ", %s %s/s", Count(int64(float64(items)/secs)), r.opts.Unit)
		if bytes > 0 {
			b.WriteString(", " + Size(int64(float64(bytes)/secs)) + "/s")
		}
		if !final && frac > 0 && frac < 1 {
			left := time.Duration(float64(elapsed) * (1 - frac) / frac)
			b.WriteString(", about " + Duration(left) + " left")
		}
	}
	return b.String()
}

// Count formats n with thousands separators: 12,345.
func Count(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Size formats a number of bytes in decimal units: 512 B, 1.5 MB.
func Size(n int64) string {
	const unit = 1000
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"kB", "MB", "GB", "TB"} {
		f /= unit
		if f < unit {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return fmt.Sprintf("%.1f PB", f/unit)
}

// Duration formats a duration for people: 42s, 3m05s, 2h07m.
func Duration(d time.Duration) string {
	s := int64(d.Round(time.Second) / time.Second)
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	}
	return fmt.Sprintf("%dh%02dm", s/3600, s%3600/60)
}
