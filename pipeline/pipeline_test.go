package pipeline_test

import (
	"context"
	"errors"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr"
)

// fakeBackend copies a scaled-down nearest neighbour, fails on frame failAt (if >= 0), and may
// sleep to let frames pile up. It records how many frames its upscalers hold at once.
type fakeBackend struct {
	failAt int64
	delay  time.Duration
	open   atomic.Int64 // upscalers not yet closed
	calls  atomic.Int64

	mu         sync.Mutex
	held, peak int // frames inside Upscale now, and the most at once
}

// hold adds n (negative to give back) to the frames inside Upscale.
func (b *fakeBackend) hold(n int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held += n
	b.peak = max(b.peak, b.held)
}

func (b *fakeBackend) Name() string  { return "fake" }
func (b *fakeBackend) Caps() sr.Caps { return sr.Caps{} }
func (b *fakeBackend) Close() error  { return nil }
func (b *fakeBackend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	b.open.Add(1)
	return &fakeUpscaler{b: b}, nil
}

type fakeUpscaler struct {
	b      *fakeBackend
	closed bool
}

var errBoom = errors.New("boom")

func (u *fakeUpscaler) BatchSize() int { return 2 }
func (u *fakeUpscaler) Close() error {
	if !u.closed {
		u.closed = true
		u.b.open.Add(-1)
	}
	return nil
}
func (u *fakeUpscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	u.b.hold(len(src))
	defer u.b.hold(-len(src))
	for i := range src {
		u.b.calls.Add(1)
		if u.b.failAt >= 0 && src[i].Index == u.b.failAt {
			return errBoom
		}
		time.Sleep(u.b.delay)
		s, d := src[i], dst[i]
		for c := 0; c < 3; c++ {
			sp, dp := s.Plane(c), d.Plane(c)
			for y := 0; y < d.H; y++ {
				for x := 0; x < d.W; x++ {
					dp[y*d.W+x] = sp[(y*s.H/d.H)*s.W+x*s.W/d.W]
				}
			}
		}
	}
	return nil
}

func smallClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25", "-f", "lavfi", "-i", "sine", "-t", "2",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", p)
	return p
}

// waitGoroutines waits for the goroutine count to fall back to base.
func waitGoroutines(t *testing.T, base int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<16)
		t.Fatalf("%d goroutines left behind (had %d)\n%s", n-base, base, buf[:runtime.Stack(buf, true)])
	}
}

// TestFirstErrorStopsEverything: a backend error mid-stream ends Run with that error, every
// goroutine exits, every upscaler is closed and no output file is left.
func TestFirstErrorStopsEverything(t *testing.T) {
	in := smallClip(t)
	for _, workers := range []int{1, 4} {
		base := runtime.NumGoroutine()
		b := &fakeBackend{failAt: 17}
		out := filepath.Join(t.TempDir(), "o.mp4")
		_, err := pipeline.Run(context.Background(), pipeline.Config{
			Input: decodeOpts(in), Output: encodeOpts(out), Backend: b, Workers: workers, MaxInFlight: 3,
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("workers=%d: err %v, want boom", workers, err)
		}
		if _, err := os.Stat(out); err == nil {
			t.Fatalf("workers=%d: output left behind", workers)
		}
		if parts, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*part")); len(parts) > 0 {
			t.Fatalf("temporary files left: %v", parts)
		}
		if n := b.open.Load(); n != 0 {
			t.Fatalf("workers=%d: %d upscalers not closed", workers, n)
		}
		waitGoroutines(t, base)
	}
}

// TestCancelStopsEverything: cancelling ctx mid-job returns promptly with no goroutine left.
func TestCancelStopsEverything(t *testing.T) {
	in := smallClip(t)
	base := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(context.Background())
	b := &fakeBackend{failAt: -1, delay: 20 * time.Millisecond}
	out := filepath.Join(t.TempDir(), "o.mp4")
	time.AfterFunc(150*time.Millisecond, cancel)
	_, err := pipeline.Run(ctx, pipeline.Config{Input: decodeOpts(in), Output: encodeOpts(out), Backend: b, Workers: 3})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("output left behind after cancel")
	}
	waitGoroutines(t, base)
}

// TestReorderAndBound: many workers with random-ish delays still give frames in order, and the
// in-flight bound holds: at no time are more than MaxInFlight frames between decoder and encoder
// (the pipeline's own figure, sampled by every progress report too) or inside the backend (counted
// by the fake). Six workers of batch 2 would take twelve frames at once without the bound.
func TestReorderAndBound(t *testing.T) {
	in := smallClip(t)
	out := filepath.Join(t.TempDir(), "o.mkv")
	b := &fakeBackend{failAt: -1, delay: time.Millisecond}
	const bound = 4
	var reports, over atomic.Int64
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decodeOpts(in), Output: encodeOpts(out), Backend: b, Workers: 6, MaxInFlight: bound, Size: image.Pt(192, 128),
		Progress: func(s pipeline.Stats) {
			reports.Add(1)
			if !(s.InFlight <= bound && s.PeakInFlight <= bound) {
				over.Add(1)
			}
		},
		ProgressInterval: 2 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Frames != 50 || res.OutSize != image.Pt(192, 128) {
		t.Fatalf("frames %d size %v", res.Frames, res.OutSize)
	}
	st := res.Stats
	t.Logf("peak in flight %d (bound %d), in the backend %d; %d progress reports", st.PeakInFlight, bound, b.peak, reports.Load())
	if st.PeakInFlight > bound || b.peak > bound || over.Load() > 0 {
		t.Errorf("in flight: peak %d, backend peak %d, %d reports over; want <= %d", st.PeakInFlight, b.peak, over.Load(), bound)
	}
	if st.PeakInFlight < 2 || b.peak < 2 || st.InFlight != 0 {
		t.Errorf("in flight: peak %d, backend peak %d, %d left at the end; the figures do not count", st.PeakInFlight, b.peak, st.InFlight)
	}
	frames := mediatest.VideoFrames(t, out)
	for i := 1; i < len(frames); i++ {
		if mediatest.Float(frames[i].PTSTime) <= mediatest.Float(frames[i-1].PTSTime) {
			t.Fatalf("frame %d out of order", i)
		}
	}
}

func TestOutputSize(t *testing.T) {
	in := image.Pt(1280, 720)
	cases := []struct {
		scale float64
		size  image.Point
		want  image.Point
		err   string
	}{
		{0, image.Point{}, image.Pt(2560, 1440), ""},
		{1.5, image.Point{}, image.Pt(1920, 1080), ""},
		{0, image.Pt(1920, -1), image.Pt(1920, 1080), ""},
		{0, image.Pt(-2, 1081), image.Pt(1922, 1082), ""},
		{2, image.Pt(100, 100), image.Point{}, "either"},
		{100, image.Point{}, image.Point{}, "out of range"},
	}
	for _, c := range cases {
		got, err := pipeline.OutputSize(in, c.scale, c.size)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%v %v: err %v, want %q", c.scale, c.size, err, c.err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%v %v: %v %v, want %v", c.scale, c.size, got, err, c.want)
		}
	}
}
