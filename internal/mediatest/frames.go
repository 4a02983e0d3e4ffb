package mediatest

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
)

// DecodeFrames decodes up to max frames of path (all when max is 0) into frames of their own,
// outside any pool, for comparisons.
func DecodeFrames(t testing.TB, path string, max int64) []*frame.Frame {
	t.Helper()
	return DecodeFramesWith(t, decode.Options{Input: path, MaxFrames: max})
}

// DecodeFramesWith is DecodeFrames with any decoder options (a start time, say).
func DecodeFramesWith(t testing.TB, o decode.Options) []*frame.Frame {
	t.Helper()
	ctx := context.Background()
	d, err := decode.Open(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var out []*frame.Frame
	for {
		f, err := d.Read(ctx)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		c := frame.New(f.W, f.H)
		copy(c.Pix, f.Pix)
		c.CopyMeta(f)
		f.Release()
		out = append(out, c)
	}
}
