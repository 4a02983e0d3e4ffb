package decode_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/media"
)

// TestSourceFormat: with Options.SourceFormat, frames keep the source's planar YUV samples, every one
// at the size and format Info reports, across a mid-stream size change (96x64 to 64x48); full-range input stays on
// float RGB. Solid colours make the expected samples known: ffmpeg's color source writes red as
// BT.601 limited-range Y 81, Cb 90, Cr 240 and blue as Y 41, Cb 240, Cr 110.
func TestSourceFormat(t *testing.T) {
	dir := t.TempDir()
	a, b, in := filepath.Join(dir, "a.h264"), filepath.Join(dir, "b.h264"), filepath.Join(dir, "in.h264")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "color=c=red:s=96x64:r=25:d=0.2", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", a)
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "color=c=blue:s=64x48:r=25:d=0.2", "-c:v", "libx264", "-qp", "0", "-pix_fmt", "yuv420p", b)
	ab, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	bb, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, append(ab, bb...), 0o644); err != nil {
		t.Fatal(err)
	}

	d, err := decode.Open(context.Background(), decode.Options{Input: in, SourceFormat: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if p := d.Info().Video.Planes; p != (media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 8}) {
		t.Fatalf("yuv420p described as %+v", p)
	}
	v := d.Info().Video
	want := [][3]int{{81, 90, 240}, {41, 240, 110}}
	n := 0
	for {
		f, err := d.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if f.YUV == nil || f.Pix != nil || f.W != v.Width || f.H != v.Height || len(f.YUV.Pix8) != v.Width*v.Height*3/2 {
			t.Fatalf("frame %d: %dx%d, YUV %v: want %dx%d yuv420p planes only", n, f.W, f.H, f.YUV != nil, v.Width, v.Height)
		}
		w := want[min(n/5, 1)]
		for c := 0; c < 3; c++ {
			pl := f.YUV.Plane8(c)
			for i, v := range pl { // swscale's Lanczos may ring a step or two at the edges, not more
				if d := int(v) - w[c]; d < -2 || d > 2 {
					t.Fatalf("frame %d plane %d sample %d: %d, want %d", n, c, i, v, w[c])
				}
			}
		}
		f.Release()
		n++
	}
	if n != 10 {
		t.Errorf("%d frames, want 10", n)
	}

	full := filepath.Join(dir, "full.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25:d=0.2", "-c:v", "mjpeg", "-pix_fmt", "yuvj420p", full)
	d2, err := decode.Open(context.Background(), decode.Options{Input: full, SourceFormat: true})
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	f, err := d2.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if d2.Info().Video.Planes.Valid() || f.YUV != nil || len(f.Pix) != 3*96*64 {
		t.Errorf("full-range input: planes %+v, YUV frame %v; want float RGB", d2.Info().Video.Planes, f.YUV != nil)
	}
	f.Release()
}
