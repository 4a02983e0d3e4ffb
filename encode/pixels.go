package encode

/*
#include <libavutil/frame.h>
#include <libswscale/swscale.h>
struct SwsContext *ugcsr_sws_from_float(int w, int h, int fmt, int colorspace, int full_range);
int ugcsr_float_to_frame(struct SwsContext *c, AVFrame *dst, const float *r, const float *g, const float *b, int w, int h);
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/frame"
)

// swsFromFloat converts planar float RGB to the encoder's YUV format, once per frame.
type swsFromFloat struct{ c *C.struct_SwsContext }

func newSwsFromFloat(w, h int, pf astiav.PixelFormat, colorspace int) (*swsFromFloat, error) {
	c := C.ugcsr_sws_from_float(C.int(w), C.int(h), C.int(pf), C.int(colorspace), 0)
	if c == nil {
		return nil, fmt.Errorf("encode: swscale cannot convert RGB to %s at %dx%d", pf, w, h)
	}
	return &swsFromFloat{c: c}, nil
}

func (s *swsFromFloat) convert(dst *astiav.Frame, f *frame.Frame) error {
	r, g, b := f.Plane(0), f.Plane(1), f.Plane(2)
	n := C.ugcsr_float_to_frame(s.c, (*C.AVFrame)(dst.UnsafePointer()),
		(*C.float)(unsafe.Pointer(&r[0])), (*C.float)(unsafe.Pointer(&g[0])), (*C.float)(unsafe.Pointer(&b[0])),
		C.int(f.W), C.int(f.H))
	if n < 0 {
		return fmt.Errorf("encode: convert frame: %w", astiav.Error(n))
	}
	return nil
}

func (s *swsFromFloat) free() {
	if s.c != nil {
		C.sws_freeContext(s.c)
		s.c = nil
	}
}

// writeRGB fills a packed rgb24/rgb48 frame in Go, rounding exactly as frame.To8 does, so a model's
// 8-bit output survives a PNG bit for bit.
func writeRGB(dst *astiav.Frame, f *frame.Frame) {
	av := (*C.AVFrame)(dst.UnsafePointer())
	stride := int(av.linesize[0])
	data := unsafe.Slice((*byte)(av.data[0]), stride*f.H)
	r, g, b := f.Plane(0), f.Plane(1), f.Plane(2)
	deep := dst.PixelFormat() == astiav.PixelFormatRgb48Le
	for y := 0; y < f.H; y++ {
		row := data[y*stride:]
		for x := 0; x < f.W; x++ {
			i := y*f.W + x
			if deep {
				put16(row[6*x:], r[i])
				put16(row[6*x+2:], g[i])
				put16(row[6*x+4:], b[i])
				continue
			}
			row[3*x], row[3*x+1], row[3*x+2] = frame.To8(r[i]), frame.To8(g[i]), frame.To8(b[i])
		}
	}
}

func put16(b []byte, v float32) {
	v = v*65535 + 0.5
	u := uint16(0)
	if v >= 65535 {
		u = 65535
	} else if v > 0 {
		u = uint16(v)
	}
	b[0], b[1] = byte(u), byte(u>>8)
}

// pickPixFmt validates -pix_fmt against the encoder, defaulting to yuv420p (rgb24 for PNG).
func pickPixFmt(name string, c *astiav.Codec) (astiav.PixelFormat, error) {
	supported := c.PixelFormats()
	if name == "" {
		want := []astiav.PixelFormat{astiav.PixelFormatYuv420P, astiav.PixelFormatRgb24}
		for _, w := range want {
			for _, p := range supported {
				if p == w {
					return p, nil
				}
			}
		}
		if len(supported) > 0 {
			return supported[0], nil
		}
		return astiav.PixelFormatYuv420P, nil
	}
	pf := astiav.FindPixelFormatByName(name)
	if pf == astiav.PixelFormatNone {
		return pf, fmt.Errorf("encode: unknown pixel format %q", name)
	}
	if len(supported) == 0 {
		return pf, nil
	}
	for _, p := range supported {
		if p == pf {
			return pf, nil
		}
	}
	return pf, fmt.Errorf("encode: %s cannot encode pixel format %s", c.Name(), name)
}

// scaledSAR keeps the displayed aspect: a non-uniform resize changes the sample aspect ratio the
// way FFmpeg's scale filter does.
func scaledSAR(in decode.Info, w, h int) astiav.Rational {
	sar := in.SampleAspectRatio
	if sar.Num() <= 0 || sar.Den() <= 0 {
		return astiav.NewRational(0, 1)
	}
	num := int64(sar.Num()) * int64(h) * int64(in.Width)
	den := int64(sar.Den()) * int64(w) * int64(in.Height)
	g := gcd(num, den)
	num, den = num/g, den/g
	for num > 1<<30 || den > 1<<30 {
		num, den = num>>1, den>>1
	}
	return astiav.NewRational(int(num), int(den))
}

func gcd(a, b int64) int64 {
	for b != 0 {
		a, b = b, a%b
	}
	if a == 0 {
		return 1
	}
	return a
}

type colorspaceChoice struct {
	space     astiav.ColorSpace
	primaries astiav.ColorPrimaries
	trc       astiav.ColorTransferCharacteristic
	sws       int
}

// outputColorspace tags the output with the input's colour description, defaulting to BT.709 for
// HD (what the decoder assumed for untagged input) and BT.601 below.
func outputColorspace(in decode.Info) colorspaceChoice {
	c := colorspaceChoice{space: in.ColorSpace, primaries: in.ColorPrimaries, trc: in.ColorTRC}
	switch in.ColorSpace {
	case astiav.ColorSpaceBt709:
		c.sws = 1
	case astiav.ColorSpaceBt470Bg, astiav.ColorSpaceSmpte170M:
		c.sws = 5
	case astiav.ColorSpaceBt2020Ncl, astiav.ColorSpaceBt2020Cl:
		c.sws = 9
	default:
		if in.Height >= 720 || in.Width >= 1280 {
			c = colorspaceChoice{astiav.ColorSpaceBt709, astiav.ColorPrimariesBt709, astiav.ColorTransferCharacteristicBt709, 1}
		} else {
			c = colorspaceChoice{astiav.ColorSpaceSmpte170M, astiav.ColorPrimariesSmpte170M, astiav.ColorTransferCharacteristicSmpte170M, 5}
		}
	}
	if c.primaries == astiav.ColorPrimariesUnspecified || c.primaries == 0 {
		c.primaries = astiav.ColorPrimariesBt709
	}
	if c.trc == astiav.ColorTransferCharacteristicUnspecified || c.trc == 0 {
		c.trc = astiav.ColorTransferCharacteristicBt709
	}
	return c
}
