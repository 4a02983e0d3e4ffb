package av

import (
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/media"
)

// TestPlanesOf: the planar YUV formats frame.YUV holds, and formats it must refuse.
func TestPlanesOf(t *testing.T) {
	for _, c := range []struct {
		name string
		want media.Planes
	}{
		{"yuv420p", media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 8}},
		{"yuvj420p", media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 8}}, // decode drops it: full range
		{"yuv422p10le", media.Planes{ChromaShiftX: 1, ChromaShiftY: 0, Depth: 10}},
		{"yuv444p", media.Planes{Depth: 8}},
		{"yuv420p12le", media.Planes{ChromaShiftX: 1, ChromaShiftY: 1, Depth: 12}},
		{"yuv410p", media.Planes{ChromaShiftX: 2, ChromaShiftY: 2, Depth: 8}},
		{"yuv420p10be", media.Planes{}}, // big-endian words
		{"nv12", media.Planes{}},        // chroma interleaved in one plane
		{"yuva420p", media.Planes{}},    // alpha
		{"gbrp", media.Planes{}},        // RGB
		{"rgb24", media.Planes{}},
		{"gray", media.Planes{}},
		{"p010le", media.Planes{}}, // samples in the high bits
	} {
		pf := astiav.FindPixelFormatByName(c.name)
		if pf == astiav.PixelFormatNone {
			t.Fatalf("FFmpeg has no %s", c.name)
		}
		if got := PlanesOf(pf); got != c.want {
			t.Errorf("PlanesOf(%s) = %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestPlanesRoundTrip copies planes into AVFrames whose rows are padded (linesize > width, odd
// sizes) and back, for 8 and 10 bits, and checks each sample where FFmpeg's own layout puts it.
func TestPlanesRoundTrip(t *testing.T) {
	for _, name := range []string{"yuv420p", "yuv420p10le", "yuv422p"} {
		pf := astiav.FindPixelFormatByName(name)
		p := PlanesOf(pf)
		const w, h = 33, 7
		in, out := frame.NewYUV(w, h, p).YUV, frame.NewYUV(w, h, p).YUV
		for i := range in.Pix8 {
			in.Pix8[i] = uint8(i*13 + 1)
		}
		for i := range in.Pix16 {
			in.Pix16[i] = uint16(i*37+1) & 1023
		}
		f := astiav.AllocFrame()
		f.SetWidth(w)
		f.SetHeight(h)
		f.SetPixelFormat(pf)
		if err := f.AllocBuffer(0); err != nil {
			t.Fatal(err)
		}
		if err := WritePlanes(f, in); err != nil {
			t.Fatal(err)
		}
		// FFmpeg's own copy of the frame without row padding (av_image_copy_to_buffer, align 1)
		// must be our planes byte for byte.
		if cw, _ := p.Size(1, w, h); f.Linesize()[1] <= cw*(1+p.Depth/9) {
			t.Errorf("%s: chroma linesize %d leaves no padding: the test needs padded rows", name, f.Linesize()[1])
		}
		packed, err := f.Data().Bytes(1)
		if err != nil {
			t.Fatal(err)
		}
		mine := in.Pix8
		for _, v := range in.Pix16 {
			mine = append(mine, byte(v), byte(v>>8))
		}
		if string(packed) != string(mine) {
			t.Errorf("%s: the AVFrame holds other samples than the planes written (%d bytes, want %d)", name, len(packed), len(mine))
		}
		if err := ReadPlanes(out, f); err != nil {
			t.Fatal(err)
		}
		for i := range in.Pix8 {
			if in.Pix8[i] != out.Pix8[i] {
				t.Fatalf("%s: sample %d came back %d, want %d", name, i, out.Pix8[i], in.Pix8[i])
			}
		}
		for i := range in.Pix16 {
			if in.Pix16[i] != out.Pix16[i] {
				t.Fatalf("%s: sample %d came back %d, want %d", name, i, out.Pix16[i], in.Pix16[i])
			}
		}
		if ReadPlanes(frame.NewYUV(w+1, h, p).YUV, f) == nil {
			t.Errorf("%s: a frame of another size: no error", name)
		}
		f.Free()
	}
}
