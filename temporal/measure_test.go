package temporal_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/resample"
	"github.com/ugcsr/ugcsr/sr/scenecache"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
	"github.com/ugcsr/ugcsr/temporal"
)

// The measurements of MEASUREMENTS.md. They run only with UGCSR_MEASURE=1 (minutes, not seconds):
//
//	UGCSR_MEASURE=1 go test -run Measure -v -timeout 60m ./temporal/
//
// UGCSR_MEASURE_MODEL picks the backend of the tile-reuse runs (default realesrgan-x4fast, falling
// back to lanczos when ONNX Runtime or the model is missing), UGCSR_MEASURE_FRAMES the number of
// frames per clip (default 60), UGCSR_MEASURE_DOWN the downscale that makes the low-resolution
// input from the 1280x720 clip (default 4, so 320x180 in, 1280x720 out against the original) and
// UGCSR_MEASURE_THRESH the --reuse-tiles thresholds (default "0.01,0.02"), UGCSR_MEASURE_TILE and
// UGCSR_MEASURE_MARGIN the tile size and margin (default tilereuse's).

func measuring(t *testing.T) {
	if os.Getenv("UGCSR_MEASURE") == "" {
		t.Skip("set UGCSR_MEASURE=1 to run the measurements")
	}
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// readFrames decodes up to n frames of path (all when n is 0), calling fn on each; fn owns f.
func readFrames(t *testing.T, path string, n int, fn func(f *frame.Frame)) {
	t.Helper()
	ctx := context.Background()
	dec, err := decode.Open(ctx, decode.Options{Input: path, MaxFrames: int64(n)})
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	for {
		f, err := dec.Read(ctx)
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		fn(f)
	}
}

func measureClips(t *testing.T) [][2]string {
	return [][2]string{
		{"01_dog", mediatest.Clip(t, "01_dog")},
		{"02_cups", mediatest.Clip(t, "02_cups")},
		{"03_blocks", mediatest.Clip(t, "03_blocks")},
		{"joined (dog 60 + cups 60, 640x360)", joinedClip(t)},
	}
}

// TestMeasureSAMRuns: SAM2 encoder runs with the segment cache (one per segment) against one per
// frame, for several --sam-refresh values, with the Detector's default cut and similarity
// thresholds. Frames are fed in order to one cache, as one worker does.
func TestMeasureSAMRuns(t *testing.T) {
	measuring(t)
	var out strings.Builder
	fmt.Fprintf(&out, "| clip | frames | refresh | cuts | segments (age / drift) | SAM runs | saved | detector ms/frame |\n|---|---|---|---|---|---|---|---|\n")
	for _, c := range measureClips(t) {
		for _, refresh := range []int{0, 30, 10} {
			d := &temporal.Detector{Refresh: refresh}
			cache := scenecache.New[int64](scenecache.Config{Capacity: 2, Name: "sam"})
			var frames int64
			var spent time.Duration
			readFrames(t, c[1], 0, func(f *frame.Frame) {
				t0 := time.Now()
				if err := d.Analyze(f); err != nil {
					t.Fatal(err)
				}
				spent += time.Since(t0)
				frames++
				if !f.Dup { // duplicates never reach a worker
					cache.Get(context.Background(), f, func(context.Context) (int64, error) { return f.Index, nil })
				}
				f.Release()
			})
			cuts, segs, _, aged, drifted := d.Stats()
			runs := cache.Stats().Computes
			fmt.Fprintf(&out, "| %s | %d | %s | %d | %d (%d / %d) | %d | %.1f%% | %.1f |\n", c[0], frames, refreshName(refresh),
				cuts, segs, aged, drifted, runs, 100*(1-float64(runs)/float64(frames)),
				float64(spent.Microseconds())/1000/float64(frames))
		}
	}
	t.Logf("\n%s", out.String())
}

func refreshName(r int) string {
	if r == 0 {
		return "off"
	}
	return strconv.Itoa(r)
}

// seqStats accumulates a sequence's squared 8-bit error (for one PSNR over all frames) and the
// luma change between consecutive frames (for flicker).
type seqStats struct {
	sse     float64
	samples float64
	prevY   []float32
	change  float64 // sum over frame pairs of mean |Y(t) - Y(t-1)|
	pairs   int
}

func (s *seqStats) addError(a, b *frame.Frame) {
	for i := range a.Pix {
		d := float64(frame.To8(a.Pix[i])) - float64(frame.To8(b.Pix[i]))
		s.sse += d * d
	}
	s.samples += float64(len(a.Pix))
}

func (s *seqStats) psnr() float64 {
	if s.sse == 0 {
		return math.Inf(1)
	}
	return 10 * math.Log10(255*255/(s.sse/s.samples))
}

// addFrame records f's luma change from the previous frame (8-bit luma, BT.709, on [0,255]).
func (s *seqStats) addFrame(f *frame.Frame) {
	n := f.W * f.H
	y := make([]float32, n)
	r, g, b := f.Plane(0), f.Plane(1), f.Plane(2)
	for i := range y {
		y[i] = 0.2126*float32(frame.To8(r[i])) + 0.7152*float32(frame.To8(g[i])) + 0.0722*float32(frame.To8(b[i]))
	}
	if s.prevY != nil {
		var d float64
		for i := range y {
			d += math.Abs(float64(y[i] - s.prevY[i]))
		}
		s.change += d / float64(n)
		s.pairs++
	}
	s.prevY = y
}

func (s *seqStats) meanChange() float64 { return s.change / float64(max(1, s.pairs)) }

// TestMeasureTileReuse: speed-up and quality of --reuse-tiles against full recompute, and flicker
// with and without it, on the low-resolution versions of the static-camera shared clips, with the
// original 1280x720 frames as reference.
func TestMeasureTileReuse(t *testing.T) {
	measuring(t)
	model := os.Getenv("UGCSR_MEASURE_MODEL")
	if model == "" {
		model = "realesrgan-x4fast"
	}
	inner, err := backends.Open(model, backends.Options{})
	if err != nil {
		t.Logf("%s: %v; using lanczos", model, err)
		model = "lanczos"
		if inner, err = backends.Open(model, backends.Options{}); err != nil {
			t.Fatal(err)
		}
	}
	defer inner.Close()
	nframes := envInt("UGCSR_MEASURE_FRAMES", 60)
	down := envInt("UGCSR_MEASURE_DOWN", 4)
	thresholds := []float64{0.01, 0.02}
	if v := os.Getenv("UGCSR_MEASURE_THRESH"); v != "" {
		thresholds = nil
		for _, s := range strings.Split(v, ",") {
			f, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatal(err)
			}
			thresholds = append(thresholds, f)
		}
	}
	cfg := tilereuse.Config{Threshold: 1, Tile: envInt("UGCSR_MEASURE_TILE", tilereuse.DefaultTile),
		Margin: envInt("UGCSR_MEASURE_MARGIN", tilereuse.DefaultMargin)}
	var out strings.Builder
	fmt.Fprintf(&out, "model %s, %d frames per clip, input 1/%d of 1280x720, %d cores, tile %d margin %d\n\n", model, nframes, down,
		runtime.NumCPU(), cfg.Tile, cfg.Margin)
	fmt.Fprintf(&out, "| clip | threshold | full s/frame | reuse s/frame | speed-up | tiles reused | full frames | PSNR reuse vs full | PSNR full vs HR | PSNR reuse vs HR | loss dB | flicker full | flicker reuse |\n")
	fmt.Fprintf(&out, "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, c := range measureClips(t)[:3] {
		for _, thr := range thresholds {
			cfg.Threshold = thr
			row := measureReuse(t, inner, cfg, c[1], nframes, down)
			fmt.Fprintf(&out, "| %s | %g | %s |\n", c[0], thr, row)
		}
	}
	t.Logf("\n%s", out.String())
}

