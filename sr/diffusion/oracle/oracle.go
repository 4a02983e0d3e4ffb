// Package oracle writes tiny diffusion bundles with the real graph signatures whose right answer is
// known, to prove the runtime of package sr/diffusion end to end in ONNX Runtime.
//
// The default, lossless oracle has a 192-channel latent: the VAE encoder is space-to-depth by 8 of
// its [-1,1] input, the decoder the exact inverse (depth-to-space), and the denoiser predicts
// exactly the noise that separates its latent from the encoding of its condition image,
//
//	eps = (x_t - sqrt(abar_t) * E(cond)) / sqrt(1 - abar_t),  E(cond) = 0.18215 * s2d(2*cond - 1),
//
// with abar_t looked up from the timestep inside the graph. Any correct sampler then ends on
// E(cond), and the whole runtime returns the condition image itself. The "linear4" oracle runs the
// real latent shape [1,4,h,w]: its encoder is a fixed linear 8x8 patch projection (the three channel
// means and a left-minus-right luminance gradient), its decoder the projection's inverse on that
// subspace, so the runtime returns the input projected patch by patch.
//
// The text and SAM inputs of the denoiser are accepted and ignored (they contribute 0 * their sum,
// which keeps ONNX Runtime from dropping them); the SAM2 encoder is a 16x16 average pool and a
// fixed 1x1 convolution to 256 channels.
//
// The text and SAM inputs matter in the "cond" oracle (Kind Cond, see cond.go): its denoiser reads
// them, the latent window and its neighbours in a closed form, so that guidance, the contexts, the
// start latent, the tile weights and the per-step noise each change its answer.
package oracle

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// Kinds of oracle.
const (
	Lossless = "lossless" // 192-channel space-to-depth latent; the runtime returns its input
	Linear4  = "linear4"  // 4-channel linear patch projection; the runtime returns the projection
)

// LatentScale is the scale factor the bundles declare (the SD VAE's).
const LatentScale = 0.18215

// Options selects what Write puts in a bundle. The zero value is the lossless fp32 oracle with
// precomputed embeddings.
type Options struct {
	// Kind is Lossless, Linear4 or Cond (optional). It defaults to Lossless.
	Kind string
	// FP16 makes every float input and output of every graph float16 (optional).
	FP16 bool
	// NoEncoder leaves out the VAE encoder (start point noise only).
	NoEncoder bool
	// Text adds a byte-level tokenizer and a text encoder (an embedding lookup), so a prompt can be
	// given, and a tagger that tags "red", "green" and "blue" by the channel means.
	Text bool
	// SAMSize is the side of the SAM2 encoder's square input (optional). It defaults to 1024.
	SAMSize int
}

// Signature sizes of the real bundle.
const (
	textLen   = 77
	textWidth = 1024
	samTokens = 4096
	samWidth  = 256
)

