package preview_test

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/preview"
)

// BenchmarkJobWithPreview times one job (90 frames of a shared clip, lanczos, 1280x720 out,
// libx264) without a preview, with a preview nobody watches, and with a preview watched by a
// browser that never reads, in turn, b.N rounds. It reports each mode's median wall and CPU
// seconds and the stalled client's median wall time over the unwatched preview's (want < 1.05).
//
//	go test ./preview -run '^$' -bench JobWithPreview -benchtime 5x
func BenchmarkJobWithPreview(b *testing.B) {
	astiav.SetLogLevel(astiav.LogLevelError) // x264's banners
	clip := mediatest.Clip(b, "01_dog")
	modes := []string{"no-preview", "no-client", "stalled"}
	wall, cpu := map[string][]float64{}, map[string][]float64{}
	for i := 0; i < b.N; i++ {
		for _, mode := range modes {
			w, c := job(b, clip, mode)
			wall[mode], cpu[mode] = append(wall[mode], w), append(cpu[mode], c)
		}
	}
	for _, mode := range modes {
		b.ReportMetric(median(wall[mode]), mode+"-wall-s")
		b.ReportMetric(median(cpu[mode]), mode+"-cpu-s")
	}
	b.ReportMetric(median(wall["stalled"])/median(wall["no-client"]), "stalled/no-client")
	b.ReportMetric(0, "ns/op")
}

// job runs the job once in mode and returns its wall and CPU seconds.
func job(b *testing.B, clip, mode string) (float64, float64) {
	cfg := pipeline.Config{Input: decode.Options{Input: clip, MaxFrames: 90}, Model: "lanczos", Scale: 1,
		Output: encode.Options{Output: filepath.Join(b.TempDir(), "out.mp4")}}
	var srv *preview.Server
	if mode != "no-preview" {
		var err error
		if srv, err = preview.Listen(preview.Config{Addr: ":0"}); err != nil {
			b.Fatal(err)
		}
		cfg.Observe = srv.Frame
		cfg.Progress = func(s pipeline.Stats) { srv.SetStats(preview.Stats{Frames: s.Frames, FPS: s.FPS}) }
	}
	if mode == "stalled" {
		defer stalledClient(b, srv.Addr().String()).Close()
	}
	cpu0, start := cpuTime(), time.Now()
	if _, err := pipeline.Run(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	w, c := time.Since(start).Seconds(), cpuTime()-cpu0
	if srv != nil {
		srv.Close(preview.Finished)
	}
	return w, c
}

func cpuTime() float64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	return v[len(v)/2]
}

// stalledClient subscribes to the events at addr over a connection that never reads, with the
// smallest receive buffer, and waits until the server has it.
func stalledClient(b *testing.B, addr string) net.Conn {
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1) })
		return nil
	}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	time.Sleep(50 * time.Millisecond) // the handler subscribes
	return c
}
