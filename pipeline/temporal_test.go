package pipeline_test

import (
	"context"
	"fmt"
	"image"
	"math"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/classical"
	"github.com/ugcsr/ugcsr/sr/scenecache"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
	"github.com/ugcsr/ugcsr/temporal"
)

// segBackend is a fake backend that, like the diffusion backend, needs one per-segment constant
// per frame from a scenecache.Cache (keyed by the segment the analyzer stamps on the frame). It
// counts computations per segment and reports the detector's and the cache's counters.
type segBackend struct {
	det   *temporal.Detector
	cache *scenecache.Cache[int64]
	delay time.Duration

	mu       sync.Mutex
	computed map[int64]int // by segment keyframe
	upscaled atomic.Int64
	dupsSeen atomic.Int64
}

func (b *segBackend) Name() string  { return "fake-seg" }
func (b *segBackend) Caps() sr.Caps { return sr.Caps{SceneConstants: true} }
func (b *segBackend) Close() error  { return nil }
func (b *segBackend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	return &segUpscaler{b: b}, nil
}
func (b *segBackend) Counters(visit func(string, int64)) {
	b.det.Counters(visit)
	b.cache.Counters(visit)
}

type segUpscaler struct{ b *segBackend }

func (u *segUpscaler) BatchSize() int { return 2 }
func (u *segUpscaler) Close() error   { return nil }
func (u *segUpscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	b := u.b
	for i, f := range src {
		if f.Dup {
			b.dupsSeen.Add(1)
		}
		key, err := b.cache.Get(ctx, f, func(ctx context.Context) (int64, error) {
			b.mu.Lock()
			b.computed[f.Segment]++
			b.mu.Unlock()
			time.Sleep(b.delay) // an encoder run: let other workers pile up on it
			return f.Segment, nil
		})
		if err != nil {
			return err
		}
		if key != f.Segment {
			return &segError{f.Index, key}
		}
		nearest(dst[i], f)
		b.upscaled.Add(1)
	}
	return nil
}

type segError struct{ index, key int64 }

func (e *segError) Error() string { return "value of another segment" }

// nearest writes a nearest-neighbour resize of s into d.
func nearest(d, s *frame.Frame) {
	for c := 0; c < 3; c++ {
		sp, dp := s.Plane(c), d.Plane(c)
		for y := 0; y < d.H; y++ {
			for x := 0; x < d.W; x++ {
				dp[y*d.W+x] = sp[(y*s.H/d.H)*s.W+x*s.W/d.W]
			}
		}
	}
}

func counters(st pipeline.Stats) map[string]int64 {
	m := map[string]int64{}
	for _, c := range st.Counters {
		m[c.Key] = c.Value
	}
	return m
}

// TestDuplicatesSkipWorkers: on a lossless clip whose frames repeat (10 fps made 25 fps by
// duplication), the Detector marks the exact duplicates, they never reach the backend, the
// output still has every frame, and dup_frames counts them.
func TestDuplicatesSkipWorkers(t *testing.T) {
	in := filepath.Join(t.TempDir(), "dups.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10:d=2", "-vf", "fps=25", "-c:v", "ffv1", in)
	out := filepath.Join(t.TempDir(), "o.mkv")
	det := &temporal.Detector{}
	b := &segBackend{det: det, cache: scenecache.New[int64](scenecache.Config{}),
		computed: map[int64]int{}}
	res, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decodeOpts(in), Output: encodeOpts(out), Backend: b, Workers: 3, Analyzer: det,
		Size: image.Pt(192, 128),
	})
	if err != nil {
		t.Fatal(err)
	}
	c := counters(res.Stats)
	if res.Frames != 50 || c["dup_frames"] != 30 || b.upscaled.Load() != 20 || b.dupsSeen.Load() != 0 {
		t.Fatalf("frames %d, dup_frames %d, upscaled %d, duplicates upscaled %d; want 50, 30, 20, 0",
			res.Frames, c["dup_frames"], b.upscaled.Load(), b.dupsSeen.Load())
	}
	if c["scene_cuts"] != 0 {
		t.Fatalf("scene_cuts %d", c["scene_cuts"])
	}
	if n := len(mediatest.VideoFrames(t, out)); n != 50 {
		t.Fatalf("output has %d frames, want 50", n)
	}
}