// Write writes an oracle bundle into dir (created if needed): manifest.json, the ONNX graphs and the
// embedding files.
func Write(dir string, o Options) error {
	if o.Kind == "" {
		o.Kind = Lossless
	}
	if o.Kind != Lossless && o.Kind != Linear4 && o.Kind != Cond {
		return fmt.Errorf("oracle: unknown kind %q (want %s, %s or %s)", o.Kind, Lossless, Linear4, Cond)
	}
	if o.SAMSize == 0 {
		o.SAMSize = 1024
	}
	if o.SAMSize%64 != 0 {
		return fmt.Errorf("oracle: SAM input size %d is not a multiple of 64", o.SAMSize)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("oracle: %w", err)
	}
	w := &writer{dir: dir, o: o, ft: onnx.Float, dt: "float32"}
	if o.FP16 {
		w.ft, w.dt = onnx.Float16, "float16"
	}
	w.c = 192
	sam, den := w.sam, w.denoiser
	switch o.Kind {
	case Linear4:
		w.c = 4
	case Cond:
		w.c, sam, den = 4, w.condSAM, w.condDenoiser
	}
	graphs := map[string]any{}
	steps := []struct {
		role string
		fn   func() (map[string]any, error)
		skip bool
	}{
		{"sam_encoder", sam, false},
		{"denoiser", den, false},
		{"vae_decoder", w.decoder, false},
		{"vae_encoder", w.encoder, o.NoEncoder},
		{"text_encoder", w.textEncoder, !o.Text},
		{"tagger", w.tagger, !o.Text},
	}
	for _, s := range steps {
		if s.skip {
			continue
		}
		g, err := s.fn()
		if err != nil {
			return fmt.Errorf("oracle: %s: %w", s.role, err)
		}
		graphs[s.role] = g
	}
	// The negative context and one positive context per preset (the keys and prompts of
	// diffusion.PositiveKey and Preset.AddedPrompt), each a different pattern so that a runtime
	// feeding the wrong one is seen by a denoiser that reads them.
	emb := map[string]any{}
	for i, k := range []string{"negative", "positive_wild", "positive_synthetic"} {
		data := make([]float32, textLen*textWidth)
		for j := range data {
			data[j] = float32(math.Sin(float64(j*(i+2)) * 0.001))
		}
		file := k + ".f32"
		if err := writeF32(filepath.Join(dir, file), data); err != nil {
			return err
		}
		emb[k] = map[string]any{"file": file, "dtype": "float32", "shape": []int{1, textLen, textWidth}, "prompt": k + " (oracle)"}
	}
	m := map[string]any{
		"format":          "ugcsr-diffusion/1",
		"name":            "oracle-" + o.Kind + map[bool]string{true: "-fp16", false: ""}[o.FP16],
		"latent_channels": w.c,
		"latent_scale":    LatentScale,
		"scheduler": map[string]any{
			"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
			"beta_schedule": "scaled_linear", "prediction_type": "epsilon",
			"timestep_spacing": "leading", "steps_offset": 1,
		},
		"prompt": map[string]any{
			"added": map[string]string{
				"wild":      "clean, high-resolution, 8k, ultra-detailed, ultra-realistic",
				"synthetic": "clean, high-resolution, 8k",
			},
			"negative": "dotted, noise, blur, lowres, smooth",
		},
		"graphs":     graphs,
		"embeddings": emb,
	}
	if o.Text {
		tok, err := w.tokenizer()
		if err != nil {
			return err
		}
		m["tokenizer"] = tok
		m["tags"] = map[string]any{"names": "tags.txt", "thresholds": "thresholds.txt"}
		if err := os.WriteFile(filepath.Join(dir, "tags.txt"), []byte("red\ngreen\nblue\n"), 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "thresholds.txt"), []byte("0.5\n0.5\n0.5\n"), 0o644); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}

type writer struct {
	dir string
	o   Options
	ft  onnx.DType // float type of graph inputs and outputs
	dt  string
	c   int
}

// io describes one graph input or output for the manifest.
func io(name, dtype string, shape ...any) map[string]any {
	return map[string]any{"name": name, "dtype": dtype, "shape": shape}
}

func (w *writer) save(file string, g *onnx.Graph, ins, outs []map[string]any) (map[string]any, error) {
	b, err := g.Marshal(17)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(w.dir, file), b, 0o644); err != nil {
		return nil, err
	}
	return map[string]any{"file": file, "inputs": ins, "outputs": outs}, nil
}

// in declares a float input of the graph's float type and returns the name of its float32 value.
func (w *writer) in(g *onnx.Graph, name string, shape ...int64) string {
	g.Input(name, w.ft, shape...)
	if w.ft == onnx.Float {
		return name
	}
	return g.Node("Cast", []string{name}, []string{name + "_f32"}, onnx.AttrInt("to", int64(onnx.Float)))[0]
}

// out declares a float output fed by the float32 value v.
func (w *writer) out(g *onnx.Graph, v, name string, shape ...int64) {
	g.Output(name, w.ft, shape...)
	if w.ft == onnx.Float {
		g.Node("Identity", []string{v}, []string{name})
		return
	}
	g.Node("Cast", []string{v}, []string{name}, onnx.AttrInt("to", int64(w.ft)))
}

