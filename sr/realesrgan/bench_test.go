package realesrgan

import (
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
)

// convFLOPsPerPixel returns 2*Cout*(Cin/group)*kh*kw summed over the model's Conv nodes, i.e. the
// conv FLOPs per output pixel if every conv runs at the input resolution (true of x4fast, whose
// only upscaling is the final DepthToSpace). It reads the ONNX file with protowire.
func convFLOPsPerPixel(path string) (int64, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	var graph []byte
	if err := walk(data, func(num protowire.Number, _ uint64, b []byte) {
		if num == 7 { // ModelProto.graph
			graph = b
		}
	}); err != nil {
		return 0, err
	}
	weights := map[string]int64{} // initializer name -> element count
	var convWeights []string
	err = walk(graph, func(num protowire.Number, _ uint64, b []byte) {
		switch num {
		case 5: // GraphProto.initializer (TensorProto)
			var name string
			n := int64(1)
			walk(b, func(num protowire.Number, v uint64, b []byte) {
				switch {
				case num == 1 && b == nil: // dims, unpacked
					n *= int64(v)
				case num == 1: // dims, packed
					for len(b) > 0 {
						d, l := protowire.ConsumeVarint(b)
						if l < 0 {
							return
						}
						n *= int64(d)
						b = b[l:]
					}
				case num == 8:
					name = string(b)
				}
			})
			weights[name] = n
		case 1: // GraphProto.node
			var op string
			var inputs []string
			walk(b, func(num protowire.Number, _ uint64, b []byte) {
				switch num {
				case 1:
					inputs = append(inputs, string(b))
				case 4:
					op = string(b)
				}
			})
			// Depthwise 1x1 convolutions are how the converter writes PReLU (sr/ncnn
			// PReLUDepthwise): elementwise work, not the model's convolutions.
			if op == "Conv" && len(inputs) > 1 && !strings.HasSuffix(inputs[1], ".neg") && !strings.HasSuffix(inputs[1], ".1-slope") {
				convWeights = append(convWeights, inputs[1])
			}
		}
	})
	if err != nil {
		return 0, err
	}
	var flops int64
	for _, w := range convWeights {
		n, ok := weights[w]
		if !ok {
			return 0, fmt.Errorf("conv weight %q is not an initializer", w)
		}
		flops += 2 * n
	}
	return flops, nil
}

// walk calls fn for each field of a protobuf message: varints and fixed values in v, length-delimited
// fields in b (nil for the others).
func walk(msg []byte, fn func(num protowire.Number, v uint64, b []byte)) error {
	for len(msg) > 0 {
		num, typ, n := protowire.ConsumeTag(msg)
		if n < 0 {
			return protowire.ParseError(n)
		}
		msg = msg[n:]
		switch typ {
		case protowire.VarintType:
			v, n := protowire.ConsumeVarint(msg)
			if n < 0 {
				return protowire.ParseError(n)
			}
			fn(num, v, nil)
			msg = msg[n:]
		case protowire.BytesType:
			b, n := protowire.ConsumeBytes(msg)
			if n < 0 {
				return protowire.ParseError(n)
			}
			fn(num, 0, b)
			msg = msg[n:]
		case protowire.Fixed32Type:
			fn(num, uint64(binary.LittleEndian.Uint32(msg)), nil)
			msg = msg[4:]
		case protowire.Fixed64Type:
			fn(num, binary.LittleEndian.Uint64(msg), nil)
			msg = msg[8:]
		default:
			return fmt.Errorf("unsupported wire type %d", typ)
		}
	}
	return nil
}

// benchUpscale reports per-frame time and the achieved conv GFLOP/s (FLOPs counted over the padded
// tiles actually run) for b at each size.
func benchUpscale(b *testing.B, be *Backend, flopsPerPx int64, sizes []image.Point, tile int) {
	for _, in := range sizes {
		name := fmt.Sprintf("%dx%d", in.X, in.Y)
		if tile > 0 {
			name += fmt.Sprintf("/tile%d", tile)
		}
		b.Run(name, func(b *testing.B) {
			src := randomFrame(in.X, in.Y, 1)
			spec := sr.Spec{In: in, Out: in.Mul(be.Scale())}
			u, err := be.newUpscaler(spec, tile)
			if err != nil {
				b.Fatal(err)
			}
			defer u.Close()
			var padded int64
			for _, t := range u.tiles {
				padded += int64(t.buf.pw * t.buf.ph)
			}
			dst := []*frame.Frame{frame.New(spec.Out.X, spec.Out.Y)}
			ctx := context.Background()
			if err := u.Upscale(ctx, dst, []*frame.Frame{src}); err != nil { // warm-up: arena, kernels
				b.Fatal(err)
			}
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				if err := u.Upscale(ctx, dst, []*frame.Frame{src}); err != nil {
					b.Fatal(err)
				}
			}
			sec := time.Since(start).Seconds()
			b.ReportMetric(float64(flopsPerPx*padded)*float64(b.N)/sec/1e9, "GFLOP/s")
			b.ReportMetric(float64(len(u.tiles)), "tiles")
		})
	}
}

var benchSizes = []image.Point{{160, 90}, {320, 180}, {640, 360}}

// BenchmarkX4Fast measures realesrgan-x4fast per frame on the CPU with auto tiling and all cores.
// Compare GFLOP/s with sr/ort's BenchmarkMatMul.
func BenchmarkX4Fast(b *testing.B) {
	be := openNamed(b, X4Fast)
	flops, err := convFLOPsPerPixel(be.model.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("x4fast: %.3f MFLOP per padded input pixel", float64(flops)/1e6)
	benchUpscale(b, be, flops, benchSizes, 0)
}

// BenchmarkX4FastTile measures how the tile size affects x4fast at 640x360 (auto picks one tile).
func BenchmarkX4FastTile(b *testing.B) {
	be := openNamed(b, X4Fast)
	flops, err := convFLOPsPerPixel(be.model.Path)
	if err != nil {
		b.Fatal(err)
	}
	for _, tile := range []int{64, 128, 200, 320} {
		benchUpscale(b, be, flops, benchSizes[2:], tile)
	}
}

func TestConvFLOPs(t *testing.T) {
	b := openNamed(t, X4Fast)
	flops, err := convFLOPsPerPixel(b.model.Path)
	if err != nil {
		t.Fatal(err)
	}
	// 3->64, 32 x 64->64, 64->48, all 3x3.
	if want := int64(2 * 9 * (3*64 + 32*64*64 + 64*48)); flops != want {
		t.Fatalf("x4fast: %d FLOPs per pixel, want %d", flops, want)
	}
}
