package pipeline_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/segment"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/scenecache"
)

// keyBackend is a fake backend with per-scene constants, like the diffusion backend: each output
// frame is its input blended with a constant computed from the pixels of its segment's keyframe
// (the mean of its red plane) and tinted by its scene number, so an output shows which frame its
// constants came from and which scene it was stamped with.
type keyBackend struct {
	cache    *scenecache.Cache[float32]
	failAt   int64 // Upscale fails on this frame (a crash), -1 never
	upscaled atomic.Int64
}

func newKeyBackend(failAt int64) *keyBackend {
	return &keyBackend{cache: scenecache.New[float32](scenecache.Config{}), failAt: failAt}
}

func (b *keyBackend) Name() string  { return "fake-key" }
func (b *keyBackend) Caps() sr.Caps { return sr.Caps{SceneConstants: true} }
func (b *keyBackend) Close() error  { return nil }
func (b *keyBackend) NewUpscaler(sr.Spec) (sr.Upscaler, error) {
	return keyUpscaler{b}, nil
}

type keyUpscaler struct{ b *keyBackend }

func (u keyUpscaler) BatchSize() int { return 1 }
func (u keyUpscaler) Close() error   { return nil }
func (u keyUpscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	for i, f := range src {
		if f.Index == u.b.failAt {
			return errors.New("simulated crash")
		}
		key, err := u.b.cache.Get(ctx, f, func(context.Context) (float32, error) {
			k := f.SegmentKeyframe()
			var sum float32
			for _, v := range k.Plane(0) {
				sum += v
			}
			return sum / float32(k.W*k.H), nil
		})
		if err != nil {
			return err
		}
		nearest(dst[i], f)
		// Magnify the constant's differences: neighbouring frames' means differ little.
		shade := float32(math.Mod(float64(key)*97, 1))
		tint := float32(f.Scene%4) * 0.05
		for j := range dst[i].Pix {
			dst[i].Pix[j] = 0.5*dst[i].Pix[j] + 0.3*shade + tint
		}
		u.b.upscaled.Add(1)
	}
	return nil
}

