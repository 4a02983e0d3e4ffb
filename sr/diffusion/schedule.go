package diffusion

import (
	"fmt"
	"math"
)

// Scheduler constants of the seed method (diffusers 0.21 DDPMScheduler as configured by SD2-base).
const (
	trainSteps  = 1000
	betaStart   = 0.00085
	betaEnd     = 0.012
	stepsOffset = 1
	// lrStartT is the timestep whose abar mixes the encoded input into the start latent (start point lr).
	lrStartT = 999
)

// schedule holds the cumulative products of the scaled-linear noise schedule:
// betas = linspace(sqrt(b0), sqrt(b1), 1000)^2, abar[t] = prod_{i<=t} (1 - betas[i]).
//
// It is computed in float64. diffusers computes it in float32; the two agree to about 1e-6
// relative, far below what an fp16 network resolves.
type schedule struct {
	abar [trainSteps]float64
}

func newSchedule(b0, b1 float64, n int) *schedule {
	s := &schedule{}
	lo, hi := math.Sqrt(b0), math.Sqrt(b1)
	prod := 1.0
	for i := 0; i < n && i < trainSteps; i++ {
		r := lo + (hi-lo)*float64(i)/float64(n-1)
		prod *= 1 - r*r
		s.abar[i] = prod
	}
	return s
}

var defaultSchedule = newSchedule(betaStart, betaEnd, trainSteps)

// alphaBar returns abar_t, and 1 for t < 0 (the "previous" timestep of the last step).
func (s *schedule) alphaBar(t int) float64 {
	if t < 0 {
		return 1
	}
	return s.abar[t]
}

// timesteps returns the "leading" spacing with steps_offset 1 for n inference steps:
// ratio = 1000/n (integer division); t_i = (n-1-i)*ratio + 1, so 981, 961, ..., 1 for n = 50.
// The previous timestep of t is t - ratio.
func timesteps(n int) (ts []int, ratio int, err error) {
	if n < 1 || n > trainSteps {
		return nil, 0, fmt.Errorf("diffusion: %d steps (want 1..%d)", n, trainSteps)
	}
	ratio = trainSteps / n
	ts = make([]int, n)
	for i := range ts {
		ts[i] = (n-1-i)*ratio + stepsOffset
	}
	return ts, ratio, nil
}

// stepCoeffs are the scalars of one sampler step x' = cx*x + ce*eps + cz*z.
type stepCoeffs struct {
	cx, ce, cz float32
}

// ddpmCoeffs returns the ancestral (DDPM, "fixed_small" variance, no clipping) step from t to prev,
// folded into x' = cx*x + ce*eps + cz*z:
//
//	x0   = (x - sqrt(1-abar_t) eps) / sqrt(abar_t)
//	mean = sqrt(abar_prev) beta/(1-abar_t) x0 + sqrt(a) (1-abar_prev)/(1-abar_t) x,  a = abar_t/abar_prev, beta = 1-a
//	var  = max((1-abar_prev)/(1-abar_t) beta, 1e-20)
//
// On the last step (prev < 0) no noise is added: diffusers draws it but scales it by sqrt(1e-20).
func ddpmCoeffs(s *schedule, t, prev int) stepCoeffs {
	at, ap := s.alphaBar(t), s.alphaBar(prev)
	a := at / ap
	beta := 1 - a
	c0 := math.Sqrt(ap) * beta / (1 - at) // coefficient of x0
	ct := math.Sqrt(a) * (1 - ap) / (1 - at)
	cx := c0/math.Sqrt(at) + ct
	ce := -c0 * math.Sqrt(1-at) / math.Sqrt(at)
	var cz float64
	if prev >= 0 {
		cz = math.Sqrt(math.Max((1-ap)/(1-at)*beta, 1e-20))
	}
	return stepCoeffs{cx: float32(cx), ce: float32(ce), cz: float32(cz)}
}

// ddimCoeffs returns the deterministic DDIM step (eta 0) from t to prev:
//
//	x0 = (x - sqrt(1-abar_t) eps) / sqrt(abar_t);  x' = sqrt(abar_prev) x0 + sqrt(1-abar_prev) eps
//
// with abar_prev = 1 past the end (set_alpha_to_one), so the last step returns the predicted x0.
func ddimCoeffs(s *schedule, t, prev int) stepCoeffs {
	at, ap := s.alphaBar(t), s.alphaBar(prev)
	cx := math.Sqrt(ap) / math.Sqrt(at)
	ce := math.Sqrt(1-ap) - math.Sqrt(ap)*math.Sqrt(1-at)/math.Sqrt(at)
	return stepCoeffs{cx: float32(cx), ce: float32(ce)}
}

// apply computes x = cx*x + ce*eps (+ cz*z when z is non-nil) in place.
func (c stepCoeffs) apply(x, eps, z []float32) {
	eps = eps[:len(x)]
	if z == nil || c.cz == 0 {
		for i, v := range x {
			x[i] = c.cx*v + c.ce*eps[i]
		}
		return
	}
	z = z[:len(x)]
	for i, v := range x {
		x[i] = c.cx*v + c.ce*eps[i] + c.cz*z[i]
	}
}
