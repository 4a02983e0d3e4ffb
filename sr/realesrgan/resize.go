package realesrgan

import (
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// Values of Options.Resize.
const (
	// ResizeGo resamples the native result to the requested size in Go, with the antialiased
	// Lanczos-3 of package sr/resample (Pillow's conventions, as the reference tools use), after
	// the output tensor has crossed back to the host at native size.
	ResizeGo = "go"
	// ResizeGraph resamples inside the model run: the converted model gets graphResize appended,
	// so only the requested size leaves the device. Its filter is ONNX Resize's antialiased cubic
	// (a = -0.5, Pillow's BICUBIC), not Lanczos-3. It needs whole frames (one tile; with more, the
	// upscaler falls back to ResizeGo) and a converted ncnn model.
	ResizeGraph = "graph"
)

// DefaultResize is the resize an unset Options.Resize takes on device d: ResizeGraph on CUDA and
// TensorRT, where a 5120x2880 float frame would otherwise cross the bus, ResizeGo on the CPU,
// where it is exact to the reference's conventions.
func DefaultResize(d ort.Device) string {
	if onGPU(d) {
		return ResizeGraph
	}
	return ResizeGo
}

// SizeName is the extra input of a model converted for ResizeGraph: int64 [4], the output shape
// [N, 3, height, width].
const SizeName = "size"

// graphResize returns the ncnn Options.Append that turns a converted model's float32 result
// [N,3,scale*(H+2p),scale*(W+2p)] (p = Prepadding) into the requested output: it crops the
// scale*p border, quantizes like store (v*255+0.5, floored, clamped to 0..255, /255; NaN is not
// mapped to 0 as store does), resizes to the input SizeName with antialiased cubic (ONNX Resize,
// opset 18: half_pixel coordinates, cubic_coeff_a -0.5, exclude_outside so edge weights are
// renormalized as Pillow does) and clamps to [0,1] as sr/resample does.
func graphResize(scale int) func(g *onnx.Graph, x string) {
	return func(g *onnx.Graph, x string) {
		o := int64(scale * Prepadding)
		g.Input(SizeName, onnx.Int64, 4)
		_ = g.Initializer("tail.starts", onnx.Int64, []int64{2}, []int64{o, o})
		_ = g.Initializer("tail.ends", onnx.Int64, []int64{2}, []int64{-o, -o})
		_ = g.Initializer("tail.axes", onnx.Int64, []int64{2}, []int64{2, 3})
		_ = g.Initializer("tail.255", onnx.Float, nil, []float32{255})
		_ = g.Initializer("tail.half", onnx.Float, nil, []float32{0.5})
		_ = g.Initializer("tail.0", onnx.Float, nil, []float32{0})
		_ = g.Initializer("tail.1", onnx.Float, nil, []float32{1})
		c := g.Node("Slice", []string{x, "tail.starts", "tail.ends", "tail.axes"}, []string{"tail.crop"})
		m := g.Node("Mul", []string{c[0], "tail.255"}, []string{"tail.x255"})
		a := g.Node("Add", []string{m[0], "tail.half"}, []string{"tail.round"})
		f := g.Node("Floor", a, []string{"tail.floor"})
		q := g.Node("Clip", []string{f[0], "tail.0", "tail.255"}, []string{"tail.clip"})
		d := g.Node("Div", []string{q[0], "tail.255"}, []string{"tail.quantized"})
		r := g.Node("Resize", []string{d[0], "", "", SizeName}, []string{"tail.resized"},
			onnx.AttrString("mode", "cubic"),
			onnx.AttrFloat("cubic_coeff_a", -0.5),
			onnx.AttrInt("antialias", 1),
			onnx.AttrInt("exclude_outside", 1),
			onnx.AttrString("coordinate_transformation_mode", "half_pixel"))
		g.Node("Clip", []string{r[0], "tail.0", "tail.1"}, []string{ncnn.OutputName})
	}
}