// encode adds the oracle VAE encoder on the [-1,1] image x (float32) and returns its latent name.
func (w *writer) encode(g *onnx.Graph, x, prefix string) string {
	if w.o.Kind == Lossless {
		return g.Node("SpaceToDepth", []string{x}, []string{prefix + "s2d"}, onnx.AttrInt("blocksize", 8))[0]
	}
	g.Initializer(prefix+"proj", onnx.Float, []int64{4, 3, 8, 8}, ProjectionWeights(true))
	return g.Node("Conv", []string{x, prefix + "proj"}, []string{prefix + "conv"},
		onnx.AttrInts("kernel_shape", 8, 8), onnx.AttrInts("strides", 8, 8))[0]
}

// ProjectionWeights returns the linear4 oracle's weights as [4][3][8][8]: the encoder's (the three
// channel means over the patch, then the mean of sign(x) * luminance with sign +1 on the left half,
// -1 on the right and luminance (R+G+B)/3) or the decoder's (channel c gets z_c + sign(x) * z_3).
func ProjectionWeights(encoder bool) []float32 {
	wts := make([]float32, 4*3*64)
	for k := range 4 {
		for c := range 3 {
			for y := range 8 {
				for x := range 8 {
					s := float32(1)
					if x >= 4 {
						s = -1
					}
					var v float32
					switch {
					case k < 3 && k == c && encoder:
						v = 1.0 / 64
					case k < 3 && k == c:
						v = 1
					case k == 3 && encoder:
						v = s / 3 / 64
					case k == 3:
						v = s
					}
					wts[((k*3+c)*8+y)*8+x] = v
				}
			}
		}
	}
	return wts
}

func (w *writer) encoder() (map[string]any, error) {
	g := onnx.NewGraph("oracle_vae_encoder")
	x := w.in(g, "image", 1, 3, -1, -1)
	w.out(g, w.encode(g, x, ""), "latent", 1, int64(w.c), -1, -1)
	return w.save("vae_encoder.onnx", g,
		[]map[string]any{io("image", w.dt, 1, 3, "H", "W")},
		[]map[string]any{io("latent", w.dt, 1, w.c, "h", "w")})
}

func (w *writer) decoder() (map[string]any, error) {
	g := onnx.NewGraph("oracle_vae_decoder")
	z := w.in(g, "latent", 1, int64(w.c), -1, -1)
	var img string
	if w.o.Kind == Lossless {
		img = g.Node("DepthToSpace", []string{z}, []string{"d2s"}, onnx.AttrInt("blocksize", 8), onnx.AttrString("mode", "DCR"))[0]
	} else {
		g.Initializer("unproj", onnx.Float, []int64{4, 3, 8, 8}, ProjectionWeights(false))
		img = g.Node("ConvTranspose", []string{z, "unproj"}, []string{"deconv"},
			onnx.AttrInts("kernel_shape", 8, 8), onnx.AttrInts("strides", 8, 8))[0]
	}
	w.out(g, img, "image", 1, 3, -1, -1)
	return w.save("vae_decoder.onnx", g,
		[]map[string]any{io("latent", w.dt, 1, w.c, "h", "w")},
		[]map[string]any{io("image", w.dt, 1, 3, "H", "W")})
}

// AlphaBar returns the cumulative products of the scaled-linear schedule (betas =
// linspace(sqrt(0.00085), sqrt(0.012), 1000)^2), computed here independently of sr/diffusion.
func AlphaBar() []float64 {
	out := make([]float64, 1000)
	lo, hi := math.Sqrt(0.00085), math.Sqrt(0.012)
	p := 1.0
	for i := range out {
		b := lo + (hi-lo)*float64(i)/999
		p *= 1 - b*b
		out[i] = p
	}
	return out
}

// denoiserInputs declares the denoiser's inputs (a latent of c channels, the timestep, the text and
// SAM contexts, the condition image) and the sqrt_abar and sqrt_one_minus_abar tables the oracles
// gather by timestep; it returns the names of the float inputs.
func (w *writer) denoiserInputs(g *onnx.Graph, c int64) (x, text, sam, cond string) {
	x = w.in(g, "sample", -1, c, -1, -1)
	g.Input("timestep", onnx.Int64, -1)
	text = w.in(g, "encoder_hidden_states", -1, textLen, textWidth)
	sam = w.in(g, "sam_hidden_states", -1, samTokens, 2*samWidth)
	cond = w.in(g, "controlnet_cond", -1, 3, -1, -1)
	sa, s1 := make([]float32, 1000), make([]float32, 1000)
	for i, a := range AlphaBar() {
		sa[i], s1[i] = float32(math.Sqrt(a)), float32(math.Sqrt(1-a))
	}
	g.Initializer("sqrt_abar", onnx.Float, []int64{1000}, sa)
	g.Initializer("sqrt_one_minus_abar", onnx.Float, []int64{1000}, s1)
	return x, text, sam, cond
}

