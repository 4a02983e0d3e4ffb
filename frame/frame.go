// Package frame holds the picture type every stage of ugcsr passes around: planar float32 RGB.
//
// Layout: three planes R, G, B, each W*H float32 values in [0,1], row-major, no padding, in one
// allocation. That is NCHW for batch 1, so ONNX backends copy a frame into a tensor with one copy, and
// the pure-Go resamplers walk contiguous rows. Decoders convert to it once (swscale, the stream's own
// colour matrix and range), encoders convert from it once.
//
// Backends that resample the source's samples as they are (sr.Caps.SourceFormat: the classical
// ones) are handed frames in the source's own planar YUV format instead: Frame.YUV is set and Pix
// is nil, so no colour conversion happens anywhere between decoder and encoder.
package frame

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"

	"github.com/ugcsr/ugcsr/media"
)

// ErrSizeMismatch is returned by PSNR and MaxDiff when the two frames differ in size.
var ErrSizeMismatch = errors.New("frame: sizes differ")

// ErrNotFinite is returned by PSNR and MaxDiff when a frame holds a NaN or infinite sample.
var ErrNotFinite = errors.New("frame: sample is not finite")

// Frame is one decoded picture plus the facts about it that must survive the pipeline.
//
// Ownership moves with the value: whoever holds a *Frame either passes it on or calls Release.
type Frame struct {
	W, H int
	// Pix holds the R, G and B planes back to back; see Plane. It is nil when YUV is set.
	Pix []float32
	// YUV holds the picture in the source's own planar YUV format instead of Pix (nil otherwise).
	YUV *YUV
	// Alpha is the picture's alpha plane, W*H values in [0,1] (0 transparent), or empty when the
	// source has none. Backends never see it: the pipeline resizes it with the classical
	// resampler beside the model's colour. A pooled frame keeps the buffer for its next use.
	Alpha []float32

	// PTS is the presentation timestamp in the source stream's time base. It is carried to the
	// output untouched, which is what keeps variable-frame-rate input variable.
	PTS int64
	// Duration is the frame's duration in the same time base (0 when unknown).
	Duration int64
	// Index is the frame's position in presentation order, counting from 0.
	Index int64

	// Scene counts scene cuts seen before this frame (set by the temporal stage; 0 otherwise).
	Scene int64
	// Dup marks an exact duplicate of the previous frame (set by the temporal stage).
	Dup bool
	// Segment is the Index of the keyframe of the frame's segment: the run of frames of one scene
	// that share per-scene constants such as a SAM2 embedding (set by the temporal stage; 0
	// otherwise, so frames nobody analysed form one segment).
	Segment int64
	// SegmentKey is the segment's keyframe when the job did not start at it: a resumed or
	// scaled-out run that begins inside a segment decodes that keyframe once, so per-scene
	// constants come from the same frame as in a run from the start (nil otherwise). It is shared
	// by the run's frames of that segment and outside any pool; read-only.
	SegmentKey *Frame
	// Keyframe marks a frame the decoder can start at (the codec's key frame, set by decode).
	Keyframe bool

	pool *Pool
}

// New allocates a frame of w x h outside any pool.
func New(w, h int) *Frame {
	return &Frame{W: w, H: h, Pix: make([]float32, 3*w*h)}
}

// Size returns the frame's size as an image.Point.
func (f *Frame) Size() image.Point { return image.Pt(f.W, f.H) }

// Plane returns channel c (0 R, 1 G, 2 B) as a slice of W*H values. The slice aliases Pix.
func (f *Frame) Plane(c int) []float32 {
	n := f.W * f.H
	return f.Pix[c*n : (c+1)*n : (c+1)*n]
}

// CopyMeta copies timestamps and temporal facts from src, leaving pixels and size alone.
func (f *Frame) CopyMeta(src *Frame) {
	f.PTS, f.Duration, f.Index, f.Scene, f.Dup, f.Segment = src.PTS, src.Duration, src.Index, src.Scene, src.Dup, src.Segment
	f.SegmentKey, f.Keyframe = src.SegmentKey, src.Keyframe
}

