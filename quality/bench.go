package quality

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/backends"
	"github.com/ugcsr/ugcsr/sr/classical"
	"github.com/ugcsr/ugcsr/sr/strength"
	"github.com/ugcsr/ugcsr/sr/tilereuse"
	"github.com/ugcsr/ugcsr/temporal"
)

// Degrade is the ffmpeg filter and encoder settings Bench degrades each clip with, the way uploads
// are: halved with area averaging, then H.264 at CRF 32.
var Degrade = []string{"-vf", "scale=iw/2:ih/2:flags=area", "-c:v", "libx264", "-crf", "32"}

// Setting is one row of the benchmark: Lanczos alone, or the model at a strength, blended in the
// signal domain or in linear light, stabilized or not.
type Setting struct {
	Lanczos   bool
	Strength  float64
	Linear    bool
	Stabilize bool
	// Threshold is Stabilize's threshold (optional). It defaults to tilereuse's.
	Threshold float64
}

// ParseSetting reads "lanczos" or "S[-linear][+stabilize[@THRESH]]", e.g. "1", "0.5-linear",
// "0.5+stabilize", "0.75+stabilize@0.03".
func ParseSetting(v string) (Setting, error) {
	var s Setting
	if v == "lanczos" {
		return Setting{Lanczos: true}, nil
	}
	num, stab, hasStab := strings.Cut(v, "+stabilize")
	if hasStab {
		s.Stabilize = true
		if t, ok := strings.CutPrefix(stab, "@"); ok {
			f, err := strconv.ParseFloat(t, 64)
			if err != nil || !(f > 0 && f <= 1) {
				return s, fmt.Errorf("setting %q: bad threshold %q", v, t)
			}
			s.Threshold = f
		} else if stab != "" {
			return s, fmt.Errorf("setting %q: want +stabilize or +stabilize@THRESH", v)
		}
	}
	num, s.Linear = strings.CutSuffix(num, "-linear")
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return s, fmt.Errorf("setting %q: want lanczos or a strength 0..1 [-linear][+stabilize[@THRESH]]", v)
	}
	s.Strength = f
	return s, nil
}

// String is the setting as ParseSetting reads it.
func (s Setting) String() string {
	if s.Lanczos {
		return "lanczos"
	}
	v := strconv.FormatFloat(s.Strength, 'g', -1, 64)
	if s.Linear {
		v += "-linear"
	}
	if s.Stabilize {
		v += "+stabilize"
		if s.Threshold > 0 {
			v += "@" + strconv.FormatFloat(s.Threshold, 'g', -1, 64)
		}
	}
	return v
}

// BenchOptions configures Bench.
type BenchOptions struct {
	// Clips are the original clips.
	Clips []string
	// Start is the index of the first frame measured and Frames how many (optional). They default
	// to 0 and 24.
	Start, Frames int
	// Model is the learned backend (optional). It defaults to backends.Default.
	Model    string
	Backends backends.Options
	// Settings are the rows measured after Lanczos', which always comes first.
	Settings []Setting
	// FFmpeg is the ffmpeg binary that degrades the clips (optional). It defaults to "ffmpeg".
	FFmpeg string
	// Logf receives progress lines (optional).
	Logf func(format string, args ...any)
}

// Row is one clip and setting's measures against the original frames.
type Row struct {
	Clip                           string
	Setting                        Setting
	PSNR, SSIM, TPSNR, Sharpness   float64
	LanczosPSNR, LanczosSSIM       float64 // the clip's Lanczos row, for differences
	LanczosTPSNR, LanczosSharpness float64
	// Held is the share of blocks that kept an earlier output (Stabilize; 0 otherwise).
	Held float64
}

// BenchResult is Bench's measurements.
type BenchResult struct {
	Rows    []Row
	In, Out image.Point // the degraded and the output (= original) frame size of the last clip
	Frames  int         // per clip
	// ModelTime is the time the model took over all clips (each frame is upscaled once; every
	// setting is made from that output).
	ModelTime time.Duration
}

// Bench degrades each clip (Degrade, with the ffmpeg tool), upscales Frames frames from Start back
// to the original size with each setting, and measures them against the original frames. The model
// runs once per frame; each setting wraps a backend that replays those outputs in the same
// sr/strength and sr/tilereuse wrappers the pipeline uses, so a row is what a job would write
// before encoding.
func Bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if o.Frames <= 0 {
		o.Frames = 24
	}
	if o.Model == "" {
		o.Model = backends.Default
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	tmp, err := os.MkdirTemp("", "ugcsr-quality")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	model, err := backends.Open(o.Model, o.Backends)
	if err != nil {
		return nil, err
	}
	defer model.Close()
	res := &BenchResult{Frames: o.Frames}
	for ci, clip := range o.Clips {
		deg := filepath.Join(tmp, fmt.Sprintf("%d.mp4", ci))
		args := append(append([]string{"-v", "error", "-nostdin", "-y", "-i", clip}, Degrade...), "-an", deg)
		if out, err := exec.CommandContext(ctx, o.FFmpeg, args...).CombinedOutput(); err != nil {
			return nil, fmt.Errorf("quality: degrade %s: %w: %s", clip, err, strings.TrimSpace(string(out)))
		}
		orig, err := decodeRange(ctx, clip, o.Start, o.Frames)
		if err != nil {
			return nil, err
		}
		low, err := decodeRange(ctx, deg, o.Start, o.Frames)
		if err != nil {
			return nil, err
		}
		det := &temporal.Detector{}
		for _, f := range low {
			if err := det.Analyze(f); err != nil {
				return nil, err
			}
		}
		spec := sr.Spec{In: low[0].Size(), Out: orig[0].Size()}
		res.In, res.Out = spec.In, spec.Out
		t0 := time.Now()
		rp, err := runModel(ctx, model, spec, low)
		if err != nil {
			return nil, err
		}
		res.ModelTime += time.Since(t0)
		o.Logf("%s: %d frames %v -> %v, model %.1f s", clip, len(low), spec.In, spec.Out, time.Since(t0).Seconds())
		var lz Row
		settings := []Setting{{Lanczos: true}}
		for _, st := range o.Settings {
			if !st.Lanczos {
				settings = append(settings, st)
			}
		}
		for _, st := range settings {
			seq, held, err := measure(ctx, rp, st, spec, low, orig)
			if err != nil {
				return nil, fmt.Errorf("quality: %s %s: %w", clip, st, err)
			}
			row := Row{Clip: filepath.Base(clip), Setting: st, PSNR: seq.PSNR(), SSIM: seq.SSIM(), TPSNR: seq.TPSNR(), Sharpness: seq.Sharpness(), Held: held}
			if st.Lanczos {
				lz = row
			}
			row.LanczosPSNR, row.LanczosSSIM, row.LanczosTPSNR, row.LanczosSharpness = lz.PSNR, lz.SSIM, lz.TPSNR, lz.Sharpness
			res.Rows = append(res.Rows, row)
		}
	}
	return res, nil
}

