package encode_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/pipeline"
)

func smallClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25", "-f", "lavfi", "-i", "sine", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-shortest", "-metadata", "title=t", p)
	return p
}

// TestCodecsAndContainers: one table over encoders, pixel formats and containers. Each output must
// probe as asked, with the frames all there, the audio copied where the container holds AAC.
func TestCodecsAndContainers(t *testing.T) {
	in := smallClip(t)
	dir := t.TempDir()
	cases := []struct {
		out       string
		opts      encode.Options
		codec     string
		pixFmt    string
		withAudio bool
	}{
		{"x264.mp4", encode.Options{}, "h264", "yuv420p", true},
		{"x264-10bit.mkv", encode.Options{PixFmt: "yuv420p10le"}, "h264", "yuv420p10le", true},
		{"x265.mov", encode.Options{Codec: "libx265", Preset: "ultrafast"}, "hevc", "yuv420p", true},
		{"x265-10bit.mp4", encode.Options{Codec: "libx265", Preset: "ultrafast", PixFmt: "yuv420p10le"}, "hevc", "yuv420p10le", true},
		{"vp9.webm", encode.Options{Bitrate: 500_000}, "vp9", "yuv420p", false},
		{"av1.mkv", encode.Options{Codec: "libsvtav1", CRF: 40, Preset: "12"}, "av1", "yuv420p", true},
		{"raw.y4m", encode.Options{}, "rawvideo", "yuv420p", false},
		{"ffv1-bgr0.mkv", encode.Options{Codec: "ffv1", PixFmt: "bgr0"}, "ffv1", "bgr0", true},
		{"ffv1-gbrp10.mkv", encode.Options{Codec: "ffv1", PixFmt: "gbrp10le"}, "ffv1", "gbrp10le", true},
		{"bitrate.mp4", encode.Options{Bitrate: 300_000, Preset: "ultrafast"}, "h264", "yuv420p", true},
	}
	for _, c := range cases {
		t.Run(c.out, func(t *testing.T) {
			o := c.opts
			o.Output = filepath.Join(dir, c.out)
			if o.Preset == "" && o.Codec == "" && filepath.Ext(c.out) != ".webm" && filepath.Ext(c.out) != ".y4m" {
				o.Preset = "ultrafast"
			}
			if _, err := pipeline.Run(context.Background(), pipeline.Config{Input: decode.Options{Input: in}, Output: o, Model: "lanczos"}); err != nil {
				t.Fatal(err)
			}
			p := mediatest.FFprobe(t, o.Output, nil)
			v := p.Streams[0]
			if v.CodecName != c.codec || v.PixFmt != c.pixFmt || v.Width != 192 || v.Height != 128 {
				t.Fatalf("stream %s %s %dx%d, want %s %s 192x128", v.CodecName, v.PixFmt, v.Width, v.Height, c.codec, c.pixFmt)
			}
			if n := len(mediatest.VideoFrames(t, o.Output)); n != 25 {
				t.Fatalf("%d frames, want 25", n)
			}
			hasAudio := len(p.Streams) > 1 && p.Streams[1].CodecType == "audio"
			if c.withAudio && !hasAudio {
				t.Fatal("audio not copied")
			}
		})
	}
}

// TestMP4Faststart: the index comes before the media data.
func TestMP4Faststart(t *testing.T) {
	out := filepath.Join(t.TempDir(), "f.mp4")
	if _, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decode.Options{Input: smallClip(t)}, Output: encode.Options{Output: out, Preset: "ultrafast"}, Model: "lanczos",
	}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(out)
	if m, d := bytes.Index(data, []byte("moov")), bytes.Index(data, []byte("mdat")); m < 0 || m > d {
		t.Fatalf("moov at %d, mdat at %d: not faststart", m, d)
	}
}

// TestNutToStdout writes nut to standard output through the CLI-level "-" path.
func TestNutToStdout(t *testing.T) {
	in := smallClip(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		b.ReadFrom(r)
		done <- b.Bytes()
	}()
	saved := mediatest.RedirectFD(t, 1, w)
	_, err = pipeline.Run(context.Background(), pipeline.Config{
		Input: decode.Options{Input: in}, Output: encode.Options{Output: "-", Format: "nut"}, Model: "lanczos", // mpeg4, as ffmpeg picks for nut
	})
	saved()
	w.Close()
	data := <-done
	if err != nil {
		t.Fatal(err)
	}
	p := mediatest.FFprobe(t, "-", data)
	if p.Format.FormatName != "nut" || p.Streams[0].Width != 192 || len(p.Streams) != 2 {
		t.Fatalf("stdout nut: %+v", p)
	}
}