// SegmentKeyframe returns the frame per-scene constants of f's segment are computed from:
// SegmentKey when set, else f itself.
func (f *Frame) SegmentKeyframe() *Frame {
	if f.SegmentKey != nil {
		return f.SegmentKey
	}
	return f
}

// Release hands the frame back to its pool. Frames without a pool are left to the GC. The frame must
// not be used afterwards. Release is nil-safe.
func (f *Frame) Release() {
	if f == nil || f.pool == nil {
		return
	}
	f.pool.put(f)
}

// At returns the pixel at (x, y) as 8-bit RGB, rounding and clamping.
func (f *Frame) At(x, y int) color.RGBA {
	i := y*f.W + x
	n := f.W * f.H
	return color.RGBA{R: To8(f.Pix[i]), G: To8(f.Pix[n+i]), B: To8(f.Pix[2*n+i]), A: 255}
}

// To8 converts a [0,1] sample to 8 bits: v*255+0.5, truncated, clamped to 0..255.
func To8(v float32) uint8 {
	v = v*255 + 0.5
	if v <= 0 {
		return 0
	}
	if v >= 255 {
		return 255
	}
	return uint8(v)
}

// ToRGBA converts the frame to an 8-bit image (for PNG output and tests).
func (f *Frame) ToRGBA() *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.W, f.H))
	n := f.W * f.H
	for i := 0; i < n; i++ {
		p := img.Pix[4*i : 4*i+4 : 4*i+4]
		p[0], p[1], p[2], p[3] = To8(f.Pix[i]), To8(f.Pix[n+i]), To8(f.Pix[2*n+i]), 255
	}
	return img
}

// FromImage converts any image.Image to a frame (8-bit samples divided by 255).
func FromImage(img image.Image) *Frame {
	b := img.Bounds()
	f := New(b.Dx(), b.Dy())
	n := f.W * f.H
	for y := 0; y < f.H; y++ {
		for x := 0; x < f.W; x++ {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			i := y*f.W + x
			f.Pix[i] = float32(r>>8) / 255
			f.Pix[n+i] = float32(g>>8) / 255
			f.Pix[2*n+i] = float32(bl>>8) / 255
		}
	}
	return f
}

// Pool recycles frames of one size and format. It is safe for concurrent use.
type Pool struct {
	w, h   int
	planes media.Planes // valid for a pool of YUV frames
	p      sync.Pool
}

// NewPool returns a pool of w x h float RGB frames.
func NewPool(w, h int) *Pool {
	return &Pool{w: w, h: h}
}

// NewYUVPool returns a pool of w x h frames in the planar YUV format p (see NewYUV).
func NewYUVPool(w, h int, p media.Planes) *Pool {
	return &Pool{w: w, h: h, planes: p}
}

// Get returns a frame of the pool's size with undefined pixels, zeroed metadata and no alpha.
func (p *Pool) Get() *Frame {
	if v := p.p.Get(); v != nil {
		f := v.(*Frame)
		f.CopyMeta(&Frame{})
		f.Alpha = f.Alpha[:0] // keep the buffer, but no alpha until someone sets it
		return f
	}
	var f *Frame
	if p.planes.Valid() {
		f = NewYUV(p.w, p.h, p.planes)
	} else {
		f = New(p.w, p.h)
	}
	f.pool = p
	return f
}

func (p *Pool) put(f *Frame) {
	if f.W != p.w || f.H != p.h || (f.YUV == nil) == p.planes.Valid() || (f.YUV != nil && f.YUV.Planes != p.planes) {
		return // resized by someone: drop rather than poison the pool
	}
	p.p.Put(f)
}

// String describes the frame for logs.
func (f *Frame) String() string {
	return fmt.Sprintf("frame #%d %dx%d pts=%d", f.Index, f.W, f.H, f.PTS)
}

// SetAlpha gives the frame an alpha plane of its size, reusing its buffer, and returns it for
// filling.
func (f *Frame) SetAlpha() []float32 {
	n := f.W * f.H
	if cap(f.Alpha) < n {
		f.Alpha = make([]float32, n)
	}
	f.Alpha = f.Alpha[:n:n]
	return f.Alpha
}
