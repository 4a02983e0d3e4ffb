package decode_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/internal/av"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/media"
)

// TestInfo: the description the encoder gets is the input's, in plain values.
func TestInfo(t *testing.T) {
	in := filepath.Join(t.TempDir(), "in.mkv")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=96x64:r=25", "-f", "lavfi", "-i", "sine", "-t", "1",
		"-c:v", "libx264", "-preset", "ultrafast", "-vf", "setsar=4/3", "-colorspace", "bt709", "-color_primaries", "bt709",
		"-color_trc", "bt709", "-c:a", "flac", "-metadata", "title=t", "-metadata:s:a:0", "language=fre", in)
	d, err := decode.Open(context.Background(), decode.Options{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	i := d.Info()
	v := i.Video
	if i.Format != "matroska,webm" || v.Index != 0 || v.Codec != "h264" || v.PixelFormat != "yuv420p" || v.Width != 96 || v.Height != 64 {
		t.Errorf("input %q, video #%d %s %s %dx%d", i.Format, v.Index, v.Codec, v.PixelFormat, v.Width, v.Height)
	}
	r := func(n, d int) media.Rational { return media.Rational{Num: n, Den: d} }
	if v.TimeBase != r(1, 1000) || v.FrameRate != r(25, 1) || v.SampleAspectRatio != r(4, 3) {
		t.Errorf("time base %v, frame rate %v, SAR %v", v.TimeBase, v.FrameRate, v.SampleAspectRatio)
	}
	want := media.Color{Space: media.ColorSpaceBT709, Range: media.ColorRangeLimited, Primaries: media.ColorPrimariesBT709, Transfer: media.ColorTransferBT709}
	if v.Color != want {
		t.Errorf("colour %+v, want %+v", v.Color, want)
	}
	if v.Frames != 25 || v.Duration.Seconds() < 0.99 || v.Duration.Seconds() > 1.1 || v.DisplayMatrix != nil {
		t.Errorf("frames %d, duration %v, display matrix %v", v.Frames, v.Duration, v.DisplayMatrix)
	}
	if !hasTag(i.Metadata, "title", "t") {
		t.Errorf("container tags %v", i.Metadata)
	}
	if len(i.Passthrough) != 1 {
		t.Fatalf("passthrough %+v", i.Passthrough)
	}
	a := i.Passthrough[0]
	if a.Index != 1 || a.Type != "audio" || a.Codec != "flac" || a.SampleRate != 44100 || a.Channels != 1 || a.TimeBase != r(1, 1000) || !hasTag(a.Metadata, "language", "fre") {
		t.Errorf("audio %+v", a)
	}
	if p, ok := a.CodecParameters.(av.CodecParameters); !ok || p.CodecParameters == nil {
		t.Errorf("codec parameters %T", a.CodecParameters)
	}
}

func hasTag(tags []media.Tag, k, v string) bool {
	for _, t := range tags {
		if t.Key == k && t.Value == v {
			return true
		}
	}
	return false
}
