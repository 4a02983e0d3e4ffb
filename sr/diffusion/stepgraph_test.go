package diffusion

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/ort/iobind"
)

// TestUpdateGraph runs the update graph untiled without guidance, the latent alternating between
// two bound buffers over every step of a 10-step DDPM schedule (the last without noise) and a DDIM
// step, and compares each step with stepCoeffs.apply.
func TestUpdateGraph(t *testing.T) {
	ort.TestLoad(t)
	const C, h, w = 4, 5, 7
	n := C * h * w
	lay := &stepLayout{c: C, h: h, w: w, batch: 1, plan: newBlendPlan(h, w), sample: onnx.Float, eps: onnx.Float}
	data, err := updateGraph(lay)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := iobind.NewMemory(iobind.Config{Device: ort.DeviceCPU, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	s, err := mem.NewSession(ort.Model{Data: data}, iobind.SessionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	tensor := func(shape ...int64) *iobind.Tensor {
		x, err := mem.NewTensor(ort.Float32, shape...)
		if err != nil {
			t.Fatal(err)
		}
		return x
	}
	xs := [2]*iobind.Tensor{tensor(1, C, h, w), tensor(1, C, h, w)}
	eps, z, coef := tensor(1, C, h, w), tensor(1, C, h, w), tensor(3)
	r := rand.New(rand.NewPCG(1, 1))
	want := make([]float32, n)
	fillNormal(r, want)
	if err := iobind.Upload(xs[0], want); err != nil {
		t.Fatal(err)
	}
	ts, _, _ := timesteps(10)
	var steps []stepCoeffs
	for _, tt := range ts {
		steps = append(steps, ddpmCoeffs(defaultSchedule, tt, tt-100))
	}
	steps = append(steps, ddimCoeffs(defaultSchedule, 501, 401))
	ev, zv := make([]float32, n), make([]float32, n)
	got := make([]float32, n)
	for i, c := range steps {
		fillNormal(r, ev)
		fillNormal(r, zv)
		for _, up := range []struct {
			t *iobind.Tensor
			v []float32
		}{{eps, ev}, {z, zv}, {coef, []float32{c.cx, c.ce, c.cz}}} {
			if err := iobind.Upload(up.t, up.v); err != nil {
				t.Fatal(err)
			}
		}
		src, dst := xs[i%2], xs[1-i%2]
		for _, bd := range []struct {
			name string
			t    *iobind.Tensor
		}{{"x", src}, {"eps0", eps}, {"z", z}, {"coef", coef}} {
			if err := s.BindInput(bd.name, bd.t); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.BindOutput("x_next", dst); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		if c.cz == 0 {
			c.apply(want, ev, nil)
		} else {
			c.apply(want, ev, zv)
		}
		if err := iobind.Download(got, dst); err != nil {
			t.Fatal(err)
		}
		var worst float64
		for k := range got {
			worst = max(worst, math.Abs(float64(got[k]-want[k])))
		}
		if !(worst <= 1e-6) {
			t.Errorf("step %d (cx %g ce %g cz %g): off by %g", i, c.cx, c.ce, c.cz, worst)
		}
	}
}
