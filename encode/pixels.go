package encode

import (
	"fmt"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/av"
	"github.com/ugcsr/ugcsr/media"
)

// writeRGB fills a packed rgb24/rgba/rgb48 frame in Go, rounding exactly as frame.To8 does, so a
// model's 8-bit output survives a PNG bit for bit. rgba takes the frame's alpha, opaque without.
func writeRGB(dst *astiav.Frame, f *frame.Frame) {
	stride := dst.Linesize()[0]
	data := av.Plane(dst, 0)
	r, g, b := f.Plane(0), f.Plane(1), f.Plane(2)
	deep := dst.PixelFormat() == astiav.PixelFormatRgb48Le
	rgba := dst.PixelFormat() == astiav.PixelFormatRgba
	alpha := len(f.Alpha) == f.W*f.H
	for y := 0; y < f.H; y++ {
		row := data[y*stride:]
		for x := 0; x < f.W; x++ {
			i := y*f.W + x
			switch {
			case deep:
				put16(row[6*x:], r[i])
				put16(row[6*x+2:], g[i])
				put16(row[6*x+4:], b[i])
			case rgba:
				a := uint8(255)
				if alpha {
					a = frame.To8(f.Alpha[i])
				}
				row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = frame.To8(r[i]), frame.To8(g[i]), frame.To8(b[i]), a
			default:
				row[3*x], row[3*x+1], row[3*x+2] = frame.To8(r[i]), frame.To8(g[i]), frame.To8(b[i])
			}
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

// limitedTwin maps a full-range J format to its limited-range twin.
func limitedTwin(pf astiav.PixelFormat) astiav.PixelFormat {
	switch pf {
	case astiav.PixelFormatYuvj420P:
		return astiav.PixelFormatYuv420P
	case astiav.PixelFormatYuvj422P:
		return astiav.PixelFormatYuv422P
	case astiav.PixelFormatYuvj444P:
		return astiav.PixelFormatYuv444P
	}
	return pf
}

// isJPEGRange reports the full-range ("J") YUV formats.
func isJPEGRange(pf astiav.PixelFormat) bool {
	switch pf {
	case astiav.PixelFormatYuvj420P, astiav.PixelFormatYuvj422P, astiav.PixelFormatYuvj444P, astiav.PixelFormatYuvj440P:
		return true
	}
	return false
}

// pickPixFmt validates -pix_fmt against the encoder. Without one, a YUV input's format is
// followed as ffmpeg follows it (the encoder's format that loses least of it: 10-bit stays 10-bit,
// 4:2:2 and 4:4:4 stay where the encoder has them); full-range J formats count as their
// limited-range twins, since the output is limited range. RGB input to an RGB encoder (PNG) is
// followed too (16-bit stays 16-bit); to a YUV encoder it gets yuv420p, where ffmpeg would give
// libx264 4:4:4, which phones do not play. With alpha (frames carry it), a format with alpha is
// preferred where the encoder has one (rgba for PNG).
func pickPixFmt(name string, c *astiav.Codec, input string, alpha bool) (astiav.PixelFormat, error) {
	supported := c.PixelFormats()
	if name == "" && len(supported) > 0 && c.ID() != astiav.CodecIDMjpeg {
		src := limitedTwin(astiav.FindPixelFormatByName(input))
		yuv := src != astiav.PixelFormatNone && !av.IsRGB(src) && av.PlanesOf(src).Valid()
		if pf := av.BestPixelFormat(supported, src, alpha); pf != astiav.PixelFormatNone && !isJPEGRange(pf) &&
			(yuv || av.IsRGB(src) && av.IsRGB(pf)) { // RGB stays RGB where the encoder has it: 16-bit PNG stays 16-bit
			return pf, nil
		}
	}
	if name == "" {
		want := []astiav.PixelFormat{astiav.PixelFormatYuv420P, astiav.PixelFormatRgb24}
		if c.ID() == astiav.CodecIDMjpeg {
			// JPEG is full range: ffmpeg picks yuvj420p (plain yuv420p needs -strict unofficial).
			want = []astiav.PixelFormat{astiav.PixelFormatYuvj420P}
		}
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

// TakesSourceFormat reports whether Options.SourceFormat can apply to input in: its pixel format is
// planar YUV (media.Video.Planes), PixFmt is unset or that format, the encoder takes it, and the
// colour tags the output gets describe the input's samples as they are.
func TakesSourceFormat(o Options, in media.Video) bool {
	if !in.Planes.Valid() || in.Color.Space == media.ColorSpaceFCC || in.Color.Space == media.ColorSpaceSMPTE240M {
		return false
	}
	of, err := guessFormat(o.Format, o.Output)
	if err != nil {
		return false
	}
	c, err := pickCodec(o, of)
	if err != nil {
		return false
	}
	_, err = sourcePixFmt(o, in, c)
	return err == nil
}

// sourcePixFmt returns the input's pixel format when c can encode it and -pix_fmt asks for no other.
func sourcePixFmt(o Options, in media.Video, c *astiav.Codec) (astiav.PixelFormat, error) {
	if o.PixFmt != "" && o.PixFmt != in.PixelFormat {
		return astiav.PixelFormatNone, fmt.Errorf("encode: -pix_fmt %s is not the input's %s", o.PixFmt, in.PixelFormat)
	}
	pf := astiav.FindPixelFormatByName(in.PixelFormat)
	if pf == astiav.PixelFormatNone || !in.Planes.Valid() {
		return pf, fmt.Errorf("encode: %s is not a planar YUV format", in.PixelFormat)
	}
	if c.ID() == astiav.CodecIDMjpeg && !isJPEGRange(pf) {
		return pf, fmt.Errorf("encode: JPEG takes full-range YUV, not %s", in.PixelFormat)
	}
	for _, p := range c.PixelFormats() {
		if p == pf {
			return pf, nil
		}
	}
	return pf, fmt.Errorf("encode: %s cannot encode pixel format %s", c.Name(), in.PixelFormat)
}

// scaledSAR keeps the displayed aspect: a non-uniform resize changes the sample aspect ratio the
// way FFmpeg's scale filter does.
func scaledSAR(in media.Video, w, h int) media.Rational {
	sar := in.SampleAspectRatio
	if !sar.Valid() {
		return media.Rational{Num: 0, Den: 1}
	}
	num := int64(sar.Num) * int64(h) * int64(in.Width)
	den := int64(sar.Den) * int64(w) * int64(in.Height)
	g := gcd(num, den)
	num, den = num/g, den/g
	for num > 1<<30 || den > 1<<30 {
		num, den = num>>1, den>>1
	}
	return media.Rational{Num: int(num), Den: int(den)}
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
	space     media.ColorSpace
	primaries media.ColorPrimaries
	trc       media.ColorTransfer
	sws       int
}

// outputColorspace tags the output with the input's colour description, defaulting to BT.709 for
// HD (what the decoder assumed for untagged input) and BT.601 below. FCC and SMPTE 240M input,
// which the decoder reads with their own matrices, is written as if untagged.
func outputColorspace(in media.Video) colorspaceChoice {
	c := colorspaceChoice{space: in.Color.Space, primaries: in.Color.Primaries, trc: in.Color.Transfer}
	var known bool
	c.sws, known = av.SwsColorspace(c.space)
	if !known || c.space == media.ColorSpaceFCC || c.space == media.ColorSpaceSMPTE240M {
		c.space = av.DefaultColorSpace(in.Width, in.Height)
		c.primaries, c.trc = media.ColorPrimariesSMPTE170M, media.ColorTransferSMPTE170M
		if c.space == media.ColorSpaceBT709 {
			c.primaries, c.trc = media.ColorPrimariesBT709, media.ColorTransferBT709
		}
		c.sws, _ = av.SwsColorspace(c.space)
	}
	if c.primaries == media.ColorPrimariesUnspecified || c.primaries == 0 {
		c.primaries = media.ColorPrimariesBT709
	}
	if c.trc == media.ColorTransferUnspecified || c.trc == 0 {
		c.trc = media.ColorTransferBT709
	}
	return c
}

// isHDR reports the high-dynamic-range transfers: PQ (SMPTE ST 2084) and HLG (ARIB STD-B67).
func isHDR(t media.ColorTransfer) bool {
	return t == media.ColorTransferSMPTE2084 || t == media.ColorTransferARIBSTDB67
}

func transferName(t media.ColorTransfer) string {
	_, _, _, name := av.ColorNames(media.Color{Transfer: t})
	return name
}