// TestPNGExact: a single PNG out holds exactly the 8-bit rounding of the frame (no colour-matrix
// round trip), so model parity tests can go through the CLI.
func TestPNGExact(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", "-pix_fmt", "rgb24", in)
	out := filepath.Join(dir, "out.png")
	if _, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decode.Options{Input: in, MaxFrames: 1}, Output: encode.Options{Output: out}, Model: "lanczos", Scale: 1,
	}); err != nil {
		t.Fatal(err)
	}
	a, b := mediatest.ReadPNG(t, in), mediatest.ReadPNG(t, out)
	if a.Bounds() != b.Bounds() {
		t.Fatalf("bounds %v vs %v", a.Bounds(), b.Bounds())
	}
	for y := 0; y < 48; y++ {
		for x := 0; x < 64; x++ {
			if a.At(x, y) != b.At(x, y) {
				t.Fatalf("pixel %d,%d: %v vs %v", x, y, a.At(x, y), b.At(x, y))
			}
		}
	}
}

// TestSubtitlesCopied: a subtitle stream goes through packet for packet.
func TestSubtitlesCopied(t *testing.T) {
	dir := t.TempDir()
	srt := filepath.Join(dir, "s.srt")
	if err := os.WriteFile(srt, []byte("1\n00:00:00,000 --> 00:00:00,500\nhello\n\n2\n00:00:00,500 --> 00:00:00,900\nworld\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(dir, "in.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25", "-i", srt, "-t", "1", "-c:v", "libx264",
		"-preset", "ultrafast", "-c:s", "srt", "-metadata:s:s:0", "language=fra", in)
	out := filepath.Join(dir, "out.mkv")
	if _, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decode.Options{Input: in}, Output: encode.Options{Output: out, Preset: "ultrafast"}, Model: "bicubic",
	}); err != nil {
		t.Fatal(err)
	}
	p := mediatest.FFprobe(t, out, nil, "-show_packets", "-select_streams", "s")
	if len(p.Streams) != 1 || p.Streams[0].CodecType != "subtitle" || p.Streams[0].Tags["language"] != "fra" {
		t.Fatalf("streams: %+v", p.Streams)
	}
	if len(p.Packets) != 2 {
		t.Fatalf("%d subtitle packets, want 2", len(p.Packets))
	}
}

// TestRGBFormatsKeepPixels: RGB outputs other than rgb24 (bgr0, gbrp10 in lossless FFV1) hold the
// frame's pixels, within one 8-bit level.
func TestRGBFormatsKeepPixels(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.png")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", "-pix_fmt", "rgb24", in)
	want := mediatest.ReadPNG(t, in)
	for _, pf := range []string{"bgr0", "gbrp10le"} {
		out := filepath.Join(dir, pf+".mkv")
		if _, err := pipeline.Run(context.Background(), pipeline.Config{
			Input: decode.Options{Input: in}, Output: encode.Options{Output: out, Codec: "ffv1", PixFmt: pf}, Model: "lanczos", Scale: 1,
		}); err != nil {
			t.Fatal(err)
		}
		back := filepath.Join(dir, pf+".png")
		mediatest.FFmpeg(t, "-i", out, "-frames:v", "1", "-pix_fmt", "rgb24", back)
		got := mediatest.ReadPNG(t, back)
		for y := 0; y < 48; y++ {
			for x := 0; x < 64; x++ {
				r1, g1, b1, _ := want.At(x, y).RGBA()
				r2, g2, b2, _ := got.At(x, y).RGBA()
				for _, d := range []int{int(r1>>8) - int(r2>>8), int(g1>>8) - int(g2>>8), int(b1>>8) - int(b2>>8)} {
					if d > 1 || d < -1 {
						t.Fatalf("%s: pixel %d,%d: %v, want %v", pf, x, y, got.At(x, y), want.At(x, y))
					}
				}
			}
		}
	}
}
