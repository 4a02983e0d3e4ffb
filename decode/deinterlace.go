package decode

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/asticode/go-astiav"
)

// deinterlacer runs FFmpeg's bwdif filter on interlaced video before it is converted, so the model
// sees whole pictures rather than two combed fields. Mode send_frame gives one frame per frame,
// keeping the frame count and every timestamp (ffmpeg's bwdif default, send_field, would double
// the rate); deint=interlaced passes frames not flagged interlaced through untouched.
type deinterlacer struct {
	graph     *astiav.FilterGraph
	src, sink *astiav.FilterContext
	flushing  bool // the decoder's end was sent
	done      bool // the filter's end came out
}

// newDeinterlacer builds buffer → bwdif → buffersink for frames of cc's size and format.
func newDeinterlacer(cc *astiav.CodecContext, tb astiav.Rational) (x *deinterlacer, err error) {
	x = &deinterlacer{graph: astiav.AllocFilterGraph()}
	defer func() {
		if err != nil {
			x.free()
			x = nil
		}
	}()
	if x.graph == nil {
		return nil, errors.New("decode: cannot allocate filter graph")
	}
	sar := cc.SampleAspectRatio()
	if sar.Num() <= 0 || sar.Den() <= 0 {
		sar = astiav.NewRational(1, 1)
	}
	if x.src, err = x.graph.NewFilterContext(astiav.FindFilterByName("buffer"), "in", astiav.FilterArgs{
		"pix_fmt":      strconv.Itoa(int(cc.PixelFormat())),
		"pixel_aspect": sar.String(),
		"time_base":    tb.String(),
		"video_size":   fmt.Sprintf("%dx%d", cc.Width(), cc.Height()),
	}); err != nil {
		return nil, fmt.Errorf("decode: deinterlace: buffer: %w", err)
	}
	if x.sink, err = x.graph.NewFilterContext(astiav.FindFilterByName("buffersink"), "out", nil); err != nil {
		return nil, fmt.Errorf("decode: deinterlace: buffersink: %w", err)
	}
	outputs, inputs := astiav.AllocFilterInOut(), astiav.AllocFilterInOut()
	defer outputs.Free()
	defer inputs.Free()
	outputs.SetName("in")
	outputs.SetFilterContext(x.src)
	inputs.SetName("out")
	inputs.SetFilterContext(x.sink)
	if err := x.graph.Parse("bwdif=mode=send_frame:parity=auto:deint=interlaced", inputs, outputs); err != nil {
		return nil, fmt.Errorf("decode: deinterlace: %w", err)
	}
	if err := x.graph.Configure(); err != nil {
		return nil, fmt.Errorf("decode: deinterlace: %w", err)
	}
	return x, nil
}

// push hands the filter a decoded frame, whose reference it takes (f is left empty), or with
// f nil the end of the stream.
func (x *deinterlacer) push(f *astiav.Frame) error {
	if f == nil {
		x.flushing = true
	}
	if err := x.src.BuffersrcAddFrame(f, astiav.NewBuffersrcFlags()); err != nil {
		return fmt.Errorf("decode: deinterlace: %w", err)
	}
	return nil
}

// pull puts the next deinterlaced frame in f and reports whether there was one; at the filter's
// end it sets done.
func (x *deinterlacer) pull(f *astiav.Frame) (bool, error) {
	if x.done {
		return false, nil
	}
	if err := x.sink.BuffersinkGetFrame(f, astiav.NewBuffersinkFlags()); err != nil {
		switch {
		case errors.Is(err, astiav.ErrEagain):
			return false, nil
		case errors.Is(err, astiav.ErrEof):
			x.done = true
			return false, nil
		}
		return false, fmt.Errorf("decode: deinterlace: %w", err)
	}
	return true, nil
}

// free releases the graph and its filters; nil-safe.
func (x *deinterlacer) free() {
	if x != nil && x.graph != nil {
		x.graph.Free()
		x.graph = nil
	}
}
