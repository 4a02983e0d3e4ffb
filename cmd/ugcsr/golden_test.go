package main

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestGoldenThroughCLI runs the command line on every LR PNG of ../shared/golden/MANIFEST.txt, as a
// user would (ugcsr -i lr.png --model M -s 4 --tile T out.png), and compares the PNG written with
// the reference implementation's in fp32 on the CPU: >= 80 dB and max |diff| <= 1 against the fp32
// references, >= 45 dB against the fp16 goldens.
func TestGoldenThroughCLI(t *testing.T) {
	manifest := mediatest.Shared(t, "golden/MANIFEST.txt")
	dir := filepath.Dir(manifest)
	entries, err := mediatest.ParseManifest(manifest)
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	for _, e := range entries {
		t.Run(e.Name, func(t *testing.T) {
			got := filepath.Join(out, e.X4)
			mustRun(t, "-i", filepath.Join(dir, e.LR), "--model", e.Model, "--precision", "fp32", "--device", "cpu",
				"-s", "4", "--tile", fmt.Sprint(e.Tile), "-y", got)
			out := readFrame(t, got)
			psnr := mediatest.PSNR(t, out, readFrame(t, filepath.Join(dir, e.X4)))
			ref := readFrame(t, filepath.Join(dir, e.CPUFP32))
			p32, d32 := mediatest.PSNR(t, out, ref), mediatest.MaxDiff(t, out, ref)
			t.Logf("%s: %.2f dB vs the fp16 golden; %.2f dB, max |diff| %v vs the fp32 reference", e.Name, psnr, p32, d32)
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.X4, psnr, 45)
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.CPUFP32, p32, 80)
			mediatest.AtMost(t, "max |diff| vs "+e.CPUFP32, float64(d32), 1)
		})
	}
}

func readFrame(t *testing.T, p string) *frame.Frame {
	t.Helper()
	return frame.FromImage(mediatest.ReadPNG(t, p))
}
