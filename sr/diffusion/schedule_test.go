package diffusion

import (
	"fmt"
	"math"
	"slices"
	"testing"
)

// handAlphaBar computes abar_t from the formula, in float64, without the package's code:
// beta_i = (sqrt(0.00085) + i/999 (sqrt(0.012) - sqrt(0.00085)))^2, abar_t = prod_{i<=t}(1-beta_i).
func handAlphaBar(t int) float64 {
	lo, hi := math.Sqrt(0.00085), math.Sqrt(0.012)
	p := 1.0
	for i := 0; i <= t; i++ {
		b := lo + float64(i)*(hi-lo)/999
		p *= 1 - b*b
	}
	return p
}

func TestAlphaBar(t *testing.T) {
	for _, c := range []struct {
		t    int
		want float64 // hand-computed; also checked against the formula below
	}{
		{1, (1 - 0.00085) * (1 - math.Pow(math.Sqrt(0.00085)+(math.Sqrt(0.012)-math.Sqrt(0.00085))/999, 2))},
		{981, handAlphaBar(981)},
		{999, handAlphaBar(999)},
	} {
		if got := defaultSchedule.alphaBar(c.t); !(math.Abs(got-c.want) <= 1e-12*c.want) {
			t.Errorf("abar_%d = %.12g, want %.12g", c.t, got, c.want)
		}
		if d := math.Abs(handAlphaBar(c.t) - c.want); !(d <= 1e-15) {
			t.Errorf("hand formula disagrees at t=%d by %g", c.t, d)
		}
	}
	// The same values worked out separately (Python, float64). A float32 emulation of diffusers'
	// torch.linspace and cumprod gives 0.0057754908 and 0.99829602: 2e-6 relative at most.
	for tt, want := range map[int]float64{981: 0.0057755001394957425, 1: 0.9982960278384514, 999: 0.004660098513077234} {
		if got := defaultSchedule.alphaBar(tt); !(math.Abs(got-want) <= 1e-13) {
			t.Errorf("abar_%d = %.17g, want %.17g", tt, got, want)
		}
	}
	if defaultSchedule.alphaBar(-19) != 1 {
		t.Error("abar of a negative timestep must be 1")
	}
}

func TestTimesteps(t *testing.T) {
	ts, ratio, err := timesteps(50)
	if err != nil {
		t.Fatal(err)
	}
	if ratio != 20 || len(ts) != 50 || ts[0] != 981 || ts[1] != 961 || ts[49] != 1 {
		t.Errorf("50 steps: ratio %d, %v", ratio, ts)
	}
	ts, ratio, _ = timesteps(4)
	if ratio != 250 || !slices.Equal(ts, []int{751, 501, 251, 1}) {
		t.Errorf("4 steps: ratio %d, %v", ratio, ts)
	}
	ts, _, _ = timesteps(3) // 1000/3 = 333: 667, 334, 1
	if !slices.Equal(ts, []int{667, 334, 1}) {
		t.Errorf("3 steps: %v", ts)
	}
	if _, _, err := timesteps(0); err == nil {
		t.Error("0 steps accepted")
	}
}

// checkDDPMStep compares coeffs(t, prev) applied to a few numbers with the method's ancestral step
// computed by hand in float64 (x0, posterior mean, fixed_small variance, then mean + std*z).
func checkDDPMStep(coeffs func(s *schedule, t, prev int) stepCoeffs) error {
	x := []float32{0.3, -1.2, 2.5, 0}
	eps := []float32{0.1, 0.7, -1.5, 2}
	z := []float32{-0.4, 1.1, 0.25, -2}
	for _, tp := range [][2]int{{981, 961}, {501, 481}, {21, 1}, {1, -19}} {
		t, prev := tp[0], tp[1]
		at := handAlphaBar(t)
		ap := 1.0
		if prev >= 0 {
			ap = handAlphaBar(prev)
		}
		a := at / ap
		beta := 1 - a
		got := slices.Clone(x)
		coeffs(defaultSchedule, t, prev).apply(got, eps, z)
		for i := range x {
			x0 := (float64(x[i]) - math.Sqrt(1-at)*float64(eps[i])) / math.Sqrt(at)
			mean := math.Sqrt(ap)*beta/(1-at)*x0 + math.Sqrt(a)*(1-ap)/(1-at)*float64(x[i])
			want := mean
			if prev >= 0 {
				want += math.Sqrt(math.Max((1-ap)/(1-at)*beta, 1e-20)) * float64(z[i])
			}
			if d := math.Abs(float64(got[i]) - want); !(d <= 1e-5*math.Max(1, math.Abs(want))) {
				return fmt.Errorf("t=%d prev=%d x=%g eps=%g z=%g: got %.7g, want %.7g", t, prev, x[i], eps[i], z[i], got[i], want)
			}
		}
	}
	return nil
}

func TestDDPMStep(t *testing.T) {
	if err := checkDDPMStep(ddpmCoeffs); err != nil {
		t.Error(err)
	}
	// One step on numbers worked out by hand: t = 1, prev < 0 (abar_prev = 1), so the step
	// returns x0 = (x - sqrt(1-abar_1) eps)/sqrt(abar_1) with no noise.
	ab1 := (1 - 0.00085) * (1 - math.Pow(math.Sqrt(0.00085)+(math.Sqrt(0.012)-math.Sqrt(0.00085))/999, 2))
	x, eps := []float32{1}, []float32{0.5}
	ddpmCoeffs(defaultSchedule, 1, -19).apply(x, eps, []float32{100})
	if want := (1 - math.Sqrt(1-ab1)*0.5) / math.Sqrt(ab1); !(math.Abs(float64(x[0])-want) <= 1e-6) {
		t.Errorf("last step: %g, want %g", x[0], want)
	}
}

// TestDDPMStepCatchesFaults shows that checkDDPMStep fails for plausible sampler bugs.
func TestDDPMStepCatchesFaults(t *testing.T) {
	for name, bad := range map[string]func(s *schedule, t, prev int) stepCoeffs{
		"prev is t-1": func(s *schedule, t, prev int) stepCoeffs { return ddpmCoeffs(s, t, t-1) },
		"no noise":    func(s *schedule, t, prev int) stepCoeffs { c := ddpmCoeffs(s, t, prev); c.cz = 0; return c },
		"variance not std": func(s *schedule, t, prev int) stepCoeffs {
			c := ddpmCoeffs(s, t, prev)
			c.cz *= c.cz
			return c
		},
		"ddim instead": ddimCoeffs,
	} {
		if checkDDPMStep(bad) == nil {
			t.Errorf("%s: not caught", name)
		}
	}
}

func TestDDIMStep(t *testing.T) {
	x := []float32{0.3, -1.2, 2.5}
	eps := []float32{0.1, 0.7, -1.5}
	for _, tp := range [][2]int{{981, 731}, {251, 1}, {1, -249}} {
		t0, prev := tp[0], tp[1]
		at := handAlphaBar(t0)
		ap := 1.0
		if prev >= 0 {
			ap = handAlphaBar(prev)
		}
		got := slices.Clone(x)
		ddimCoeffs(defaultSchedule, t0, prev).apply(got, eps, nil)
		for i := range x {
			x0 := (float64(x[i]) - math.Sqrt(1-at)*float64(eps[i])) / math.Sqrt(at)
			want := math.Sqrt(ap)*x0 + math.Sqrt(1-ap)*float64(eps[i])
			if !(math.Abs(float64(got[i])-want) <= 1e-5*math.Max(1, math.Abs(want))) {
				t.Errorf("t=%d: got %g, want %g", t0, got[i], want)
			}
		}
	}
}
