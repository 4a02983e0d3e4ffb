package diffusion

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/ugcsr/ugcsr/sr/diffusion/oracle"
)

// goRunner is a graphRunner computed in Go: the lossless oracle's graphs without ONNX Runtime, so
// the runtime's math is tested where the library is missing, and fast.
type goRunner struct {
	role      string
	ins, outs []goBuf
	fn        func(r *goRunner) error
}

type goBuf struct {
	shape []int64
	b     hostBuf
	tag   any
}

func (r *goRunner) sel(list []goBuf, i int, shape []int64, i64 bool) hostBuf {
	n := 1
	for _, d := range shape {
		n *= int(d)
	}
	if !slices.Equal(list[i].shape, shape) {
		list[i] = goBuf{shape: slices.Clone(shape)}
		if i64 {
			list[i].b.i64 = make([]int64, n)
		} else {
			list[i].b.f32 = make([]float32, n)
		}
	}
	return list[i].b
}

func (r *goRunner) in(i int, shape []int64, tag any) (hostBuf, bool, error) {
	b := r.sel(r.ins, i, shape, r.role == GraphDenoiser && i == 1 || r.role == GraphTextEncoder)
	valid := tag != nil && r.ins[i].tag == tag
	r.ins[i].tag = tag
	return b, valid, nil
}

func (r *goRunner) out(i int, shape []int64) (hostBuf, error) {
	return r.sel(r.outs, i, shape, false), nil
}

func (r *goRunner) run(ctx context.Context) error { return r.fn(r) }
func (r *goRunner) close() error                  { return nil }

// s2d is SpaceToDepth by 8 of a [3, 8h, 8w] image into [192, h, w] (channel (by*8+bx)*3+c).
func s2d(dst, src []float32, h, w int) {
	W := 8 * w
	for by := range 8 {
		for bx := range 8 {
			for c := range 3 {
				k := (by*8+bx)*3 + c
				for y := range h {
					for x := range w {
						dst[(k*h+y)*w+x] = src[c*64*h*w+(8*y+by)*W+8*x+bx]
					}
				}
			}
		}
	}
}

func d2s(dst, src []float32, h, w int) {
	W := 8 * w
	for by := range 8 {
		for bx := range 8 {
			for c := range 3 {
				k := (by*8+bx)*3 + c
				for y := range h {
					for x := range w {
						dst[c*64*h*w+(8*y+by)*W+8*x+bx] = src[(k*h+y)*w+x]
					}
				}
			}
		}
	}
}

// goOracle opens Go runners for the lossless oracle bundle's roles.
func goOracle(role string, spec *GraphSpec) (graphRunner, error) {
	r := &goRunner{role: role, ins: make([]goBuf, len(spec.Inputs)), outs: make([]goBuf, len(spec.Outputs))}
	sa, s1 := make([]float32, 1000), make([]float32, 1000)
	for i, a := range oracle.AlphaBar() {
		sa[i], s1[i] = float32(math.Sqrt(a)), float32(math.Sqrt(1-a))
	}
	switch role {
	case GraphSAM:
		r.fn = func(r *goRunner) error { clear(r.outs[0].b.f32); return nil }
	case GraphVAEEncoder:
		r.fn = func(r *goRunner) error {
			s := r.ins[0].shape
			s2d(r.outs[0].b.f32, r.ins[0].b.f32, int(s[2])/8, int(s[3])/8)
			return nil
		}
	case GraphVAEDecoder:
		r.fn = func(r *goRunner) error {
			s := r.ins[0].shape
			d2s(r.outs[0].b.f32, r.ins[0].b.f32, int(s[2]), int(s[3]))
			return nil
		}
	case GraphDenoiser:
		r.fn = func(r *goRunner) error {
			s := r.ins[0].shape
			B, C, h, w := int(s[0]), int(s[1]), int(s[2]), int(s[3])
			n := C * h * w
			e := make([]float32, n)
			cond := r.ins[4].b.f32
			for b := range B {
				img := cond[b*3*64*h*w : (b+1)*3*64*h*w]
				pm := make([]float32, len(img))
				for i, v := range img {
					pm[i] = 2*v - 1
				}
				s2d(e, pm, h, w)
				t := r.ins[1].b.i64[b]
				x := r.ins[0].b.f32[b*n : (b+1)*n]
				out := r.outs[0].b.f32[b*n : (b+1)*n]
				for i := range out {
					out[i] = (x[i] - sa[t]*(e[i]*oracle.LatentScale)) / s1[t]
				}
			}
			return nil
		}
	default:
		return nil, fmt.Errorf("goOracle: no %s", role)
	}
	return r, nil
}

// goBackend opens the lossless oracle bundle with Go runners (no ONNX Runtime).
func goBackend(t testing.TB, cfg Config) *Backend {
	t.Helper()
	m, err := LoadManifest(oracleBundle(t, oracle.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := newBackend(m, cfg)
	if err != nil {
		t.Fatal(err)
	}
	b.open = goOracle
	return b
}
