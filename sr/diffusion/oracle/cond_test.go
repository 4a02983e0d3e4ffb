package oracle

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// TestCondGraphs checks the cond oracle's denoiser and SAM2 encoder against their closed form
// (package doc of cond.go), computed here in float64 on arbitrary inputs: a batch of 2 with its own
// timesteps, text and SAM contexts, on a non-square window.
func TestCondGraphs(t *testing.T) {
	ort.TestLoad(t)
	dir := t.TempDir()
	if err := Write(dir, Options{Kind: Cond}); err != nil {
		t.Fatal(err)
	}
	sam := run(t, filepath.Join(dir, "sam2_encoder.onnx"), map[string][]int64{"image": {1, 3, 1024, 1024}},
		map[string][]float32{"image": ramp(3*1024*1024, 0.01)}, nil, []int64{1, samTokens, samWidth})
	for i, v := range CondSAMEmbedding() {
		if sam[i] != v {
			t.Fatalf("SAM embedding %d: %g, want %g", i, sam[i], v)
		}
	}

	const B, h, w = 2, 3, 5
	cond := make([]float32, B*3*64*h*w)
	for i := range cond {
		cond[i] = float32(0.5 + 0.45*math.Cos(float64(i)*0.011))
	}
	x := ramp(B*4*h*w, 0.7)
	text := ramp(B*textLen*textWidth, 0.0013)
	sctx := ramp(B*samTokens*2*samWidth, 0.00071)
	ts := []int64{981, 1}
	eps := run(t, filepath.Join(dir, "denoiser.onnx"), map[string][]int64{
		"sample": {B, 4, h, w}, "timestep": {B}, "encoder_hidden_states": {B, textLen, textWidth},
		"sam_hidden_states": {B, samTokens, 2 * samWidth}, "controlnet_cond": {B, 3, 8 * h, 8 * w},
	}, map[string][]float32{"sample": x, "encoder_hidden_states": text, "sam_hidden_states": sctx, "controlnet_cond": cond},
		map[string][]int64{"timestep": ts}, []int64{B, 4, h, w})

	P := CondParams
	u, v := CondTextWeights()
	p, q1, q2 := CondSAMWeights()
	ab := AlphaBar()
	for b := range B {
		var tau, s1, s2 float64
		for l := range textLen {
			for e := range textWidth {
				tau += float64(text[(b*textLen+l)*textWidth+e]) * float64(u[l]) * float64(v[e])
			}
		}
		for k := range samTokens {
			row := sctx[(b*samTokens+k)*2*samWidth:]
			for d := range samWidth {
				s1 += float64(p[k]) * float64(row[d]) * float64(q1[d])
				s2 += float64(p[k]) * float64(row[samWidth+d]) * float64(q2[d])
			}
		}
		for c := range 4 {
			xc := x[(b*4+c)*h*w : (b*4+c+1)*h*w]
			var mean float64
			for _, v := range xc {
				mean += float64(v) / (h * w)
			}
			for i := range h {
				for j := range w {
					// Linear4 encoding of the 8x8 patch: channel means, then sign * luminance.
					var z float64
					for y := 8 * i; y < 8*i+8; y++ {
						for xx := 8 * j; xx < 8*j+8; xx++ {
							for cc := range 3 {
								pm := 2*float64(cond[((b*3+cc)*8*h+y)*8*w+xx]) - 1
								switch {
								case c < 3 && cc == c:
									z += pm / 64
								case c == 3 && xx-8*j < 4:
									z += pm / 3 / 64
								case c == 3:
									z -= pm / 3 / 64
								}
							}
						}
					}
					x0 := LatentScale*z + float64(P.Rho)*float64(xc[i*w+j]) + float64(P.Nu[c])*mean +
						float64(P.Alpha[c])*tau + float64(P.Beta1[c])*s1 + float64(P.Beta2[c])*s2 +
						float64(P.GammaY[c])*(float64(i)-(h-1)/2.0)/h + float64(P.GammaX[c])*(float64(j)-(w-1)/2.0)/w
					want := (float64(xc[i*w+j]) - math.Sqrt(ab[ts[b]])*x0) / math.Sqrt(1-ab[ts[b]])
					got := float64(eps[(b*4+c)*h*w+i*w+j])
					if math.Abs(got-want) > 2e-5*math.Max(1, math.Abs(want)/math.Sqrt(1-ab[ts[b]])) {
						t.Fatalf("batch %d t=%d channel %d (%d,%d): eps %g, want %g (tau %g, sam %g %g)", b, ts[b], c, i, j, got, want, tau, s1, s2)
					}
				}
			}
		}
	}
}
