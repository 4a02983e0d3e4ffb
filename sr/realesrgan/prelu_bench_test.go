package realesrgan

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// buildSRVGG writes x4fast (SRVGGNetCompact: Conv, PReLU, ..., Conv, PixelShuffle, plus the
// nearest-upsampled input) from its ncnn layers, with PReLU expressed as prelu:
//   - "prelu": the ONNX PRelu op (what sr/ncnn writes when slopes leave [0,1], as x4fast's do);
//   - "dw": y = x + (1-a)*Relu(-x) with the scalings as depthwise 1x1 Convs, which ONNX Runtime's
//     NCHWc transformer keeps blocked (Relu and the Add fuse into them): no layout reorders;
//   - "bn": the same with BatchNormalization nodes (which NCHWc also turns into depthwise convs).
//
// It is a benchmark aid for comparing PReLU expressions, not a converter.
func buildSRVGG(n *ncnn.Net, prelu string) ([]byte, error) {
	g := onnx.NewGraph("srvgg-" + prelu)
	g.Input("input", onnx.Float, 1, 3, -1, -1)
	g.Output("output", onnx.Float, 1, 3, -1, -1)
	x := "input"
	channels := int64(3)
	for i, l := range n.Layers {
		p := fmt.Sprintf("l%d", i)
		switch l.Type {
		case "Input", "Split":
		case "Convolution":
			out := int64(len(l.Weights[1]))
			k := int64(3)
			g.Initializer(p+".w", onnx.Float, []int64{out, channels, k, k}, l.Weights[0])
			g.Initializer(p+".b", onnx.Float, []int64{out}, l.Weights[1])
			x = g.Node("Conv", []string{x, p + ".w", p + ".b"}, []string{p},
				onnx.AttrInts("kernel_shape", k, k), onnx.AttrInts("pads", 1, 1, 1, 1))[0]
			channels = out
		case "PReLU":
			a := l.Weights[0]
			c := int64(len(a))
			switch prelu {
			case "prelu":
				g.Initializer(p+".a", onnx.Float, []int64{c, 1, 1}, a)
				x = g.Node("PRelu", []string{x, p + ".a"}, []string{p})[0]
			case "dw", "bn":
				neg, oneMinus, zero, one := make([]float32, c), make([]float32, c), make([]float32, c), make([]float32, c)
				for j := range a {
					neg[j], oneMinus[j], one[j] = -1, 1-a[j], 1
				}
				var s string
				if prelu == "dw" {
					g.Initializer(p+".neg", onnx.Float, []int64{c, 1, 1, 1}, neg)
					g.Initializer(p+".s", onnx.Float, []int64{c, 1, 1, 1}, oneMinus)
					r := g.Node("Conv", []string{x, p + ".neg"}, []string{p + ".nx"}, onnx.AttrInt("group", c), onnx.AttrInts("kernel_shape", 1, 1))[0]
					r = g.Node("Relu", []string{r}, []string{p + ".r"})[0]
					s = g.Node("Conv", []string{r, p + ".s"}, []string{p + ".sr"}, onnx.AttrInt("group", c), onnx.AttrInts("kernel_shape", 1, 1))[0]
				} else {
					for _, v := range []struct {
						name string
						data []float32
					}{{".neg", neg}, {".s", oneMinus}, {".zero", zero}, {".one", one}} {
						g.Initializer(p+v.name, onnx.Float, []int64{c}, v.data)
					}
					bn := func(in, scale, out string) string {
						return g.Node("BatchNormalization", []string{in, scale, p + ".zero", p + ".zero", p + ".one"}, []string{out}, onnx.AttrFloat("epsilon", 0))[0]
					}
					r := g.Node("Relu", []string{bn(x, p+".neg", p+".nx")}, []string{p + ".r"})[0]
					s = bn(r, p+".s", p+".sr")
				}
				x = g.Node("Add", []string{x, s}, []string{p})[0]
			}
		case "PixelShuffle":
			x = g.Node("DepthToSpace", []string{x}, []string{p}, onnx.AttrInt("blocksize", 4), onnx.AttrString("mode", "CRD"))[0]
			channels /= 16
		case "Interp":
			g.Initializer(p+".scales", onnx.Float, []int64{4}, []float32{1, 1, 4, 4})
			g.Node("Resize", []string{"input", "", p + ".scales"}, []string{p}, onnx.AttrString("mode", "nearest"),
				onnx.AttrString("coordinate_transformation_mode", "asymmetric"), onnx.AttrString("nearest_mode", "floor"))
		case "BinaryOp":
			x = g.Node("Add", []string{x, fmt.Sprintf("l%d", i-1)}, []string{"output"})[0]
		default:
			return nil, fmt.Errorf("layer %v not handled", l.Type)
		}
	}
	return g.Marshal(17)
}

// srvggVariants opens x4fast built each way as a foreign model; it checks each against the converted
// model on a random input (max diff 1/255 allowed for float rounding).
func srvggVariants(tb testing.TB) (map[string]*Backend, func()) {
	lib := ort.TestLoad(tb)
	dir := ModelsDir("")
	n, err := ncnn.ReadFiles(filepath.Join(dir, X4Fast+".param"), filepath.Join(dir, X4Fast+".bin"))
	if err != nil {
		ort.TestSkip(tb, "ncnn models not installed: %v", err)
	}
	ref := openNamed(tb, X4Fast)
	src := randomFrame(40, 24, 3)
	want := upscale(tb, ref, src, 0, src.Size().Mul(4))
	tmp := tb.TempDir()
	bs := map[string]*Backend{}
	for _, v := range []string{"prelu", "dw", "bn"} {
		data, err := buildSRVGG(n, v)
		if err != nil {
			tb.Fatal(err)
		}
		path := filepath.Join(tmp, "x4fast-"+v+".onnx")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		b, err := Open(Config{Model: path, Runtime: ort.Runtime{Library: lib, Device: ort.DeviceCPU}, Options: Options{ModelScale: 4}})
		if err != nil {
			tb.Fatal(err)
		}
		if d := mediatest.MaxDiff(tb, upscale(tb, b, src, 0, src.Size().Mul(4)), want); d > 1 {
			tb.Fatalf("%s: max diff %d from the converted model", v, d)
		}
		bs[v] = b
	}
	return bs, func() {
		for _, b := range bs {
			b.Close()
		}
	}
}

func TestSRVGGVariants(t *testing.T) {
	_, done := srvggVariants(t)
	done()
}

// BenchmarkX4FastPReLU compares PReLU expressions in x4fast (see buildSRVGG) at 320x180, with the
// tile size auto picks for the converted model.
func BenchmarkX4FastPReLU(b *testing.B) {
	bs, done := srvggVariants(b)
	defer done()
	ref := openNamed(b, X4Fast)
	flops, err := convFLOPsPerPixel(ref.model.Path)
	if err != nil {
		b.Fatal(err)
	}
	for _, v := range []string{"prelu", "dw", "bn"} {
		b.Run(v, func(b *testing.B) { benchUpscale(b, bs[v], flops, benchSizes[1:2], ref.AutoTile(benchSizes[1])) })
	}
}
