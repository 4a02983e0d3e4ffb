package realesrgan

import (
	"flag"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

var keepOutputs = flag.String("keep", "", "write every golden test's output PNG into this directory")

// TestGolden runs every MANIFEST.txt entry through its model with the entry's tile size and
// compares with realesrgan-ncnn-vulkan's output (fp16 storage on lavapipe): PSNR >= 45 dB. The
// PSNR against the CPU fp32 ncnn reference is logged (and must be at least as good).
func TestGolden(t *testing.T) {
	dir := goldenDir(t)
	entries, err := mediatest.ParseManifest(filepath.Join(dir, "MANIFEST.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) == 0 {
		t.Fatal("MANIFEST.txt has no entries")
	}
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			if !IsModel(e.Model) || strings.HasSuffix(e.Model, ".onnx") {
				t.Fatalf("unknown model %q", e.Model)
			}
			b := openNamed(t, e.Model)
			lr := loadPNG(t, filepath.Join(dir, e.LR))
			want := loadPNG(t, filepath.Join(dir, e.X4))
			if want.Size() != lr.Size().Mul(4) {
				t.Fatalf("golden is %v for a %v input", want.Size(), lr.Size())
			}
			start := time.Now()
			got := upscale(t, b, lr, e.Tile, want.Size())
			elapsed := time.Since(start)
			if *keepOutputs != "" {
				savePNG(t, filepath.Join(*keepOutputs, e.X4), got)
			}
			psnr := mediatest.PSNR(t, got, want)
			msg := fmt.Sprintf("%s %v -t %d: PSNR %.2f dB (max diff %d) vs %s", e.Model, lr.Size(), e.Tile, psnr, mediatest.MaxDiff(t, got, want), e.X4)
			if e.CPUFP32 != "" {
				ref := loadPNG(t, filepath.Join(dir, e.CPUFP32))
				p32 := mediatest.PSNR(t, got, ref)
				msg += fmt.Sprintf("; %.2f dB (max diff %d) vs %s", p32, mediatest.MaxDiff(t, got, ref), e.CPUFP32)
				mediatest.AtLeast(t, "PSNR (dB) vs the fp32 reference minus PSNR vs the fp16 golden", p32-psnr, 0)
			}
			t.Logf("%s; %v", msg, elapsed.Round(time.Millisecond))
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.X4, psnr, 45)
		})
	}
}