// TestResumeEqualsOneRun: a resumable job that crashes part-way and is run again gives the output
// of one uninterrupted run, frame for frame (lossless FFV1) and timestamp for timestamp, with
// segment boundaries inside scenes (per-scene constants from the scene's keyframe, decoded
// alone), an input whose keyframes do not fall on the boundaries (H.264 with B-frames, GOP 7),
// and a scene cut. Another input or other settings do not reuse the segments; success removes
// them.
func TestResumeEqualsOneRun(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	// Two shots of 2 s at 10 fps with motion in both: the analyzer cuts at frame 20.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10:d=2", "-f", "lavfi", "-i", "testsrc=s=96x64:r=10:d=2",
		"-filter_complex", "[0][1]concat=n=2:v=1", "-c:v", "libx264", "-g", "7", "-bf", "2", "-pix_fmt", "yuv420p", in)
	cfg := func(out string) pipeline.Config {
		return pipeline.Config{Input: decodeOpts(in), Output: encodeOpts(out), Scale: 1}
	}
	withCodec := func(c pipeline.Config) pipeline.Config { c.Output.Codec, c.Output.Preset = "ffv1", ""; return c }

	plain := filepath.Join(dir, "plain.mkv")
	c := withCodec(cfg(plain))
	c.Backend = newKeyBackend(-1)
	if _, err := pipeline.Run(context.Background(), c); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "resumed.mkv")
	jobDir := pipeline.ResumeDir(out)
	resumable := func(b *keyBackend) pipeline.Config {
		c := withCodec(cfg(out))
		c.Backend, c.Resume = b, &pipeline.Resume{Length: 700 * time.Millisecond}
		c.Output.Overwrite = true
		return c
	}
	// The crash: frame 23 fails, after the segments before it are done.
	if _, err := pipeline.Run(context.Background(), resumable(newKeyBackend(23))); err == nil {
		t.Fatal("the crashing run succeeded")
	}
	plan, err := segment.Load(filepath.Join(jobDir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	inside := 0
	for _, s := range plan.Segments {
		if s.InsideScene() {
			inside++
		}
	}
	if len(plan.Segments) < 5 || inside < 2 {
		t.Fatalf("plan: %d segments, %d starting inside a scene; the test needs at least 5 and 2", len(plan.Segments), inside)
	}
	done, _, ok := pipeline.FindResumable(out)
	if !ok || done < 2 {
		t.Fatalf("after the crash: %d segments kept (found %v), want at least 2", done, ok)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("the crashed run left an output")
	}

	b := newKeyBackend(-1)
	res, err := pipeline.Run(context.Background(), resumable(b))
	if err != nil {
		t.Fatal(err)
	}
	st := res.Resume
	if st == nil || st.Reused != done || st.Done != len(plan.Segments) || st.Discarded != "" {
		t.Fatalf("resume state %+v, want %d reused of %d", st, done, len(plan.Segments))
	}
	var reusedFrames int64
	for _, s := range plan.Segments[:done] {
		reusedFrames += s.Frames
	}
	if got := b.upscaled.Load(); got != plan.Frames-reusedFrames {
		t.Fatalf("the rerun upscaled %d frames, want the %d not kept", got, plan.Frames-reusedFrames)
	}
	if _, err := os.Stat(jobDir); !os.IsNotExist(err) {
		t.Fatalf("segments not removed after success: %v", err)
	}
	sameVideo(t, plain, out)

	// Other settings, then another input: the segments kept by a crash are not reused.
	crash := func() {
		t.Helper()
		if _, err := pipeline.Run(context.Background(), resumable(newKeyBackend(23))); err == nil {
			t.Fatal("the crashing run succeeded")
		}
		if done, _, _ := pipeline.FindResumable(out); done < 2 {
			t.Fatalf("the crash kept %d segments, want at least 2", done)
		}
	}
	crash()
	other := resumable(newKeyBackend(-1))
	other.Output.CRF = 0
	other.Output.PixFmt = "yuv444p"
	res, err = pipeline.Run(context.Background(), other)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resume.Reused != 0 || res.Resume.Discarded == "" {
		t.Fatalf("other settings: %+v, want nothing reused and the reason said", res.Resume)
	}
	crash()
	if err := os.WriteFile(in, append(mustRead(t, in), 0), 0o644); err != nil { // same name, other content
		t.Fatal(err)
	}
	c = resumable(newKeyBackend(-1))
	res, err = pipeline.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	if res.Resume.Reused != 0 || res.Resume.Discarded == "" {
		t.Fatalf("another input: %+v, want nothing reused and the reason said", res.Resume)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameVideo fails t unless two videos have the same frames, pixel for pixel, at the same
// timestamps.
func sameVideo(t *testing.T, want, got string) {
	t.Helper()
	wf, gf := mediatest.VideoFrames(t, want), mediatest.VideoFrames(t, got)
	if len(wf) != len(gf) || len(wf) == 0 {
		t.Fatalf("%d frames, want %d", len(gf), len(wf))
	}
	for i := range wf {
		if wf[i].PTSTime != gf[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, gf[i].PTSTime, wf[i].PTSTime)
		}
	}
	wd, gd := mediatest.DecodeFrames(t, want, 0), mediatest.DecodeFrames(t, got, 0)
	if len(wd) != len(gd) {
		t.Fatalf("decoded %d frames, want %d", len(gd), len(wd))
	}
	for i := range wd {
		if d := mediatest.MaxDiff(t, wd[i], gd[i]); !(d == 0) {
			t.Fatalf("frame %d differs by up to %d levels", i, d)
		}
	}
}

// TestResumeJoinH264: segments of an encoder that reorders frames (x264 with B-frames) join into
// an mp4 with every frame at its timestamp: NUT shifts the first segment's timestamps and drops
// the decoding ones, which the join restores.
func TestResumeJoinH264(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=10:d=3", "-c:v", "libx264", "-g", "7", "-pix_fmt", "yuv420p", in)
	run := func(out string, resume *pipeline.Resume) {
		t.Helper()
		c := pipeline.Config{Input: decodeOpts(in), Output: encodeOpts(out), Scale: 1, Backend: newKeyBackend(-1), Resume: resume}
		c.Output.Preset = "veryfast" // B-frames, unlike ultrafast
		if _, err := pipeline.Run(context.Background(), c); err != nil {
			t.Fatal(err)
		}
	}
	plain, joined := filepath.Join(dir, "plain.mp4"), filepath.Join(dir, "joined.mp4")
	run(plain, nil)
	run(joined, &pipeline.Resume{Length: 500 * time.Millisecond})
	pf, jf := mediatest.VideoFrames(t, plain), mediatest.VideoFrames(t, joined)
	if len(pf) != 30 || len(jf) != len(pf) {
		t.Fatalf("%d frames joined, %d in one run; want 30", len(jf), len(pf))
	}
	for i := range pf {
		if jf[i].PTSTime != pf[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, jf[i].PTSTime, pf[i].PTSTime)
		}
	}
}
