package main

import (
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestDiffusionOracleVideo runs the diffusion backend with an oracle bundle (written by "ugcsr models
// oracle") on a shared clip at -s 1 through the whole pipeline: the lossless oracle must give the
// input back (mean PSNR >= 35 dB after H.264), with every timestamp and audio packet kept.
func TestDiffusionOracleVideo(t *testing.T) {
	in := mediatest.Clip(t, "02_cups")
	dir := t.TempDir()
	bundle := filepath.Join(dir, "oracle")
	mustRun(t, "models", "oracle", bundle)
	out := filepath.Join(dir, "out.mp4")
	mustRun(t, "-i", in, "-t", "1", "--model", "diffusion:"+bundle, "-s", "1", "--steps", "4", "--seed", "7", out)

	psnr := meanPSNR(t, in, out, 30)
	t.Logf("mean PSNR vs input: %.2f dB", psnr)
	if !mediatest.AtLeast(t, "mean PSNR (dB) vs input", psnr, 35) {
		t.FailNow()
	}
	inFrames, outFrames := mediatest.VideoFrames(t, in), mediatest.VideoFrames(t, out)
	if len(outFrames) != 30 {
		t.Fatalf("%d frames, want 30", len(outFrames))
	}
	for i, f := range outFrames {
		if f.PTSTime != inFrames[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, f.PTSTime, inFrames[i].PTSTime)
		}
	}
	inAudio, outAudio := mediatest.AudioPackets(t, in), mediatest.AudioPackets(t, out)
	if len(outAudio) < 40 {
		t.Fatalf("%d audio packets for 1 s", len(outAudio))
	}
	for i, p := range outAudio {
		if p.DataHash != inAudio[i].DataHash {
			t.Fatalf("audio packet %d differs", i)
		}
	}
}

// meanPSNR decodes the first n frames of two videos and averages their PSNR, counting identical
// frames as 100 dB. Frames of different sizes or with non-finite samples fail t.
func meanPSNR(t *testing.T, a, b string, n int) float64 {
	t.Helper()
	fa, fb := mediatest.DecodeFrames(t, a, int64(n)), mediatest.DecodeFrames(t, b, int64(n))
	if len(fa) != len(fb) || len(fa) == 0 {
		t.Fatalf("%d vs %d frames", len(fa), len(fb))
	}
	var sum float64
	for i := range fa {
		sum += min(mediatest.PSNR(t, fa[i], fb[i]), 100)
	}
	return sum / float64(len(fa))
}
