package pipeline_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/strength"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
)

// TestFidelity: Strength and Stabilize wrap the backend (blend first, stabilizing what it gives),
// run one worker, take whole-frame backends, and are refused where they do not apply.
func TestFidelity(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48:r=10:d=0.5", "-c:v", "ffv1", in)
	half := 0.5
	if _, err := runCaps(t, in, pipeline.Config{Strength: &half}, sr.Caps{Cheap: true}); !errors.Is(err, strength.ErrConfig) {
		t.Errorf("strength on a classical backend: %v", err)
	}
	if _, err := runCaps(t, in, pipeline.Config{Stabilize: true, ReuseTiles: 0.02}, sr.Caps{}); !errors.Is(err, tilereuse.ErrConfig) {
		t.Errorf("stabilize with tile reuse: %v", err)
	}
	b := &capsBackend{caps: sr.Caps{WholeFrames: true, Workers: 2}, segments: map[int64]int64{}}
	cfg := pipeline.Config{Strength: &half, Stabilize: true, Workers: 3, Scale: 1, Backend: b,
		Input: decodeOpts(in), Output: encodeOpts(filepath.Join(t.TempDir(), "o.mkv"))}
	res, err := pipeline.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Model != "fake-caps@0.5+stabilize" || b.made.Load() != 1 || res.Frames != 5 {
		t.Errorf("model %q, %d upscalers, %d frames: want fake-caps@0.5+stabilize, 1, 5", res.Model, b.made.Load(), res.Frames)
	}
	one := 1.0
	cfg.Strength, cfg.Stabilize, cfg.Output = &one, false, encodeOpts(filepath.Join(t.TempDir(), "o.mkv"))
	if res, err := pipeline.Run(context.Background(), cfg); err != nil || res.Model != "fake-caps" {
		t.Errorf("strength 1 wraps nothing: %q, %v", res.Model, err)
	}
}
