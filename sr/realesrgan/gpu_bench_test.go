package realesrgan

import (
	"context"
	"fmt"
	"image"
	"os"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// BenchmarkGPUThroughput measures the model alone for 1280x720 input at x2 output (2560x1440),
// the figure scripts/gpu-check.sh reports: the device is -device, the precision
// $UGCSR_BENCH_PRECISION (default: the device's, fp16 on CUDA), the model $UGCSR_BENCH_MODEL
// (default realesrgan-x4fast). It reports frames per second over b.N frames after one warm-up.
func BenchmarkGPUThroughput(b *testing.B) {
	model := os.Getenv("UGCSR_BENCH_MODEL")
	if model == "" {
		model = X4Fast
	}
	dev, err := ort.ParseDevice(*testDevice)
	if err != nil {
		b.Fatal(err)
	}
	be, err := Open(Config{Model: model, Options: Options{Precision: os.Getenv("UGCSR_BENCH_PRECISION")},
		Runtime: ort.Runtime{Device: dev}, Logf: b.Logf})
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	in, out := image.Pt(1280, 720), image.Pt(2560, 1440)
	u, err := be.NewUpscaler(sr.Spec{In: in, Out: out})
	if err != nil {
		b.Fatal(err)
	}
	defer u.Close()
	src, dst := randomFrame(in.X, in.Y, 1), frame.New(out.X, out.Y)
	ctx := context.Background()
	run := func() {
		if err := u.Upscale(ctx, []*frame.Frame{dst}, []*frame.Frame{src}); err != nil {
			b.Fatal(err)
		}
	}
	run() // sessions, allocations, cuDNN algorithm search
	b.ResetTimer()
	for range b.N {
		run()
	}
	fps := float64(b.N) / b.Elapsed().Seconds()
	b.ReportMetric(fps, "fps")
	fmt.Printf("gpu-check: %s %s on %s, 1280x720 -> 2560x1440: %.2f fps (%d frames)\n", model, be.cfg.Precision, be.Device(), fps, b.N)
}
