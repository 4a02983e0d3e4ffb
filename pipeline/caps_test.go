package pipeline_test

import (
	"context"
	"image"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr"
)

// capsBackend is a fake backend that declares caps and records what its upscalers saw: how many
// were made, and each frame's Dup and Segment.
type capsBackend struct {
	caps sr.Caps
	made atomic.Int64

	mu       sync.Mutex
	segments map[int64]int64 // frame index -> frame.Segment as the backend saw it
	dups     int
}

func (b *capsBackend) Name() string  { return "fake-caps" }
func (b *capsBackend) Caps() sr.Caps { return b.caps }
func (b *capsBackend) Close() error  { return nil }
func (b *capsBackend) NewUpscaler(sr.Spec) (sr.Upscaler, error) {
	b.made.Add(1)
	return &capsUpscaler{b}, nil
}

type capsUpscaler struct{ b *capsBackend }

func (u *capsUpscaler) BatchSize() int { return 1 }
func (u *capsUpscaler) Close() error   { return nil }
func (u *capsUpscaler) Upscale(_ context.Context, dst, src []*frame.Frame) error {
	u.b.mu.Lock()
	defer u.b.mu.Unlock()
	for i, f := range src {
		u.b.segments[f.Index] = f.Segment
		if f.Dup {
			u.b.dups++
		}
		nearest(dst[i], f)
	}
	return nil
}

func runCaps(t *testing.T, in string, cfg pipeline.Config, caps sr.Caps) (*capsBackend, error) {
	t.Helper()
	b := &capsBackend{caps: caps, segments: map[int64]int64{}}
	cfg.Input, cfg.Output, cfg.Backend = decodeOpts(in), encodeOpts(filepath.Join(t.TempDir(), "o.mkv")), b
	if cfg.Size == (image.Point{}) {
		cfg.Scale = 1
	}
	_, err := pipeline.Run(context.Background(), cfg)
	return b, err
}

// TestPolicyFromCaps: the pipeline's choices follow sr.Caps, never a backend's name.
func TestPolicyFromCaps(t *testing.T) {
	// Two shots (a cut at frame 10), each of 10 frames, every frame repeated once (20 fps from 10).
	dir := t.TempDir()
	cut := filepath.Join(dir, "cut.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10:d=1", "-f", "lavfi", "-i", "smptebars=s=96x64:r=10:d=1",
		"-filter_complex", "[0][1]concat=n=2:v=1,fps=20", "-c:v", "ffv1", cut)

	t.Run("scene constants get segments", func(t *testing.T) {
		b, err := runCaps(t, cut, pipeline.Config{}, sr.Caps{SceneConstants: true})
		if err != nil {
			t.Fatal(err)
		}
		// Duplicates skip the workers (the still second shot is all duplicates after its first
		// frame); segments start at frame 0 and at the cut, frame 20 (and where the moving first shot
		// drifts from its keyframe).
		bad := b.segments[0] != 0 || b.segments[20] != 20 || b.dups != 0 || len(b.segments) != 11
		for i, s := range b.segments {
			bad = bad || i%2 == 1 || s > i || (i < 20) != (s < 20)
		}
		if bad {
			t.Fatalf("segments seen %v, %d duplicates: want frames 0, 2, ..., 20, keyframe 0 first, 20 from the cut", b.segments, b.dups)
		}
	})
	t.Run("cheap backends get no analysis", func(t *testing.T) {
		b, err := runCaps(t, cut, pipeline.Config{}, sr.Caps{Cheap: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(b.segments) != 40 || b.segments[20] != 0 {
			t.Fatalf("%d frames reached the backend (want all 40, none analysed), frame 20 in segment %d", len(b.segments), b.segments[20])
		}
	})
	t.Run("workers from caps", func(t *testing.T) {
		b, err := runCaps(t, cut, pipeline.Config{}, sr.Caps{Cheap: true, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		if n := b.made.Load(); n != 3 {
			t.Fatalf("%d upscalers, want the backend's 3", n)
		}
		b, err = runCaps(t, cut, pipeline.Config{Workers: 2}, sr.Caps{Cheap: true, Workers: 3})
		if err != nil {
			t.Fatal(err)
		}
		if n := b.made.Load(); n != 2 {
			t.Fatalf("%d upscalers, want the 2 asked for", n)
		}
	})
	t.Run("tile reuse needs crops", func(t *testing.T) {
		_, err := runCaps(t, cut, pipeline.Config{ReuseTiles: 0.02}, sr.Caps{WholeFrames: true})
		if err == nil || !strings.Contains(err.Error(), "needs whole frames") {
			t.Fatalf("tile reuse on a whole-frame backend: %v", err)
		}
		b, err := runCaps(t, cut, pipeline.Config{ReuseTiles: 0.02, Workers: 4}, sr.Caps{Workers: 2})
		if err != nil {
			t.Fatal(err)
		}
		if n := b.made.Load(); n != 1 {
			t.Fatalf("tile reuse made %d upscalers of the inner backend, want 1", n)
		}
	})
}
