package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hako-run/hako/image"
	"golang.org/x/term"
)

// progressPrinter shows a pull's, load's or push's layers: on a terminal, a
// line per layer with its status, a bar, bytes and speed, redrawn in place
// (a few times a second, and once more by wait); one plain line per layer
// step otherwise (as Docker does when its output is not a terminal).
//
// It is hako's own few lines rather than a progress bar library: mpb with
// go-runewidth, uax29 and stripansi cost ~0.2 MB of binary and a regexp
// compiled at every hako start (BENCHMARKS.md, "Binary size").
type progressPrinter struct {
	mu    sync.Mutex
	out   io.Writer
	shown map[string]string // last plain status per layer

	// On a terminal:
	tty    *os.File
	order  []string // layers in the order they first came
	layers map[string]*layerProgress
	drawn  int  // lines of the last frame, to move back over
	dirty  bool // an event came since the last frame
	stop   chan struct{}
	done   chan struct{}
}

type layerProgress struct {
	status         string
	current, total int64
	start          time.Time     // first event with bytes moving
	took           time.Duration // from start until every byte was in
	finished       bool          // the layer's last status came
}

// progressRefresh is how often a terminal's frame is redrawn while events come.
const progressRefresh = 150 * time.Millisecond

// progressBarWidth is the bar's width with its brackets, when the terminal
// is wide enough.
const progressBarWidth = 40

func newProgressPrinter(out io.Writer) *progressPrinter {
	pp := &progressPrinter{out: out, shown: map[string]string{}}
	// Bars need a terminal that knows its width (a serial console may say 0).
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && terminalWidth(f) > 0 {
		pp.tty = f
		pp.layers = map[string]*layerProgress{}
		pp.stop, pp.done = make(chan struct{}), make(chan struct{})
		go pp.refresh()
	}
	return pp
}

func (pp *progressPrinter) event(e image.Event) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.tty == nil {
		// Plain output: one line per change of status, no byte counts.
		if pp.shown[e.Layer] != e.Status {
			pp.shown[e.Layer] = e.Status
			if (e.Status != image.StatusDownloading && e.Status != image.StatusPushing) || e.Current == 0 {
				fmt.Fprintf(pp.out, "%s: %s\n", e.Layer, e.Status)
			}
		}
		return
	}
	l, ok := pp.layers[e.Layer]
	if !ok {
		l = &layerProgress{}
		pp.layers[e.Layer] = l
		pp.order = append(pp.order, e.Layer)
	}
	l.status, l.total = e.Status, e.Total
	switch e.Status {
	case image.StatusDownloading, image.StatusPushing:
		if l.start.IsZero() {
			l.start = time.Now()
		}
		l.current = e.Current
	case image.StatusDownloaded, image.StatusExtracting:
		l.current = e.Total
	case image.StatusComplete, image.StatusExists, image.StatusPushed, image.StatusHasLayer:
		l.current, l.finished = e.Total, true
	}
	if l.took == 0 && !l.start.IsZero() && l.current >= l.total {
		l.took = time.Since(l.start)
	}
	pp.dirty = true
}

// refresh redraws the frame while events come, until wait.
func (pp *progressPrinter) refresh() {
	defer close(pp.done)
	t := time.NewTicker(progressRefresh)
	defer t.Stop()
	for {
		select {
		case <-pp.stop:
			return
		case <-t.C:
			pp.mu.Lock()
			if pp.dirty {
				pp.draw()
			}
			pp.mu.Unlock()
		}
	}
}

// draw writes the frame over the last one: up to its first line, erase
// below, a line per layer. The caller holds pp.mu.
func (pp *progressPrinter) draw() {
	pp.dirty = false
	width := terminalWidth(pp.tty)
	if width <= 0 {
		width = 80
	}
	statusWidth := 0
	for _, id := range pp.order {
		statusWidth = max(statusWidth, len(pp.layers[id].status))
	}
	var b strings.Builder
	if pp.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\x1b[J", pp.drawn)
	}
	for _, id := range pp.order {
		b.WriteString(pp.layers[id].line(id, statusWidth, width))
		b.WriteByte('\n')
	}
	pp.drawn = len(pp.order)
	io.WriteString(pp.tty, b.String())
}

// line is a layer's line, "ID Status  [====>----] 1.0 MiB / 4.0 MiB 2.5 MiB/s",
// narrowed to fit width columns so that no line wraps (a wrapped line
// would throw the next frame's cursor movement off).
func (l *layerProgress) line(id string, statusWidth, width int) string {
	head := id + " " + l.status + strings.Repeat(" ", statusWidth-len(l.status)+1) + " "
	tail := " " + formatSize(l.current) + " / " + formatSize(l.total) + " "
	if !l.start.IsZero() {
		took := l.took
		if took == 0 {
			took = time.Since(l.start)
		}
		if took > 0 {
			tail += formatSize(int64(float64(l.current)/took.Seconds())) + "/s"
		}
	}
	bar := min(progressBarWidth, width-1-len(head)-len(tail))
	if bar < 3 {
		s := head + strings.TrimSpace(tail)
		return s[:min(len(s), width-1)]
	}
	return head + l.bar(bar) + tail
}

// bar is "[=====>-----]" in width columns; a finished layer's is all "=".
func (l *layerProgress) bar(width int) string {
	inner := width - 2
	fill := inner
	if !l.finished {
		fill = 0
		if l.total > 0 {
			fill = int(int64(inner) * min(l.current, l.total) / l.total)
		}
	}
	if l.finished || fill == 0 {
		return "[" + strings.Repeat("=", fill) + strings.Repeat("-", inner-fill) + "]"
	}
	// The tip follows the filled part, or ends it when every byte is in.
	fill = min(fill, inner-1)
	return "[" + strings.Repeat("=", fill) + ">" + strings.Repeat("-", inner-fill-1) + "]"
}

// formatSize prints bytes in binary units with one decimal, "4.0 MiB".
func formatSize(n int64) string {
	units := []string{"b", "KiB", "MiB", "GiB", "TiB"}
	f, u := float64(n), 0
	for f >= 1024 && u < len(units)-1 {
		f /= 1024
		u++
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}

// wait stops the redraws and draws the last frame: every layer as its last
// event left it (a layer an error left open shows its last step).
func (pp *progressPrinter) wait() {
	if pp.tty == nil {
		return
	}
	close(pp.stop)
	<-pp.done
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.dirty {
		pp.draw()
	}
}

func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}