// measureReuse runs one clip through the plain inner upscaler and the tile-reuse wrapper, frame by
// frame, and returns the table cells after the threshold.
func measureReuse(t *testing.T, inner sr.Backend, cfg tilereuse.Config, path string, n, down int) string {
	ctx := context.Background()
	var lr, fullOut, reuseOut *frame.Frame
	var full, reuse sr.Upscaler
	var wrapped *tilereuse.Backend
	var tFull, tReuse time.Duration
	var vsFull, fullHR, reuseHR, hr, fl, rl seqStats
	frames := 0
	readFrames(t, path, n, func(f *frame.Frame) {
		defer f.Release()
		if lr == nil {
			in := image.Pt(f.W/down, f.H/down)
			spec := sr.Spec{In: in, Out: f.Size()}
			var err error
			if full, err = inner.NewUpscaler(spec); err != nil {
				t.Fatal(err)
			}
			// A wrapper that does not own inner: Close is never called on it.
			if wrapped, err = tilereuse.New(inner, cfg); err != nil {
				t.Fatal(err)
			}
			if reuse, err = wrapped.NewUpscaler(spec); err != nil {
				t.Fatal(err)
			}
			lr = frame.New(in.X, in.Y)
			fullOut, reuseOut = frame.New(f.W, f.H), frame.New(f.W, f.H)
		}
		if err := resample.Resize(resample.Area, lr, f); err != nil {
			t.Fatal(err)
		}
		lr.CopyMeta(f)
		t0 := time.Now()
		if err := full.Upscale(ctx, []*frame.Frame{fullOut}, []*frame.Frame{lr}); err != nil {
			t.Fatal(err)
		}
		t1 := time.Now()
		if err := reuse.Upscale(ctx, []*frame.Frame{reuseOut}, []*frame.Frame{lr}); err != nil {
			t.Fatal(err)
		}
		tFull += t1.Sub(t0)
		tReuse += time.Since(t1)
		vsFull.addError(reuseOut, fullOut)
		fullHR.addError(fullOut, f)
		reuseHR.addError(reuseOut, f)
		hr.addFrame(f)
		fl.addFrame(fullOut)
		rl.addFrame(reuseOut)
		frames++
	})
	defer full.Close()
	defer reuse.Close()
	counters := map[string]int64{}
	wrapped.Counters(func(k string, v int64) { counters[k] = v })
	tiles := counters["reused_tiles"] + counters["computed_tiles"]
	perFrame := func(d time.Duration) float64 { return d.Seconds() / float64(frames) }
	return fmt.Sprintf("%.3f | %.3f | %.2fx | %.0f%% (of non-full frames) | %d | %.2f | %.2f | %.2f | %.3f | %.3f (%.3f-%.3f) | %.3f (%.3f-%.3f)",
		perFrame(tFull), perFrame(tReuse), tFull.Seconds()/tReuse.Seconds(),
		100*float64(counters["reused_tiles"])/float64(max(1, tiles)), counters["full_frames"],
		vsFull.psnr(), fullHR.psnr(), reuseHR.psnr(), fullHR.psnr()-reuseHR.psnr(),
		fl.meanChange()-hr.meanChange(), fl.meanChange(), hr.meanChange(),
		rl.meanChange()-hr.meanChange(), rl.meanChange(), hr.meanChange())
}