func (w *writer) denoiser() (map[string]any, error) {
	g := onnx.NewGraph("oracle_denoiser")
	x, text, sam, cond := w.denoiserInputs(g, int64(w.c))
	g.Initializer("bshape", onnx.Int64, []int64{4}, []int64{-1, 1, 1, 1})
	g.Initializer("two", onnx.Float, nil, []float32{2})
	g.Initializer("one", onnx.Float, nil, []float32{1})
	g.Initializer("zero", onnx.Float, nil, []float32{0})
	g.Initializer("scale", onnx.Float, nil, []float32{LatentScale})

	c2 := g.Node("Mul", []string{cond, "two"}, []string{"cond2"})[0]
	c2 = g.Node("Sub", []string{c2, "one"}, []string{"cond_pm1"})[0]
	e := w.encode(g, c2, "enc_")
	e = g.Node("Mul", []string{e, "scale"}, []string{"target"})[0]
	a := g.Node("Gather", []string{"sqrt_abar", "timestep"}, []string{"sa"}, onnx.AttrInt("axis", 0))[0]
	a = g.Node("Reshape", []string{a, "bshape"}, []string{"sa4"})[0]
	s := g.Node("Gather", []string{"sqrt_one_minus_abar", "timestep"}, []string{"s1"}, onnx.AttrInt("axis", 0))[0]
	s = g.Node("Reshape", []string{s, "bshape"}, []string{"s14"})[0]
	num := g.Node("Mul", []string{a, e}, []string{"sa_target"})[0]
	num = g.Node("Sub", []string{x, num}, []string{"num"})[0]
	eps := g.Node("Div", []string{num, s}, []string{"eps_raw"})[0]
	// The contexts are ignored: 0 * (sum(text) + sum(sam)) keeps them live inputs.
	st := g.Node("ReduceSum", []string{text}, []string{"text_sum"}, onnx.AttrInt("keepdims", 0))[0]
	ss := g.Node("ReduceSum", []string{sam}, []string{"sam_sum"}, onnx.AttrInt("keepdims", 0))[0]
	z := g.Node("Add", []string{st, ss}, []string{"ctx_sum"})[0]
	z = g.Node("Mul", []string{z, "zero"}, []string{"ctx_zero"})[0]
	eps = g.Node("Add", []string{eps, z}, []string{"eps_f32"})[0]
	w.out(g, eps, "noise_pred", -1, int64(w.c), -1, -1)

	return w.save("denoiser.onnx", g,
		[]map[string]any{
			{"role": "sample", "name": "sample", "dtype": w.dt, "shape": []any{"B", w.c, "h", "w"}},
			{"role": "timestep", "name": "timestep", "dtype": "int64", "shape": []any{"B"}},
			{"role": "text", "name": "encoder_hidden_states", "dtype": w.dt, "shape": []any{"B", textLen, textWidth}},
			{"role": "sam", "name": "sam_hidden_states", "dtype": w.dt, "shape": []any{"B", samTokens, 2 * samWidth}},
			{"role": "cond", "name": "controlnet_cond", "dtype": w.dt, "shape": []any{"B", 3, "H", "W"}},
		},
		[]map[string]any{{"role": "eps", "name": "noise_pred", "dtype": w.dt, "shape": []any{"B", w.c, "h", "w"}}})
}

