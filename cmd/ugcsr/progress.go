package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/preview"
)

// openProgress opens the -progress target: pipe:1 (stdout), pipe:2 (stderr) or a file.
func openProgress(target string) (io.Writer, func(), error) {
	switch target {
	case "":
		return nil, func() {}, nil
	case "pipe:1", "pipe:", "-":
		return os.Stdout, func() {}, nil
	case "pipe:2":
		return os.Stderr, func() {}, nil
	}
	f, err := os.Create(target)
	if err != nil {
		return nil, nil, fmt.Errorf("-progress: %w", err)
	}
	return f, func() { f.Close() }, nil
}

// writeProgress prints one ffmpeg-style key=value block.
func writeProgress(w io.Writer, s pipeline.Stats) {
	var b strings.Builder
	fmt.Fprintf(&b, "frame=%d\n", s.Frames)
	fmt.Fprintf(&b, "fps=%.2f\n", s.FPS)
	if s.Total > 0 {
		fmt.Fprintf(&b, "total_frames=%d\n", s.Total)
	}
	for _, c := range s.Counters {
		fmt.Fprintf(&b, "%s=%d\n", c.Key, c.Value)
	}
	fmt.Fprintf(&b, "out_time_us=%d\n", s.OutTime.Microseconds())
	fmt.Fprintf(&b, "out_time_ms=%d\n", s.OutTime.Microseconds()) // ffmpeg's historical name, in µs too
	fmt.Fprintf(&b, "out_time=%s\n", clock(s.OutTime, true))
	fmt.Fprintf(&b, "speed=%.3gx\n", s.Speed)
	if s.Done {
		b.WriteString("progress=end\n")
	} else {
		b.WriteString("progress=continue\n")
	}
	io.WriteString(w, b.String())
}

// statusLine is the one-line display on a terminal's stderr.
type statusLine struct {
	mu      sync.Mutex
	w       io.Writer
	enabled bool
	drawn   bool
}

func newStatusLine(w io.Writer, enabled bool) *statusLine { return &statusLine{w: w, enabled: enabled} }

func (l *statusLine) update(s pipeline.Stats) {
	if !l.enabled {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	total := "?"
	if s.Total > 0 {
		total = fmt.Sprint(s.Total)
	}
	eta := "--:--"
	if s.ETA > 0 {
		eta = clock(s.ETA, false)
	}
	fmt.Fprintf(l.w, "\rframe %d/%s  %.2f fps  speed %.3gx  time %s  ETA %s\x1b[K", s.Frames, total, s.FPS, s.Speed, clock(s.OutTime, false), eta)
	l.drawn = true
}

func (l *statusLine) finish() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drawn {
		fmt.Fprintln(l.w)
		l.drawn = false
	}
}

// clock formats a duration as HH:MM:SS(.micro).
func clock(d time.Duration, micro bool) string {
	if d < 0 {
		d = 0
	}
	h := int(d / time.Hour)
	m := int(d/time.Minute) % 60
	sec := d.Seconds() - float64(h*3600+m*60)
	if micro {
		return fmt.Sprintf("%02d:%02d:%09.6f", h, m, sec)
	}
	return fmt.Sprintf("%02d:%02d:%02d", h, m, int(sec))
}

// previewStats is s as the preview page shows it.
func previewStats(s pipeline.Stats) preview.Stats {
	p := preview.Stats{Frames: s.Frames, Total: s.Total, FPS: s.FPS, Elapsed: s.Elapsed.Seconds(), ETA: s.ETA.Seconds()}
	for _, c := range s.Counters {
		p.Counters = append(p.Counters, preview.Counter{Key: c.Key, Value: c.Value})
	}
	return p
}

// endState is what the preview page shows once the job is over.
func endState(res pipeline.Result, err error) string {
	switch {
	case err == nil && !res.Interrupted:
		return preview.Finished
	case err == nil || errors.Is(err, context.Canceled):
		return preview.Interrupted
	}
	return preview.Failed
}

// damageReport is what a damaged input lost, in one line ("" when nothing was), with the DTS the
// encoder repaired for the muxer and the damaged packets it refused.
func damageReport(res pipeline.Result) string {
	r := res.Damage.String()
	for _, c := range res.Stats.Counters {
		what := map[string]string{"ts_fixes": "timestamp%s moved forward for the muxer", "refused_packets": "damaged packet%s the muxer refused left out"}[c.Key]
		if what != "" && c.Value > 0 {
			if r != "" {
				r += ", "
			}
			plural := "s"
			if c.Value == 1 {
				plural = ""
			}
			r += fmt.Sprintf("%d "+what, c.Value, plural)
		}
	}
	return r
}
