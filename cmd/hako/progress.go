package main

import (
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/hako-run/hako/image"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// progressPrinter shows a pull's or load's layers: bars with bytes and speed
// on a terminal, one plain line per layer step otherwise (as Docker does
// when its output is not a terminal).
type progressPrinter struct {
	mu    sync.Mutex
	out   io.Writer
	p     *mpb.Progress
	bars  map[string]*mpb.Bar
	shown map[string]string // last plain status per layer
	// statuses holds each bar's status for its decorator.
	statuses sync.Map
}

func newProgressPrinter(out io.Writer) *progressPrinter {
	pp := &progressPrinter{out: out, bars: map[string]*mpb.Bar{}, shown: map[string]string{}}
	// Bars need a terminal that knows its width (a serial console may say 0).
	if f, ok := out.(*os.File); ok && term.IsTerminal(int(f.Fd())) && terminalWidth(f) > 0 {
		pp.p = mpb.New(mpb.WithOutput(out), mpb.WithWidth(40))
	}
	return pp
}

func (pp *progressPrinter) event(e image.Event) {
	pp.mu.Lock()
	defer pp.mu.Unlock()
	if pp.p == nil {
		// Plain output: one line per change of status, no byte counts.
		if pp.shown[e.Layer] != e.Status {
			pp.shown[e.Layer] = e.Status
			if (e.Status != image.StatusDownloading && e.Status != image.StatusPushing) || e.Current == 0 {
				fmt.Fprintf(pp.out, "%s: %s\n", e.Layer, e.Status)
			}
		}
		return
	}
	bar, ok := pp.bars[e.Layer]
	if !ok {
		// A bar made with total 0 completes only when told to (SetTotal with
		// true), at the layer's last status. mpb's Wait returns once every
		// bar has drawn its completing frame and draws nothing after: a bar
		// completed when its bytes were all in left "Extracting" on screen
		// under the pull's status line.
		bar = pp.p.AddBar(0,
			mpb.PrependDecorators(decor.Name(e.Layer+" "), decor.Any(func(decor.Statistics) string { return pp.status(e.Layer) }, decor.WCSyncSpaceR)),
			mpb.AppendDecorators(decor.Counters(decor.SizeB1024(0), "% .1f / % .1f"), decor.Name(" "), decor.AverageSpeed(decor.SizeB1024(0), "% .1f")),
		)
		bar.SetTotal(e.Total, false)
		pp.bars[e.Layer] = bar
	}
	pp.statuses.Store(e.Layer, e.Status)
	switch e.Status {
	case image.StatusDownloading, image.StatusPushing:
		bar.SetCurrent(e.Current)
	case image.StatusDownloaded, image.StatusExtracting:
		bar.SetCurrent(e.Total)
	case image.StatusComplete, image.StatusExists, image.StatusPushed, image.StatusHasLayer:
		bar.SetTotal(e.Total, true)
	}
}

// status is a layer's last status. mpb's render goroutine asks for it, so
// it must not take pp.mu: event holds that while it talks to the bars.
func (pp *progressPrinter) status(layer string) string {
	v, _ := pp.statuses.Load(layer)
	s, _ := v.(string)
	return s
}

// wait finishes the bars (completing any left open by an error).
func (pp *progressPrinter) wait() {
	if pp.p == nil {
		return
	}
	pp.mu.Lock()
	for _, b := range pp.bars {
		if !b.Completed() {
			b.Abort(false)
		}
	}
	pp.mu.Unlock()
	pp.p.Wait()
}

func terminalWidth(f *os.File) int {
	w, _, err := term.GetSize(int(f.Fd()))
	if err != nil {
		return 0
	}
	return w
}