// TestSceneCacheManyWorkers: 8 workers, at most 3 frames in flight, frames upscaled out of order:
// every segment's constant is computed exactly once, nothing deadlocks, and the counters add up.
func TestSceneCacheManyWorkers(t *testing.T) {
	in := filepath.Join(t.TempDir(), "scenes.mkv")
	// Three shots: moving test pattern, static colour bars (exact duplicates), another pattern.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=1.2", "-f", "lavfi", "-i", "smptebars=s=96x64:r=25:d=0.4",
		"-f", "lavfi", "-i", "testsrc=s=96x64:r=25:d=1.2", "-filter_complex", "[0][1][2]concat=n=3:v=1:a=0", "-c:v", "ffv1", in)
	out := filepath.Join(t.TempDir(), "o.mkv")
	det := &temporal.Detector{Refresh: 8}
	b := &segBackend{det: det, delay: 2 * time.Millisecond, computed: map[int64]int{},
		cache: scenecache.New[int64](scenecache.Config{Name: "sam"})}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := pipeline.Run(ctx, pipeline.Config{
		Input: decodeOpts(in), Output: encodeOpts(out), Backend: b, Workers: 8, MaxInFlight: 3, Analyzer: det,
	})
	if err != nil {
		t.Fatal(err)
	}
	c := counters(res.Stats)
	cuts, segments, dups, _, _ := det.Stats()
	t.Logf("frames %d cuts %d segments %d dups %d counters %v cache %+v", res.Frames, cuts, segments, dups, c, b.cache.Stats())
	if res.Frames != 70 || cuts != 2 || c["scene_cuts"] != 2 {
		t.Fatalf("frames %d, cuts %d; want 70, 2", res.Frames, cuts)
	}
	// Shots of 30, 10 and 30 frames; the bars are one frame and 9 duplicates, so every segment is
	// 8 frames long except where a shot ends: 4 + 1 + 4 segments.
	if segments != 9 || dups != 9 || c["dup_frames"] != 9 {
		t.Fatalf("segments %d duplicates %d dup_frames %d; want 9, 9, 9", segments, dups, c["dup_frames"])
	}
	for start, n := range b.computed {
		if n != 1 {
			t.Errorf("segment at %d computed %d times", start, n)
		}
	}
	if len(b.computed) != 9 || c["sam_cache_computes"] != 9 || c["sam_cache_hits"] != 70-9-9 {
		t.Fatalf("computed %v; counters %v", b.computed, c)
	}
	if n := len(mediatest.VideoFrames(t, out)); n != 70 {
		t.Fatalf("output has %d frames", n)
	}
}

// TestTileReuseInPipeline: --reuse-tiles on a static scene with a moving box, through the whole
// pipeline (one worker, which the wrapper's name keeps as the default): tiles are reused, every
// frame is written, and the output stays within 40 dB of a full Lanczos run (stored as lossless
// 4:4:4).
func TestTileReuseInPipeline(t *testing.T) {
	in := filepath.Join(t.TempDir(), "box.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "smptehdbars=s=320x180:r=25:d=0.8", "-f", "lavfi", "-i", "color=c=yellow:s=40x40:r=25",
		"-filter_complex", "[0][1]overlay=x=20+t*150:y=60:shortest=1", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", in)
	lossless := func(out string) encode.Options { return encode.Options{Output: out, Codec: "ffv1", PixFmt: "yuv444p"} }
	run := func(b sr.Backend, out string) pipeline.Result {
		res, err := pipeline.Run(context.Background(), pipeline.Config{
			Input: decodeOpts(in), Output: lossless(out), Backend: b, Analyzer: &temporal.Detector{}, Scale: 2,
		})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	lanczos, err := classical.New("lanczos")
	if err != nil {
		t.Fatal(err)
	}
	reuse, err := tilereuse.New(lanczos, tilereuse.Config{Threshold: 0.02})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	full := run(lanczos, filepath.Join(dir, "full.mkv"))
	got := run(reuse, filepath.Join(dir, "reuse.mkv"))
	c := counters(got.Stats)
	t.Logf("counters %v", c)
	if got.Frames != 20 || full.Frames != 20 || c["reused_tiles"] < 20*15/2 || c["full_frames"] < 1 {
		t.Fatalf("frames %d/%d, counters %v", got.Frames, full.Frames, c)
	}
	a, b := mediatest.DecodeFrames(t, filepath.Join(dir, "full.mkv"), 0), mediatest.DecodeFrames(t, filepath.Join(dir, "reuse.mkv"), 0)
	if len(a) != 20 || len(b) != 20 {
		t.Fatalf("decoded %d and %d frames", len(a), len(b))
	}
	worst := math.Inf(1)
	for i := range a {
		p := mediatest.PSNR(t, a[i], b[i])
		worst = min(worst, p)
		mediatest.AtLeast(t, fmt.Sprintf("frame %d: PSNR (dB) against a full run", i), p, 40)
	}
	t.Logf("worst frame: %.1f dB against a full run", worst)
}
