package oracle

import (
	"math"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// Cond is the kind of oracle whose denoiser reads every input in a known closed form, so that the
// CFG combination and batch order, the prompt embeddings, the SAM context, the start latent, the
// tile weights and every step's noise each change the right answer. It keeps the linear4 VAE
// (4-channel latent, fixed 8x8 patch projection). Its denoiser predicts x0 and returns the noise
// that goes with it: for batch row b, a window x (4 x h x w) of the latent, timestep t, condition
// crop c, text context T_b (77 x 1024) and SAM context S_b (4096 x 512), channel k, window row i,
// column j (coefficients in CondParams),
//
//	X0  = E(c) + rho*x + nu_k*mean_window(x_k) + alpha_k*tau_b + beta1_k*sam1_b + beta2_k*sam2_b
//	      + gy_k*(i - (h-1)/2)/h + gx_k*(j - (w-1)/2)/w
//	eps = (x - sqrt(abar_t) X0) / sqrt(1 - abar_t)
//
// with E(c) = 0.18215 * P(2c - 1) the linear4 encoding, tau_b = sum_{l,e} T_b[l,e] u_l v_e,
// sam1_b = sum_k p_k sum_{d<256} S_b[k,d] q1_d and sam2_b = sum_k p_k sum_{d<256} S_b[k,256+d] q2_d
// (weights from CondTextWeights and CondSAMWeights). The window mean and the window-relative
// ramps make each tile's prediction differ, so the blend weights matter; rho and nu feed the
// latent back, so the answer depends on the start latent and on each step's noise. Its SAM2
// encoder returns a fixed pattern (CondSAMEmbedding; the image contributes 0 * its sum), so the
// SAM context the runtime must build, [f, f] along the width, is known without the encoder's resize.
const Cond = "cond"

// CondCoeffs are the per-channel coefficients of the cond oracle's x0 prediction.
type CondCoeffs struct {
	Rho            float32    // x, every channel
	Nu             [4]float32 // window mean of x, per channel
	Alpha          [4]float32 // text statistic tau
	Beta1, Beta2   [4]float32 // SAM statistics of the first and second half of the width
	GammaY, GammaX [4]float32 // window-relative ramps
}

// CondParams are the cond oracle's coefficients.
var CondParams = CondCoeffs{
	Rho:    0.2,
	Nu:     [4]float32{0.5, -0.4, 0.3, 0.6},
	Alpha:  [4]float32{0.012, -0.01, 0.008, 0.006},
	Beta1:  [4]float32{-0.015, 0.012, -0.01, -0.008},
	Beta2:  [4]float32{0.006, -0.006, 0.005, 0.004},
	GammaY: [4]float32{0.045, -0.04, 0.03, 0.025},
	GammaX: [4]float32{-0.04, 0.045, 0.035, -0.03},
}

// CondTextWeights returns u (77) and v (1024) of tau = sum T[l,e] u_l v_e. Their scale makes tau of
// order 1 for the oracle's embeddings.
func CondTextWeights() (u, v []float32) {
	u, v = make([]float32, textLen), make([]float32, textWidth)
	for l := range u {
		u[l] = float32(1 + 0.5*math.Cos(0.21*float64(l)+0.3))
	}
	for e := range v {
		v[e] = float32(math.Cos(0.0023*float64(e)+0.4) / (textLen * textWidth) * 300)
	}
	return u, v
}

// CondSAMWeights returns p (4096, over tokens) and q1, q2 (256 each, over the first and the second
// half of the 512-wide SAM context) of the SAM statistics.
func CondSAMWeights() (p, q1, q2 []float32) {
	p, q1, q2 = make([]float32, samTokens), make([]float32, samWidth), make([]float32, samWidth)
	for k := range p {
		p[k] = float32((1 + 0.5*math.Cos(0.0031*float64(k)) + 0.4*math.Sin(0.9*float64(k))) / samTokens)
	}
	for d := range q1 {
		q1[d] = float32(math.Cos(0.02*float64(d)) / samWidth * 4)
		q2[d] = float32((0.3 - 1.5*math.Cos(0.02*float64(d)+0.2) + 0.3*math.Sin(0.11*float64(d))) / samWidth * 4)
	}
	return p, q1, q2
}

// CondSAMEmbedding returns the cond oracle's SAM2 embedding, 4096 tokens x 256 (row-major): a
// pattern that is neither symmetric in the tokens nor in the width.
func CondSAMEmbedding() []float32 {
	f := make([]float32, samTokens*samWidth)
	for k := range samTokens {
		for d := range samWidth {
			fk, fd := float64(k), float64(d)
			f[k*samWidth+d] = float32(math.Cos(0.02*fd)*(0.5+0.3*math.Sin(0.005*fk)) + 0.2*math.Sin(0.7*fk+0.3*fd) + 0.1*fd/samWidth)
		}
	}
	return f
}

func (w *writer) condSAM() (map[string]any, error) {
	g := onnx.NewGraph("oracle_cond_sam2_encoder")
	S := int64(w.o.SAMSize)
	x := w.in(g, "image", 1, 3, S, S)
	g.Initializer("pattern", onnx.Float, []int64{1, samTokens, samWidth}, CondSAMEmbedding())
	g.Initializer("zero", onnx.Float, nil, []float32{0})
	// The image is ignored: 0 * sum(image) keeps it a live input.
	z := g.Node("ReduceSum", []string{x}, []string{"img_sum"}, onnx.AttrInt("keepdims", 0))[0]
	z = g.Node("Mul", []string{z, "zero"}, []string{"img_zero"})[0]
	t := g.Node("Add", []string{"pattern", z}, []string{"tokens"})[0]
	w.out(g, t, "image_embeddings", 1, samTokens, samWidth)
	return w.save("sam2_encoder.onnx", g,
		[]map[string]any{io("image", w.dt, 1, 3, S, S)},
		[]map[string]any{{"role": "embeddings", "name": "image_embeddings", "dtype": w.dt, "shape": []any{1, samTokens, samWidth}}})
}

func (w *writer) condDenoiser() (map[string]any, error) {
	g := onnx.NewGraph("oracle_cond_denoiser")
	x, text, sam, cond := w.denoiserInputs(g, 4)
	P := CondParams
	ch := func(v [4]float32) []float32 { return v[:] }
	g.Initializer("bshape", onnx.Int64, []int64{4}, []int64{-1, 1, 1, 1})
	g.Initializer("cshape", onnx.Int64, []int64{4}, []int64{-1, 4, 1, 1})
	g.Initializer("yshape", onnx.Int64, []int64{4}, []int64{1, 1, -1, 1})
	g.Initializer("xshape", onnx.Int64, []int64{4}, []int64{1, 1, 1, -1})
	g.Initializer("two", onnx.Float, nil, []float32{2})
	g.Initializer("one", onnx.Float, nil, []float32{1})
	g.Initializer("half", onnx.Float, nil, []float32{0.5})
	g.Initializer("scale", onnx.Float, nil, []float32{LatentScale})
	g.Initializer("rho", onnx.Float, nil, []float32{P.Rho})
	g.Initializer("nu", onnx.Float, []int64{1, 4, 1, 1}, ch(P.Nu))
	g.Initializer("alpha", onnx.Float, []int64{1, 4, 1, 1}, ch(P.Alpha))
	g.Initializer("beta", onnx.Float, []int64{2, 4}, append(ch(P.Beta1), ch(P.Beta2)...))
	g.Initializer("gamma_y", onnx.Float, []int64{1, 4, 1, 1}, ch(P.GammaY))
	g.Initializer("gamma_x", onnx.Float, []int64{1, 4, 1, 1}, ch(P.GammaX))
	u, v := CondTextWeights()
	g.Initializer("text_u", onnx.Float, []int64{textLen, 1}, u)
	g.Initializer("text_v", onnx.Float, []int64{textWidth, 1}, v)
	p, q1, q2 := CondSAMWeights()
	q := make([]float32, 2*samWidth*2) // [512, 2]: column 0 reads the first half, column 1 the second
	for d := range samWidth {
		q[2*d] = q1[d]
		q[2*(samWidth+d)+1] = q2[d]
	}
	g.Initializer("sam_p", onnx.Float, []int64{samTokens, 1}, p)
	g.Initializer("sam_q", onnx.Float, []int64{2 * samWidth, 2}, q)
	g.Initializer("axes_12", onnx.Int64, []int64{2}, []int64{1, 2})
	g.Initializer("axes_1", onnx.Int64, []int64{1}, []int64{1})
	g.Initializer("i0", onnx.Int64, nil, []int64{0})
	g.Initializer("i1", onnx.Int64, nil, []int64{1})
	g.Initializer("i2", onnx.Int64, nil, []int64{2})
	g.Initializer("i3", onnx.Int64, nil, []int64{3})

	// E(cond), as the linear4 encoder computes it.
	c2 := g.Node("Mul", []string{cond, "two"}, []string{"cond2"})[0]
	c2 = g.Node("Sub", []string{c2, "one"}, []string{"cond_pm1"})[0]
	e := w.encode(g, c2, "enc_")
	x0 := g.Node("Mul", []string{e, "scale"}, []string{"target"})[0]

	// rho * x + nu * mean_window(x)
	rx := g.Node("Mul", []string{x, "rho"}, []string{"rho_x"})[0]
	mean := g.Node("ReduceMean", []string{x}, []string{"win_mean"}, onnx.AttrInts("axes", 2, 3), onnx.AttrInt("keepdims", 1))[0]
	mean = g.Node("Mul", []string{mean, "nu"}, []string{"nu_mean"})[0]
	x0 = g.Node("Add", []string{x0, rx}, []string{"x0_a"})[0]
	x0 = g.Node("Add", []string{x0, mean}, []string{"x0_b"})[0]

	// alpha * tau_b
	tau := g.Node("MatMul", []string{text, "text_v"}, []string{"text_tv"})[0] // [B,77,1]
	tau = g.Node("Mul", []string{tau, "text_u"}, []string{"text_tuv"})[0]
	tau = g.Node("ReduceSum", []string{tau, "axes_12"}, []string{"tau"}, onnx.AttrInt("keepdims", 0))[0] // [B]
	tau = g.Node("Reshape", []string{tau, "bshape"}, []string{"tau4"})[0]
	tau = g.Node("Mul", []string{tau, "alpha"}, []string{"alpha_tau"})[0]
	x0 = g.Node("Add", []string{x0, tau}, []string{"x0_c"})[0]

	// beta1 * sam1_b + beta2 * sam2_b
	s := g.Node("MatMul", []string{sam, "sam_q"}, []string{"sam_sq"})[0] // [B,4096,2]
	s = g.Node("Mul", []string{s, "sam_p"}, []string{"sam_psq"})[0]
	s = g.Node("ReduceSum", []string{s, "axes_1"}, []string{"sam_stats"}, onnx.AttrInt("keepdims", 0))[0] // [B,2]
	s = g.Node("MatMul", []string{s, "beta"}, []string{"sam_beta"})[0]                                    // [B,4]
	s = g.Node("Reshape", []string{s, "cshape"}, []string{"sam_beta4"})[0]
	x0 = g.Node("Add", []string{x0, s}, []string{"x0_d"})[0]

	// Window-relative ramps (i - (h-1)/2)/h and (j - (w-1)/2)/w.
	shape := g.Node("Shape", []string{x}, []string{"x_shape"})[0]
	ramp := func(axis, reshape, gamma string) string {
		n := g.Node("Gather", []string{shape, axis}, []string{"n_" + axis}, onnx.AttrInt("axis", 0))[0]
		r := g.Node("Range", []string{"i0", n, "i1"}, []string{"range_" + axis})[0]
		r = g.Node("Cast", []string{r}, []string{"rangef_" + axis}, onnx.AttrInt("to", int64(onnx.Float)))[0]
		nf := g.Node("Cast", []string{n}, []string{"nf_" + axis}, onnx.AttrInt("to", int64(onnx.Float)))[0]
		mid := g.Node("Sub", []string{nf, "one"}, []string{"nm1_" + axis})[0]
		mid = g.Node("Mul", []string{mid, "half"}, []string{"mid_" + axis})[0]
		r = g.Node("Sub", []string{r, mid}, []string{"centred_" + axis})[0]
		r = g.Node("Div", []string{r, nf}, []string{"ramp_" + axis})[0]
		r = g.Node("Reshape", []string{r, reshape}, []string{"ramp4_" + axis})[0]
		return g.Node("Mul", []string{r, gamma}, []string{"gramp_" + axis})[0]
	}
	x0 = g.Node("Add", []string{x0, ramp("i2", "yshape", "gamma_y")}, []string{"x0_e"})[0]
	x0 = g.Node("Add", []string{x0, ramp("i3", "xshape", "gamma_x")}, []string{"x0"})[0]

	// eps = (x - sqrt(abar_t) X0) / sqrt(1 - abar_t)
	a := g.Node("Gather", []string{"sqrt_abar", "timestep"}, []string{"sa"}, onnx.AttrInt("axis", 0))[0]
	a = g.Node("Reshape", []string{a, "bshape"}, []string{"sa4"})[0]
	sd := g.Node("Gather", []string{"sqrt_one_minus_abar", "timestep"}, []string{"s1"}, onnx.AttrInt("axis", 0))[0]
	sd = g.Node("Reshape", []string{sd, "bshape"}, []string{"s14"})[0]
	num := g.Node("Mul", []string{a, x0}, []string{"sa_x0"})[0]
	num = g.Node("Sub", []string{x, num}, []string{"num"})[0]
	eps := g.Node("Div", []string{num, sd}, []string{"eps_f32"})[0]
	w.out(g, eps, "noise_pred", -1, 4, -1, -1)

	return w.save("denoiser.onnx", g,
		[]map[string]any{
			{"role": "sample", "name": "sample", "dtype": w.dt, "shape": []any{"B", 4, "h", "w"}},
			{"role": "timestep", "name": "timestep", "dtype": "int64", "shape": []any{"B"}},
			{"role": "text", "name": "encoder_hidden_states", "dtype": w.dt, "shape": []any{"B", textLen, textWidth}},
			{"role": "sam", "name": "sam_hidden_states", "dtype": w.dt, "shape": []any{"B", samTokens, 2 * samWidth}},
			{"role": "cond", "name": "controlnet_cond", "dtype": w.dt, "shape": []any{"B", 3, "H", "W"}},
		},
		[]map[string]any{{"role": "eps", "name": "noise_pred", "dtype": w.dt, "shape": []any{"B", 4, "h", "w"}}})
}
