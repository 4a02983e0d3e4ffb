package ncnn

import (
	"fmt"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// TestRealESRGANGolden converts the shipped Real-ESRGAN models, runs them in ONNX Runtime on the CPU
// with the golden processing and compares with ncnn's fp32 CPU output (-cpufp32) and its Vulkan
// fp16 output (PSNR >= 45 dB). An fp32 conversion must reach PSNR >= 80 dB and max |diff| <= 1
// against -cpufp32, as float rounding order allows (we reach 87-91 dB); an FP16 one >= 45 dB (we
// reach 64-65 dB: the weights rounded to float16, the arithmetic float32, as ONNX Runtime's CPU
// provider runs it).
func TestRealESRGANGolden(t *testing.T) {
	dir := testModelDir(t)
	withORT(t)
	t.Logf("ONNX Runtime %s", ort.GetVersion())
	cases := []struct {
		model, golden string
		prelu         PReLUMode
		fp16, long    bool
	}{
		{"realesrgan-x4fast", "02_cups-odd97x61_realesrgan-x4fast", PReLUAuto, false, false},
		{"realesrgan-x4fast", "02_cups-odd97x61_realesrgan-x4fast", PReLUOp, false, false},
		{"realesrgan-x4fast", "01_dog_realesrgan-x4fast", PReLUAuto, false, false},
		{"realesrgan-x4fast", "01_dog_realesrgan-x4fast", PReLUAuto, true, false},
		{"realesrgan-x4plus", "01_dog_realesrgan-x4plus", PReLUAuto, false, true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/prelu=%d/fp16=%v", c.golden, c.prelu, c.fp16), func(t *testing.T) {
			if c.long && testing.Short() {
				t.Skip("x4plus takes seconds on a CPU; skipped with -short")
			}
			lrPath := testGolden(t, c.golden+"_lr.png")
			n, err := ReadFiles(filepath.Join(dir, c.model+".param"), filepath.Join(dir, c.model+".bin"))
			if err != nil {
				t.Fatal(err)
			}
			model, err := ConvertOptions(n, Options{PReLU: c.prelu, FP16: c.fp16})
			if err != nil {
				t.Fatal(err)
			}
			sr := upscaleGolden(t, model, readPNG(t, lrPath), 10, 4)
			for _, ref := range []struct {
				suffix  string
				min     float64
				maxDiff int
			}{{"_x4-cpufp32.png", 80, 1}, {"_x4.png", 45, 255}} {
				if c.fp16 {
					ref.min, ref.maxDiff = 45, 255
				}
				p, maxd := psnr(t, sr, readPNG(t, testGolden(t, c.golden+ref.suffix)))
				t.Logf("%s vs %s: PSNR %.2f dB, max |diff| %d", c.model, c.golden+ref.suffix, p, maxd)
				if !(p >= ref.min) {
					t.Errorf("%s: PSNR %.2f dB, want >= %.0f dB", ref.suffix, p, ref.min)
				}
				if maxd > ref.maxDiff {
					t.Errorf("%s: max |diff| %d, want <= %d", ref.suffix, maxd, ref.maxDiff)
				}
			}
		})
	}
}

// TestConvFLOPsPerPixel checks the FLOP count against the architectures: x4fast is 3->64, 32 x
// 64->64 and 64->48, all 3x3 at the input's resolution.
func TestConvFLOPsPerPixel(t *testing.T) {
	dir := testModelDir(t)
	n, err := ReadFiles(filepath.Join(dir, "realesrgan-x4fast.param"), filepath.Join(dir, "realesrgan-x4fast.bin"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := n.ConvFLOPsPerPixel()
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 * 9 * (3*64 + 32*64*64 + 64*48)); got != want {
		t.Fatalf("x4fast: %d FLOPs per pixel, want %d", got, want)
	}
}
