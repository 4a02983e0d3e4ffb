package pipeline_test

import (
	"context"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
)

// rawPlanes decodes a video with the ffmpeg tool into planar pix_fmt samples and returns, per
// plane, every frame's samples one after another (16-bit little-endian words read as values).
func rawPlanes(t *testing.T, path, pixFmt string, w, h, frames int) [3][]float64 {
	t.Helper()
	out, err := exec.Command(mediatest.Tool(t, "ffmpeg"), "-v", "error", "-i", path, "-frames:v", "100",
		"-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", pixFmt, "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg raw %s: %v", path, err)
	}
	size := 1
	if pixFmt != "yuv420p" {
		size = 2
	}
	sizes := [3]int{w * h, w * h / 4, w * h / 4}
	per := (sizes[0] + sizes[1] + sizes[2]) * size
	if len(out) != per*frames {
		t.Fatalf("%s: %d bytes of %s, want %d frames of %dx%d (%d bytes)", path, len(out), pixFmt, frames, w, h, per*frames)
	}
	var p [3][]float64
	for f := 0; f < frames; f++ {
		b := out[f*per:]
		for c, n := range sizes {
			for i := 0; i < n; i++ {
				v := float64(b[i*size])
				if size == 2 {
					v += 256 * float64(b[i*2+1])
				}
				p[c] = append(p[c], v)
			}
			b = b[n*size:]
		}
	}
	return p
}

// planePSNR is the PSNR of a plane against a reference for samples up to peak; +Inf when equal,
// NaN when the lengths differ (which every gate fails).
func planePSNR(got, want []float64, peak float64) float64 {
	if len(got) != len(want) || len(got) == 0 {
		return math.NaN()
	}
	var se float64
	for i := range got {
		d := got[i] - want[i]
		se += d * d
	}
	return 10 * math.Log10(peak*peak/(se/float64(len(got))))
}