func (w *writer) sam() (map[string]any, error) {
	g := onnx.NewGraph("oracle_sam2_encoder")
	S := int64(w.o.SAMSize)
	x := w.in(g, "image", 1, 3, S, S)
	k := S / 64
	p := g.Node("AveragePool", []string{x}, []string{"pool"}, onnx.AttrInts("kernel_shape", k, k), onnx.AttrInts("strides", k, k))[0]
	wts := make([]float32, samWidth*3)
	for i := range wts {
		wts[i] = float32(math.Sin(float64(i)*0.37)) * 0.5
	}
	g.Initializer("proj", onnx.Float, []int64{samWidth, 3, 1, 1}, wts)
	g.Initializer("flat", onnx.Int64, []int64{3}, []int64{1, samWidth, samTokens})
	c := g.Node("Conv", []string{p, "proj"}, []string{"conv"}, onnx.AttrInts("kernel_shape", 1, 1))[0]
	r := g.Node("Reshape", []string{c, "flat"}, []string{"flat_out"})[0]
	t := g.Node("Transpose", []string{r}, []string{"tokens"}, onnx.AttrInts("perm", 0, 2, 1))[0]
	w.out(g, t, "image_embeddings", 1, samTokens, samWidth)
	return w.save("sam2_encoder.onnx", g,
		[]map[string]any{io("image", w.dt, 1, 3, S, S)},
		[]map[string]any{{"role": "embeddings", "name": "image_embeddings", "dtype": w.dt, "shape": []any{1, samTokens, samWidth}}})
}

// Tokenizer ids of the oracle vocabulary: 256 byte symbols, the same with "</w>", then BOS, EOS.
const (
	vocabBOS = 512
	vocabEOS = 513
	vocabLen = 514
)

func (w *writer) textEncoder() (map[string]any, error) {
	g := onnx.NewGraph("oracle_text_encoder")
	g.Input("input_ids", onnx.Int64, -1, textLen)
	table := make([]float32, vocabLen*textWidth)
	for i := range table {
		table[i] = float32(math.Cos(float64(i)*0.013)) * 0.1
	}
	g.Initializer("table", onnx.Float, []int64{vocabLen, textWidth}, table)
	h := g.Node("Gather", []string{"table", "input_ids"}, []string{"hidden_f32"}, onnx.AttrInt("axis", 0))[0]
	w.out(g, h, "last_hidden_state", -1, textLen, textWidth)
	return w.save("text_encoder.onnx", g,
		[]map[string]any{io("input_ids", "int64", "B", textLen)},
		[]map[string]any{{"role": "hidden", "name": "last_hidden_state", "dtype": w.dt, "shape": []any{"B", textLen, textWidth}}})
}

func (w *writer) tagger() (map[string]any, error) {
	g := onnx.NewGraph("oracle_tagger")
	x := w.in(g, "image", 1, 3, 384, 384)
	m := g.Node("ReduceMean", []string{x}, []string{"means"}, onnx.AttrInts("axes", 2, 3), onnx.AttrInt("keepdims", 0))[0]
	p := g.Node("Sigmoid", []string{m}, []string{"p"})[0]
	w.out(g, p, "probs", 1, 3)
	return w.save("tagger.onnx", g,
		[]map[string]any{io("image", w.dt, 1, 3, 384, 384)},
		[]map[string]any{io("probs", w.dt, 1, 3)})
}

// tokenizer writes a byte-level vocabulary (no merges beyond a few) in Hugging Face's format.
func (w *writer) tokenizer() (map[string]any, error) {
	vocab := map[string]int{}
	n := 0
	for b := 0; b < 256; b++ {
		var r rune
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			r = rune(b)
		} else {
			r = rune(256 + n)
			n++
		}
		vocab[string(r)] = b
		vocab[string(r)+"</w>"] = 256 + b
	}
	vocab["<|startoftext|>"] = vocabBOS
	vocab["<|endoftext|>"] = vocabEOS
	b, err := json.Marshal(vocab)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "vocab.json"), b, 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(w.dir, "merges.txt"), []byte("#version: 0.2\n"), 0o644); err != nil {
		return nil, err
	}
	return map[string]any{"vocab": "vocab.json", "merges": "merges.txt", "max_length": textLen,
		"bos_id": vocabBOS, "eos_id": vocabEOS, "pad_id": 0}, nil
}

func writeF32(path string, data []float32) error {
	b := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return os.WriteFile(path, b, 0o644)
}
