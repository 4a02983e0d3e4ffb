package encode_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/media"
)

// TestOpenFromDescription: encode needs no decoder, only a media.Input; what it describes reaches
// the output (time base, frame rate, scaled SAR, colour, tags).
func TestOpenFromDescription(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mkv")
	in := media.Input{
		Metadata: []media.Tag{{Key: "title", Value: "described"}},
		Video: media.Video{
			Width: 64, Height: 48,
			TimeBase: media.Rational{Num: 1, Den: 25}, FrameRate: media.Rational{Num: 25, Den: 1},
			SampleAspectRatio: media.Rational{Num: 1, Den: 1},
			Color:             media.Color{Space: media.ColorSpaceBT709, Range: media.ColorRangeLimited, Primaries: media.ColorPrimariesBT709, Transfer: media.ColorTransferBT709},
			Metadata:          []media.Tag{{Key: "language", Value: "fre"}},
		},
	}
	e, err := encode.Open(encode.Options{Output: out, Codec: "ffv1"}, in, 128, 48)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(0); i < 3; i++ {
		f := frame.New(128, 48)
		f.PTS = i
		if err := e.Encode(f); err != nil {
			e.Close(false)
			t.Fatal(err)
		}
	}
	if err := e.Close(true); err != nil {
		t.Fatal(err)
	}
	p := mediatest.FFprobe(t, out, nil, "-count_frames")
	s := p.Streams[0]
	if s.Width != 128 || s.Height != 48 || s.SAR != "1:2" || s.ColorSpace != "bt709" || s.NbReadFrames != "3" || s.Tags["language"] != "fre" {
		t.Errorf("stream %+v", s)
	}
	if p.Format.Tags["title"] != "described" {
		t.Errorf("container tags %v", p.Format.Tags)
	}
}

// TestOpenRejectsForeignStreams: a stream to copy must carry decode's codec parameters; Open says
// so and leaves no file behind.
func TestOpenRejectsForeignStreams(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mkv")
	in := media.Input{
		Video:       media.Video{Width: 64, Height: 48, TimeBase: media.Rational{Num: 1, Den: 25}},
		Passthrough: []media.Stream{{Index: 1, Type: "audio", Codec: "aac"}},
	}
	if e, err := encode.Open(encode.Options{Output: out, Codec: "ffv1"}, in, 64, 48); err == nil {
		e.Close(false)
		t.Fatal("Open accepted a stream without codec parameters")
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), "*")); len(left) != 0 {
		t.Fatalf("files left: %v", left)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatalf("output exists: %v", err)
	}
}

// TestFinishAbandonedWhenCancelled: Finish flushes the encoder's delayed frames (x264's lookahead)
// unless its context ends: then nothing is left, neither the output nor its temporary file. With
// a live context it finalises as Close(true) does.
func TestFinishAbandonedWhenCancelled(t *testing.T) {
	in := media.Input{Video: media.Video{Width: 64, Height: 48, TimeBase: media.Rational{Num: 1, Den: 25},
		FrameRate: media.Rational{Num: 25, Den: 1}}}
	for _, cancelled := range []bool{true, false} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.mp4")
		e, err := encode.Open(encode.Options{Output: out}, in, 64, 48)
		if err != nil {
			t.Fatal(err)
		}
		for i := int64(0); i < 10; i++ {
			f := frame.New(64, 48)
			f.PTS = i
			if err := e.Encode(f); err != nil {
				e.Close(false)
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		if cancelled {
			cancel()
		}
		err = e.Finish(ctx)
		cancel()
		left, _ := filepath.Glob(filepath.Join(dir, "*"))
		hidden, _ := filepath.Glob(filepath.Join(dir, ".*"))
		switch {
		case cancelled && (!errors.Is(err, context.Canceled) || len(left)+len(hidden) != 0):
			t.Fatalf("cancelled Finish: %v, files left %v %v", err, left, hidden)
		case !cancelled && (err != nil || len(left) != 1 || len(hidden) != 0):
			t.Fatalf("Finish: %v, files %v %v", err, left, hidden)
		}
	}
}