// checkAgainstFFmpeg runs the Lanczos x2 job on in into a lossless FFV1 file, makes ffmpeg's own
// (-vf scale=iw*2:ih*2:flags=lanczos, the same swscale the classical path follows) and gates every
// plane's PSNR. What remains is the rounding of swscale's fixed-point arithmetic against float32:
// one step on a few per cent of the samples, about 60 dB for 8-bit luma. A chroma plane sited half
// a sample off, edges handled as Pillow does or truncation instead of rounding fall below 56 dB.
func checkAgainstFFmpeg(t *testing.T, in, pixFmt string, w, h, frames int, minLuma, minChroma float64) {
	t.Helper()
	dir := t.TempDir()
	out, ref := filepath.Join(dir, "out.mkv"), filepath.Join(dir, "ref.mkv")
	res, err := pipeline.Run(context.Background(), pipeline.Config{Input: decode.Options{Input: in, MaxFrames: int64(frames)},
		Output: encode.Options{Output: out, Codec: "ffv1"}, Model: "lanczos", Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	if !res.SourceFormat {
		t.Errorf("the Lanczos job on %s did not keep the source's format", pixFmt)
	}
	if p := mediatest.FFprobe(t, out, nil).Streams[0].PixFmt; p != pixFmt {
		t.Errorf("output pixel format %s, want the input's %s", p, pixFmt)
	}
	mediatest.FFmpeg(t, "-i", in, "-frames:v", itoa(frames), "-vf", "scale=iw*2:ih*2:flags=lanczos", "-c:v", "ffv1", ref)
	got, want := rawPlanes(t, out, pixFmt, 2*w, 2*h, frames), rawPlanes(t, ref, pixFmt, 2*w, 2*h, frames)
	peak := 255.0
	if pixFmt != "yuv420p" {
		peak = 1023
	}
	for c, name := range []string{"Y", "Cb", "Cr"} {
		p := planePSNR(got[c], want[c], peak)
		t.Logf("%s %s PSNR against ffmpeg: %.2f dB", pixFmt, name, p)
		mediatest.AtLeast(t, pixFmt+" "+name+" PSNR against ffmpeg's Lanczos (dB)", p, map[bool]float64{true: minLuma, false: minChroma}[c == 0])
	}
}

func itoa(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }

// TestSourceFormatMatchesFFmpeg: on a real clip, the Lanczos job in the source's format is ffmpeg's
// Lanczos up to rounding.
func TestSourceFormatMatchesFFmpeg(t *testing.T) {
	checkAgainstFFmpeg(t, mediatest.Clip(t, "01_dog"), "yuv420p", 1280, 720, 4, 57, 59)
}

// TestSourceFormat10Bit: 10-bit input stays 10-bit, matches ffmpeg's Lanczos, and the default
// encoder (libx264) writes 10-bit too, with audio and timestamps kept.
func TestSourceFormat10Bit(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in10.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x96:r=25", "-f", "lavfi", "-i", "sine", "-t", "0.6",
		"-pix_fmt", "yuv420p10le", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "10", "-c:a", "aac", "-shortest", in)
	checkAgainstFFmpeg(t, in, "yuv420p10le", 160, 96, 15, 66, 64)

	out := filepath.Join(dir, "out.mp4")
	res, err := pipeline.Run(context.Background(), pipeline.Config{Input: decode.Options{Input: in},
		Output: encode.Options{Output: out, Preset: "ultrafast"}, Model: "lanczos", Scale: 2})
	if err != nil {
		t.Fatal(err)
	}
	p := mediatest.FFprobe(t, out, nil)
	if !res.SourceFormat || len(p.Streams) != 2 || p.Streams[0].PixFmt != "yuv420p10le" || p.Streams[1].CodecType != "audio" {
		t.Fatalf("source format %v, streams %+v: want yuv420p10le video and the audio", res.SourceFormat, p.Streams)
	}
	gotPTS, wantPTS := mediatest.VideoFrames(t, out), mediatest.VideoFrames(t, in)
	if len(gotPTS) != len(wantPTS) {
		t.Fatalf("%d frames, want %d", len(gotPTS), len(wantPTS))
	}
	for i := range gotPTS {
		if gotPTS[i].PTSTime != wantPTS[i].PTSTime || gotPTS[i].Width != 320 {
			t.Fatalf("frame %d at %s, %dpx wide; want %s, 320", i, gotPTS[i].PTSTime, gotPTS[i].Width, wantPTS[i].PTSTime)
		}
	}
}

// countingAnalyzer counts the frames it saw with float RGB pixels.
type countingAnalyzer struct{ rgb int }

func (a *countingAnalyzer) Analyze(f *frame.Frame) error {
	if f.YUV == nil && len(f.Pix) == 3*f.W*f.H {
		a.rgb++
	}
	return nil
}

// TestSourceFormatChoice: the source's format is kept only where nothing needs float RGB.
func TestSourceFormatChoice(t *testing.T) {
	in := smallClip(t)
	for _, c := range []struct {
		name     string
		cfg      pipeline.Config
		out      string
		want     bool
		analyzed bool
	}{
		{"lanczos", pipeline.Config{Model: "lanczos"}, "o.mkv", true, false},
		{"bicubic", pipeline.Config{Model: "bicubic"}, "o.mkv", true, false},
		{"other pix_fmt", pipeline.Config{Model: "lanczos", Output: encode.Options{PixFmt: "yuv444p"}}, "o.mkv", false, false},
		{"png output", pipeline.Config{Model: "lanczos"}, "o.png", false, false},
		{"analyzer", pipeline.Config{Model: "lanczos", Analyzer: &countingAnalyzer{}}, "o.mkv", false, true},
		{"tile reuse", pipeline.Config{Model: "lanczos", ReuseTiles: 0.02}, "o.mkv", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := c.cfg
			cfg.Input = decode.Options{Input: in, MaxFrames: 3}
			cfg.Output.Output = filepath.Join(t.TempDir(), c.out)
			res, err := pipeline.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if res.SourceFormat != c.want || res.Frames != 3 {
				t.Errorf("source format %v, %d frames; want %v, 3", res.SourceFormat, res.Frames, c.want)
			}
			if a, ok := cfg.Analyzer.(*countingAnalyzer); ok && a.rgb != 3 {
				t.Errorf("the analyzer saw %d float RGB frames, want 3", a.rgb)
			}
		})
	}
}
