package realesrgan

import (
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

var keepOutputs = flag.String("keep", "", "write every golden test's output PNG into this directory")

// TestGolden runs every MANIFEST.txt entry through its model in fp32 on the CPU (openNamed), with
// the entry's tile size, and compares it with two references:
//   - the CPU fp32 ncnn output (*-cpufp32.png), the same arithmetic up to the order of float
//     operations: PSNR >= 80 dB and max |diff| <= 1 (we reach 87-91 dB with max |diff| 1; a
//     rounding fault such as truncating instead of rounding gives about 51 dB);
//   - realesrgan-ncnn-vulkan's output (fp16 storage on lavapipe): PSNR >= 45 dB.
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
			if e.CPUFP32 == "" {
				t.Fatal("no cpufp32_ref: parity is judged against the fp32 reference")
			}
			b := openNamed(t, e.Model)
			lr := loadPNG(t, filepath.Join(dir, e.LR))
			want := loadPNG(t, filepath.Join(dir, e.X4))
			ref := loadPNG(t, filepath.Join(dir, e.CPUFP32))
			if want.Size() != lr.Size().Mul(4) || ref.Size() != want.Size() {
				t.Fatalf("golden is %v and fp32 reference %v for a %v input", want.Size(), ref.Size(), lr.Size())
			}
			start := time.Now()
			got := upscale(t, b, lr, e.Tile, want.Size())
			elapsed := time.Since(start)
			if *keepOutputs != "" {
				savePNG(t, filepath.Join(*keepOutputs, e.X4), got)
			}
			p32, d32 := mediatest.PSNR(t, got, ref), mediatest.MaxDiff(t, got, ref)
			p16, d16 := mediatest.PSNR(t, got, want), mediatest.MaxDiff(t, got, want)
			t.Logf("%s %v -t %d fp32: %.2f dB (max diff %d) vs %s; %.2f dB (max diff %d) vs %s; %v",
				e.Model, lr.Size(), e.Tile, p32, d32, e.CPUFP32, p16, d16, e.X4, elapsed.Round(time.Millisecond))
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.CPUFP32, p32, 80)
			mediatest.AtMost(t, "max |diff| vs "+e.CPUFP32, float64(d32), 1)
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.X4, p16, 45)
		})
	}
}
