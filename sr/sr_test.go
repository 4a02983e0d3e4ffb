package sr_test

import (
	"context"
	"errors"
	"image"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/classical"
)

func TestCheckFrames(t *testing.T) {
	spec := sr.Spec{In: image.Pt(4, 2), Out: image.Pt(8, 4)}
	in, out := frame.New(4, 2), frame.New(8, 4)
	ok := []*frame.Frame{in, in}
	okDst := []*frame.Frame{out, out}
	if err := sr.CheckFrames(false, spec, okDst, ok); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		closed   bool
		dst, src []*frame.Frame
		want     error
	}{
		"closed":         {true, okDst, ok, sr.ErrClosed},
		"counts differ":  {false, okDst[:1], ok, sr.ErrFrameSize},
		"source size":    {false, okDst, []*frame.Frame{in, frame.New(2, 4)}, sr.ErrFrameSize},
		"target size":    {false, []*frame.Frame{out, frame.New(8, 5)}, ok, sr.ErrFrameSize},
		"swapped frames": {false, ok, okDst, sr.ErrFrameSize},
	} {
		if err := sr.CheckFrames(c.closed, spec, c.dst, c.src); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

// TestUpscalerChecks: an upscaler (here the classical one) refuses wrong sizes and works no more
// once closed.
func TestUpscalerChecks(t *testing.T) {
	b, err := classical.New("lanczos")
	if err != nil {
		t.Fatal(err)
	}
	u, err := b.NewUpscaler(sr.Spec{In: image.Pt(4, 2), Out: image.Pt(8, 4)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := u.Upscale(ctx, []*frame.Frame{frame.New(8, 4)}, []*frame.Frame{frame.New(4, 3)}); !errors.Is(err, sr.ErrFrameSize) {
		t.Errorf("wrong size: %v", err)
	}
	u.Close()
	if err := u.Upscale(ctx, []*frame.Frame{frame.New(8, 4)}, []*frame.Frame{frame.New(4, 2)}); !errors.Is(err, sr.ErrClosed) {
		t.Errorf("closed: %v", err)
	}
}
