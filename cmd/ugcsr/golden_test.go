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
// the reference implementation's: PSNR >= 45 dB.
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
			mustRun(t, "-i", filepath.Join(dir, e.LR), "--model", e.Model, "-s", "4", "--tile", fmt.Sprint(e.Tile), "-y", got)
			psnr := mediatest.PSNR(t, readFrame(t, got), readFrame(t, filepath.Join(dir, e.X4)))
			t.Logf("%s: %.2f dB", e.Name, psnr)
			mediatest.AtLeast(t, "PSNR (dB) vs "+e.X4, psnr, 45)
		})
	}
}

func readFrame(t *testing.T, p string) *frame.Frame {
	t.Helper()
	return frame.FromImage(mediatest.ReadPNG(t, p))
}
