package diffusion

import (
	"fmt"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// The device sampler (boundSampler) runs two small graphs of its own around the denoiser, so that
// the latent never leaves the device between steps: the split graph cuts the denoiser's sample
// windows from the latent, the update graph blends the windows' noise predictions, applies
// guidance and takes the sampler step. Both do in float32 exactly the operations, in the order,
// of Upscaler.predict and stepCoeffs.apply, so on the CPU they agree bit for bit.

// stepLayout is what the step graphs depend on: the latent, the windows, the batch and the
// denoiser's element types.
type stepLayout struct {
	c, h, w  int
	batch    int     // 2 with classifier-free guidance: [negative, positive]
	guidance float32 // used when batch is 2
	plan     *blendPlan
	sample   onnx.DType // the denoiser's sample type (Float or Float16)
	eps      onnx.DType // the denoiser's eps type
	halfX    bool       // round the latent to fp16 after each step (Upscaler.storeLatent)
}

// window returns window k: its origin and size in latents (the whole latent when untiled).
func (l *stepLayout) window(k int) (y0, x0, th, tw int) {
	if !l.plan.tiled() {
		return 0, 0, l.h, l.w
	}
	t := l.plan.tiles[k]
	return t.y, t.x, t.size, t.size
}

// stepOpset is the ONNX opset of the step graphs (Split without a split input divides equally).
const stepOpset = 17

// splitGraph returns the graph that cuts the sample windows from the latent: input "x" (float32
// [1,C,h,w]), outputs "sample<k>" ([B,C,th,tw] of the denoiser's sample type) for every window,
// the window repeated B times along the batch.
func splitGraph(l *stepLayout) ([]byte, error) {
	g := onnx.NewGraph("split")
	C, B := int64(l.c), int64(l.batch)
	g.Input("x", onnx.Float, 1, C, int64(l.h), int64(l.w))
	g.Initializer("axes", onnx.Int64, []int64{2}, []int64{2, 3})
	for k := range l.plan.tiles {
		y0, x0, th, tw := l.window(k)
		st, en := fmt.Sprint("starts", k), fmt.Sprint("ends", k)
		g.Initializer(st, onnx.Int64, []int64{2}, []int64{int64(y0), int64(x0)})
		g.Initializer(en, onnx.Int64, []int64{2}, []int64{int64(y0 + th), int64(x0 + tw)})
		v := g.Node("Slice", []string{"x", st, en, "axes"}, []string{fmt.Sprint("win", k)})[0]
		if B == 2 {
			v = g.Node("Concat", []string{v, v}, []string{fmt.Sprint("pair", k)}, onnx.AttrInt("axis", 0))[0]
		}
		out := fmt.Sprint("sample", k)
		if l.sample == onnx.Float16 {
			g.Node("Cast", []string{v}, []string{out}, onnx.AttrInt("to", int64(onnx.Float16)))
		} else {
			g.Node("Identity", []string{v}, []string{out})
		}
		g.Output(out, l.sample, B, C, int64(th), int64(tw))
	}
	return g.Marshal(stepOpset)
}

// updateGraph returns the graph of one sampler step: inputs "x" (float32 [1,C,h,w]), "eps<k>"
// (every window's noise prediction, [B,C,th,tw] of the denoiser's eps type), "z" (float32
// [1,C,h,w], the step's noise) and "coef" (float32 [3]: cx, ce, cz); output "x_next" =
// cx*x + ce*eps + cz*z, where eps is the windows blended with the Gaussian weights (tiled) and
// guided (batch 2). The output is rounded to fp16 and back when the latent is kept in fp16.
//
// A step without noise (cz = 0) still reads z: 0 times a finite z adds a zero, which leaves x'
// unchanged, so any finite latent may be bound there.
func updateGraph(l *stepLayout) ([]byte, error) {
	g := onnx.NewGraph("update")
	C, B, h, w := int64(l.c), int64(l.batch), int64(l.h), int64(l.w)
	g.Input("x", onnx.Float, 1, C, h, w)
	var acc string
	if l.plan.tiled() {
		s := int64(l.plan.tiles[0].size)
		g.Initializer("weight", onnx.Float, []int64{s, s}, l.plan.weight)
		g.Initializer("invsum", onnx.Float, []int64{h, w}, l.plan.invSum)
	}
	for k := range l.plan.tiles {
		y0, x0, th, tw := l.window(k)
		in := fmt.Sprint("eps", k)
		g.Input(in, l.eps, B, C, int64(th), int64(tw))
		e := in
		if l.eps == onnx.Float16 {
			e = g.Node("Cast", []string{in}, []string{fmt.Sprint("epsf", k)}, onnx.AttrInt("to", int64(onnx.Float)))[0]
		}
		if !l.plan.tiled() {
			acc = e
			continue
		}
		// acc += weight * eps, the window placed at (y0, x0) of the latent and zero elsewhere.
		m := g.Node("Mul", []string{e, "weight"}, []string{fmt.Sprint("weighted", k)})[0]
		pads := fmt.Sprint("pads", k)
		g.Initializer(pads, onnx.Int64, []int64{8}, []int64{0, 0, int64(y0), int64(x0), 0, 0, h - int64(y0+th), w - int64(x0+tw)})
		p := g.Node("Pad", []string{m, pads}, []string{fmt.Sprint("placed", k)})[0]
		if k == 0 {
			acc = p
		} else {
			acc = g.Node("Add", []string{acc, p}, []string{fmt.Sprint("acc", k)})[0]
		}
	}
	if l.plan.tiled() {
		acc = g.Node("Mul", []string{acc, "invsum"}, []string{"blended"})[0]
	}
	eps := acc
	if B == 2 {
		// eps = neg + g*(pos - neg), batch [negative, positive].
		g.Initializer("b0", onnx.Int64, []int64{1}, []int64{0})
		g.Initializer("b1", onnx.Int64, []int64{1}, []int64{1})
		g.Initializer("b2", onnx.Int64, []int64{1}, []int64{2})
		g.Initializer("g", onnx.Float, []int64{1}, []float32{l.guidance})
		neg := g.Node("Slice", []string{acc, "b0", "b1", "b0"}, []string{"neg"})[0]
		pos := g.Node("Slice", []string{acc, "b1", "b2", "b0"}, []string{"pos"})[0]
		d := g.Node("Sub", []string{pos, neg}, []string{"diff"})[0]
		gd := g.Node("Mul", []string{"g", d}, []string{"gdiff"})[0]
		eps = g.Node("Add", []string{neg, gd}, []string{"guided"})[0]
	}
	g.Input("z", onnx.Float, 1, C, h, w)
	g.Input("coef", onnx.Float, 3)
	cs := g.Node("Split", []string{"coef"}, []string{"cx", "ce", "cz"}, onnx.AttrInt("axis", 0))
	// x' = cx*x + ce*eps + cz*z, in stepCoeffs.apply's order.
	a := g.Node("Mul", []string{cs[0], "x"}, []string{"cxx"})[0]
	b := g.Node("Mul", []string{cs[1], eps}, []string{"ceeps"})[0]
	ab := g.Node("Add", []string{a, b}, []string{"mean"})[0]
	cz := g.Node("Mul", []string{cs[2], "z"}, []string{"czz"})[0]
	out := "x_next"
	if l.halfX {
		out = "x_next32"
	}
	g.Node("Add", []string{ab, cz}, []string{out})
	if l.halfX {
		h16 := g.Node("Cast", []string{out}, []string{"x_next16"}, onnx.AttrInt("to", int64(onnx.Float16)))[0]
		g.Node("Cast", []string{h16}, []string{"x_next"}, onnx.AttrInt("to", int64(onnx.Float)))
	}
	g.Output("x_next", onnx.Float, 1, C, h, w)
	return g.Marshal(stepOpset)
}