// measure runs one setting over low and measures it against orig; held is the share of blocks
// that kept an earlier output.
func measure(ctx context.Context, rp *replay, st Setting, spec sr.Spec, low, orig []*frame.Frame) (seq *Seq, held float64, err error) {
	var b sr.Backend = rp
	if st.Lanczos {
		if b, err = classical.New("lanczos"); err != nil {
			return nil, 0, err
		}
	} else {
		if st.Strength != 1 {
			if b, err = strength.New(b, strength.Config{Strength: st.Strength, Linear: st.Linear}); err != nil {
				return nil, 0, err
			}
		}
		if st.Stabilize {
			if b, err = tilereuse.New(b, tilereuse.Config{Stabilize: true, Threshold: st.Threshold}); err != nil {
				return nil, 0, err
			}
		}
	}
	u, err := b.NewUpscaler(spec)
	if err != nil {
		return nil, 0, err
	}
	defer u.Close()
	seq = &Seq{}
	out := frame.New(spec.Out.X, spec.Out.Y)
	for i, f := range low {
		if err := u.Upscale(ctx, []*frame.Frame{out}, []*frame.Frame{f}); err != nil {
			return nil, 0, err
		}
		if err := seq.Add(out, orig[i]); err != nil {
			return nil, 0, err
		}
	}
	var kept, fresh int64
	if c, ok := b.(sr.Counter); ok {
		c.Counters(func(k string, v int64) {
			switch k {
			case "held_blocks":
				kept = v
			case "fresh_blocks":
				fresh = v
			}
		})
	}
	if kept+fresh > 0 {
		held = float64(kept) / float64(kept+fresh)
	}
	return seq, held, nil
}

// decodeRange decodes frames [start, start+n) of path into frames of their own.
func decodeRange(ctx context.Context, path string, start, n int) ([]*frame.Frame, error) {
	d, err := decode.Open(ctx, decode.Options{Input: path, MaxFrames: int64(start + n)})
	if err != nil {
		return nil, err
	}
	defer d.Close()
	var out []*frame.Frame
	for {
		f, err := d.Read(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if f.Index >= int64(start) {
			c := frame.New(f.W, f.H)
			copy(c.Pix, f.Pix)
			c.CopyMeta(f)
			out = append(out, c)
		}
		f.Release()
	}
	if len(out) != n {
		return nil, fmt.Errorf("quality: %s: %d frames from %d, want %d", path, len(out), start, n)
	}
	return out, nil
}

// runModel upscales every frame of low once and returns a backend that replays the outputs.
func runModel(ctx context.Context, model sr.Backend, spec sr.Spec, low []*frame.Frame) (*replay, error) {
	u, err := model.NewUpscaler(spec)
	if err != nil {
		return nil, err
	}
	defer u.Close()
	rp := &replay{name: model.Name(), caps: model.Caps(), outs: map[int64]*frame.Frame{}}
	for _, f := range low {
		out := frame.New(spec.Out.X, spec.Out.Y)
		if err := u.Upscale(ctx, []*frame.Frame{out}, []*frame.Frame{f}); err != nil {
			return nil, err
		}
		rp.outs[f.Index] = out
	}
	return rp, nil
}

// replay is a backend whose output for a frame is the one the model gave it (by frame.Index).
type replay struct {
	name string
	caps sr.Caps
	outs map[int64]*frame.Frame
}

func (r *replay) Name() string { return r.name }
func (r *replay) Caps() sr.Caps {
	c := r.caps
	c.SourceFormat = false
	return c
}
func (r *replay) Close() error { return nil }
func (r *replay) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	return &replayUpscaler{r: r, spec: spec}, nil
}

type replayUpscaler struct {
	r    *replay
	spec sr.Spec
}

func (u *replayUpscaler) BatchSize() int { return 1 }
func (u *replayUpscaler) Close() error   { return nil }
func (u *replayUpscaler) Upscale(_ context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(false, u.spec, dst, src); err != nil {
		return err
	}
	for i, s := range src {
		o, ok := u.r.outs[s.Index]
		if !ok {
			return fmt.Errorf("quality: no model output for frame %d", s.Index)
		}
		copy(dst[i].Pix, o.Pix)
	}
	return nil
}
