package diffusion

import (
	"context"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
	"github.com/ugcsr/ugcsr/sr/onnx"
)

// TestCountMACs counts a graph with a Conv, a reshape through an exporter-style
// Shape/Gather/Concat chain, a MatMul and a Gemm, for a symbolic input size given at count time.
func TestCountMACs(t *testing.T) {
	g := onnx.NewGraph("macs")
	g.Input("x", onnx.Float, 1, 3, -1, -1)
	g.Output("y", onnx.Float, -1, 16)
	g.Output("z", onnx.Float, 4, 5)
	g.Initializer("w", onnx.Float, []int64{8, 3, 3, 3}, make([]float32, 8*27))
	g.Initializer("m", onnx.Float, []int64{8, 16}, make([]float32, 128))
	g.Initializer("a", onnx.Float, []int64{4, 16}, make([]float32, 64))
	g.Initializer("b", onnx.Float, []int64{5, 16}, make([]float32, 80))
	g.Initializer("i01", onnx.Int64, []int64{2}, []int64{0, 1})
	g.Initializer("minus1", onnx.Int64, []int64{1}, []int64{-1})
	g.Initializer("flat", onnx.Int64, []int64{2}, []int64{-1, 16})
	g.Node("Conv", []string{"x", "w"}, []string{"c"}, onnx.AttrInts("kernel_shape", 3, 3), onnx.AttrInts("pads", 1, 1, 1, 1), onnx.AttrInts("strides", 2, 2))
	g.Node("Shape", []string{"c"}, []string{"cs"})
	g.Node("Gather", []string{"cs", "i01"}, []string{"nc"}, onnx.AttrInt("axis", 0))
	g.Node("Concat", []string{"nc", "minus1"}, []string{"shape3"}, onnx.AttrInt("axis", 0))
	g.Node("Reshape", []string{"c", "shape3"}, []string{"r"})
	g.Node("Transpose", []string{"r"}, []string{"tr"}, onnx.AttrInts("perm", 0, 2, 1))
	g.Node("MatMul", []string{"tr", "m"}, []string{"mm"})
	g.Node("Reshape", []string{"mm", "flat"}, []string{"y"})
	g.Node("Gemm", []string{"a", "b"}, []string{"z"}, onnx.AttrInt("transB", 1))
	b, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "m.onnx")
	os.WriteFile(p, b, 0o644)
	r, err := CountMACs(p, map[string][]int64{"x": {1, 3, 64, 48}})
	if err != nil {
		t.Fatal(err)
	}
	hw := int64(32 * 24) // stride 2, pad 1, kernel 3
	conv, mm, gemm := 8*hw*27, hw*16*8, int64(4*5*16)
	if r.MACs != conv+mm+gemm || r.Counted != 3 || r.Uncounted != 0 ||
		r.ByOp["Conv"] != conv || r.ByOp["MatMul"] != mm || r.ByOp["Gemm"] != gemm {
		t.Errorf("got %+v, want conv %d matmul %d gemm %d", r, conv, mm, gemm)
	}
	// Without the input size the Conv and MatMul are uncounted.
	r, _ = CountMACs(p, nil)
	if r.Counted != 1 || r.Uncounted != 2 {
		t.Errorf("symbolic: %+v", r)
	}
}

func TestBench(t *testing.T) {
	b := openOracle(t, oracle.Options{Kind: oracle.Linear4}, Config{})
	r, err := b.bench(context.Background(), BenchOptions{Tile: 32, Runs: 2, Frame: image.Pt(1280, 720)})
	if err != nil {
		t.Fatal(err)
	}
	t.Log(r)
	// The linear4 denoiser's one Conv encodes the condition: batch 2 x 4 x 32 x 32 outputs, 3x8x8 each.
	if r.MACs != 2*4*32*32*192 || r.MACSource != "graph" || r.Batch != 2 || r.FrameTiles != 3 || r.StepTime <= 0 {
		t.Errorf("%+v", r)
	}
	// Decoder (ConvTranspose) MACs: every input value feeds 3x8x8 outputs.
	rep, err := CountMACs(filepath.Join(oracleBundle(t, oracle.Options{Kind: oracle.Linear4}), "vae_decoder.onnx"),
		map[string][]int64{"latent": {1, 4, 10, 20}})
	if err != nil || rep.MACs != 4*10*20*192 {
		t.Errorf("decoder: %+v %v", rep, err)
	}
}
