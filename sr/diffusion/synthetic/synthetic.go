// Package synthetic writes a diffusion bundle with the seed method's real architecture and random
// weights (fixed seed), to measure what the method costs where its published weights cannot be
// downloaded.
//
// The denoiser is SeeSR's ControlNet and UNet as one graph: Stable Diffusion 2 base's UNet
// (diffusers UNet2DConditionModel: widths 320, 640, 1280, 1280, 2 ResNets per down block and 3 per
// up block, 5/10/20/20 heads of 64, linear transformer projections, GroupNorm 32, SiLU, GEGLU) in
// which every text transformer is followed by a second, image transformer attending to the 4096
// SAM tokens of width 512 (the `image_attentions` of models/unet_2d_blocks.py in
// Moonsofang/NTIRE-2025-SRlab, built with `image_cross_attention_dim=512`, in the down, mid and up
// blocks), and its ControlNet built the same way (models/controlnet.py there: the condition
// embedding 3 -> 16 -> 32 -> 96 -> 256 -> 320, a copy of the down and mid blocks, 1x1 convolutions
// on the 12 down states and the mid output, added to the UNet's skips and mid output). The VAE is
// AutoencoderKL with SD's configuration (128, 256, 512, 512; 2 ResNets per encoder block, 3 per
// decoder block, one mid attention). The SAM2 encoder is a stand-in of Hiera-T's size (see
// samEncoder). The facts are those of ../shared/method/seesr-sam2.md.
//
// Parameters are stored in float16 (or float32) in external-data files beside each graph; the
// graphs compute in float32 (Cast nodes after the weights, which ONNX Runtime folds) or float16.
// Graph inputs and outputs are float16, as in a real export. Config.DenoiserCost and the other
// closed forms count parameters and MACs from the configuration; the tests hold the graphs to them.
package synthetic

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// Options selects what Write writes. The zero value needs a Config.
type Options struct {
	Config Config
	// Seed seeds the weights (optional). Equal seeds give equal bundles.
	Seed uint64
	// Weights is the stored parameter type (optional): onnx.Float16 (the default) or onnx.Float.
	Weights onnx.DType
	// Compute is the type the graphs compute in (optional): onnx.Float (the default: ONNX Runtime's
	// fast CPU kernels are float32) or onnx.Float16 (GPUs).
	Compute onnx.DType
	// StructureOnly writes the graphs and the manifest but no weights (their files are absent): for
	// counting, not running.
	StructureOnly bool
	// KV adds the cached-K/V variant: sam_kv.onnx and denoiser_kv.onnx (optional).
	KV bool
}

// Graph files of a bundle.
const (
	FileSAM       = "sam2_encoder.onnx"
	FileDenoiser  = "denoiser.onnx"
	FileDecoder   = "vae_decoder.onnx"
	FileEncoder   = "vae_encoder.onnx"
	FileSAMKV     = "sam_kv.onnx"      // the SAM keys and values of every image transformer, once per scene
	FileDenoiserK = "denoiser_kv.onnx" // the denoiser taking them instead of the SAM tokens
)

// Report is what Write wrote: per graph file, the parameters it holds.
type Report struct {
	Params map[string]int64
}

// Write writes a synthetic bundle into dir (created if needed; files of the same names are
// replaced).
func Write(dir string, o Options) (*Report, error) {
	c := o.Config
	if err := c.check(); err != nil {
		return nil, err
	}
	if o.Weights == 0 {
		o.Weights = onnx.Float16
	}
	if o.Compute == 0 {
		o.Compute = onnx.Float
	}
	if (o.Weights != onnx.Float16 && o.Weights != onnx.Float) || (o.Compute != onnx.Float16 && o.Compute != onnx.Float) {
		return nil, fmt.Errorf("synthetic: weights %v, compute %v (want FLOAT16 or FLOAT)", o.Weights, o.Compute)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("synthetic: %w", err)
	}
	rep := &Report{Params: map[string]int64{}}
	graphs := []struct {
		file  string
		build func(*builder)
	}{
		{FileSAM, func(b *builder) { b.samEncoder(c) }},
		{FileDenoiser, func(b *builder) { b.denoiser(c, false) }},
		{FileDecoder, func(b *builder) { b.vaeDecoder(c) }},
		{FileEncoder, func(b *builder) { b.vaeEncoder(c) }},
		{FileSAMKV, func(b *builder) { b.samKV(c) }},
		{FileDenoiserK, func(b *builder) { b.denoiser(c, true) }},
	}
	if !o.KV {
		graphs = graphs[:4]
	}
	for _, g := range graphs {
		w := &weights{location: g.file + ".data", dtype: o.Weights, seed: o.Seed}
		if !o.StructureOnly {
			f, err := os.Create(filepath.Join(dir, w.location))
			if err != nil {
				return nil, fmt.Errorf("synthetic: %w", err)
			}
			w.f, w.w = f, bufio.NewWriterSize(f, 1<<20)
		}
		b := &builder{g: onnx.NewGraph(g.file), w: w, ct: o.Compute}
		g.build(b)
		if err := b.marshal(filepath.Join(dir, g.file)); err != nil {
			w.close()
			return nil, fmt.Errorf("synthetic: %s: %w", g.file, err)
		}
		rep.Params[g.file] = b.params
	}
	if err := writeManifest(dir, c, o.Seed, o.KV, o.Compute); err != nil {
		return nil, err
	}
	return rep, nil
}

// denoiser builds the ControlNet + UNet graph; with kv it takes the image transformers' keys and
// values (sam_kv's output) instead of the SAM tokens.
func (b *builder) denoiser(c Config, kv bool) {
	lat := int64(c.LatentChannels)
	sample := b.input("sample", onnx.Float16, -1, lat, -1, -1)
	b.g.Input("timestep", onnx.Int64, -1)
	d := &denoiserNet{b: b, c: c}
	d.text = b.input("encoder_hidden_states", onnx.Float16, -1, int64(c.TextLen), int64(c.TextWidth))
	if kv {
		widths, heads := c.imageTransformers()
		T := int64(c.SAMTokens)
		var total int64
		for _, w := range widths {
			total += 2 * T * w
		}
		all := b.input("sam_kv", b.ct, 1, total)
		var off int64
		for i, w := range widths {
			h := heads[i]
			k := b.op("Slice", []string{all, b.ints(off), b.ints(off + T*w), b.ints(1)})
			v := b.op("Slice", []string{all, b.ints(off + T*w), b.ints(off + 2*T*w), b.ints(1)})
			off += 2 * T * w
			d.samKV = append(d.samKV, [2]string{
				b.op("Reshape", []string{k, b.ints(1, h, w/h, T)}),
				b.op("Reshape", []string{v, b.ints(1, h, T, w/h)}),
			})
		}
	} else {
		d.sam = b.input("sam_hidden_states", onnx.Float16, -1, int64(c.SAMTokens), int64(c.SAMWidth))
	}
	cond := b.input("controlnet_cond", onnx.Float16, -1, 3, -1, -1)
	res, mid := d.controlNet(sample, "timestep", cond)
	eps := d.unet(sample, "timestep", res, mid)
	b.output(eps, "noise_pred", onnx.Float16, -1, lat, -1, -1)
}

// samKV builds the graph that projects the SAM tokens [1, T, D] once per scene into every image
// transformer's keys ([h, d, T], transposed for the product) and values ([h, T, d]), flattened and
// concatenated in the order the denoiser runs them. Its output is in the compute type, so the
// cached denoiser sees the values the plain one computes.
func (b *builder) samKV(c Config) {
	sam := b.input("sam_hidden_states", onnx.Float16, 1, int64(c.SAMTokens), int64(c.SAMWidth))
	widths, heads := c.imageTransformers()
	e := int64(c.SAMWidth)
	var parts []string
	var total int64
	names := kvNames(c)
	for i, w := range widths {
		k := b.heads(b.linear(sam, names[i]+".to_k", e, w, false), heads[i], w, true)
		v := b.heads(b.linear(sam, names[i]+".to_v", e, w, false), heads[i], w, false)
		parts = append(parts, b.op("Reshape", []string{k, b.ints(1, -1)}), b.op("Reshape", []string{v, b.ints(1, -1)}))
		total += 2 * int64(c.SAMTokens) * w
	}
	b.output(b.op("Concat", parts, onnx.AttrInt("axis", 1)), "sam_kv", b.ct, 1, total)
}

// kvNames returns the attention names of the image transformers in imageTransformers' order, as
// the denoiser names them (so that sam_kv draws the same weights).
func kvNames(c Config) []string {
	n := len(c.Channels)
	var names []string
	for _, net := range []string{"controlnet", "unet"} {
		for i := range n - 1 {
			for j := range c.Layers {
				names = append(names, fmt.Sprintf("%s.down_blocks.%d.%d.image_attentions.transformer_blocks.0.attn2", net, i, j))
			}
		}
		names = append(names, net+".mid_block.0.image_attentions.transformer_blocks.0.attn2")
	}
	for i := 1; i < n; i++ {
		for j := range c.Layers + 1 {
			names = append(names, fmt.Sprintf("unet.up_blocks.%d.%d.image_attentions.transformer_blocks.0.attn2", i, j))
		}
	}
	return names
}

// writeManifest writes manifest.json (format ugcsr-diffusion/1) and the three text contexts,
// random float16 of the configured size.
func writeManifest(dir string, c Config, seed uint64, kv bool, compute onnx.DType) error {
	f16 := "float16"
	ioSpec := func(role, name, dtype string, shape ...any) map[string]any {
		m := map[string]any{"name": name, "dtype": dtype, "shape": shape}
		if role != "" {
			m["role"] = role
		}
		return m
	}
	lat := c.LatentChannels
	L, E, T, D := c.TextLen, c.TextWidth, c.SAMTokens, c.SAMWidth
	den := func(file string, sam map[string]any) map[string]any {
		return map[string]any{"file": file,
			"inputs": []any{
				ioSpec("sample", "sample", f16, "B", lat, "h", "w"),
				ioSpec("timestep", "timestep", "int64", "B"),
				ioSpec("text", "encoder_hidden_states", f16, "B", L, E),
				sam,
				ioSpec("cond", "controlnet_cond", f16, "B", 3, "H", "W"),
			},
			"outputs": []any{ioSpec("eps", "noise_pred", f16, "B", lat, "h", "w")}}
	}
	unet, cn := c.DenoiserCost(1, 64, 64)
	m := map[string]any{
		"format": "ugcsr-diffusion/1", "name": c.Name, "latent_channels": lat, "latent_scale": 0.18215,
		"scheduler": map[string]any{
			"num_train_timesteps": 1000, "beta_start": 0.00085, "beta_end": 0.012,
			"beta_schedule": "scaled_linear", "prediction_type": "epsilon",
			"timestep_spacing": "leading", "steps_offset": 1,
		},
		"prompt": map[string]any{"added": map[string]string{
			"wild":      "clean, high-resolution, 8k, ultra-detailed, ultra-realistic",
			"synthetic": "clean, high-resolution, 8k",
		}, "negative": "dotted, noise, blur, lowres, smooth"},
		"graphs": map[string]any{
			"sam_encoder": map[string]any{"file": FileSAM,
				"inputs":  []any{ioSpec("", "image", f16, 1, 3, c.SAM.Size, c.SAM.Size)},
				"outputs": []any{ioSpec("embeddings", "image_embeddings", f16, 1, T, D/2)}},
			"denoiser": den(FileDenoiser, ioSpec("sam", "sam_hidden_states", f16, "B", T, D)),
			"vae_decoder": map[string]any{"file": FileDecoder,
				"inputs":  []any{ioSpec("", "latent", f16, 1, lat, "h", "w")},
				"outputs": []any{ioSpec("", "image", f16, 1, 3, "H", "W")}},
			"vae_encoder": map[string]any{"file": FileEncoder,
				"inputs":  []any{ioSpec("", "image", f16, 1, 3, "H", "W")},
				"outputs": []any{ioSpec("", "latent", f16, 1, lat, "h", "w")}},
		},
		"embeddings":       map[string]any{},
		"denoiser_macs":    unet.MACs + cn.MACs,
		"denoiser_macs_at": []int{64, 64},
	}
	if kv {
		n := c.SAMKVCost().Outputs
		ct := map[onnx.DType]string{onnx.Float: "float32", onnx.Float16: f16}[compute]
		graphs := m["graphs"].(map[string]any)
		graphs["sam_kv"] = map[string]any{"file": FileSAMKV,
			"inputs":  []any{ioSpec("sam", "sam_hidden_states", f16, 1, T, D)},
			"outputs": []any{ioSpec("kv", "sam_kv", ct, 1, n)}}
		graphs["denoiser_kv"] = den(FileDenoiserK, ioSpec("kv", "sam_kv", ct, 1, n))
	}
	rng := rand.New(rand.NewPCG(seed, 77))
	for _, k := range []string{"negative", "positive_wild", "positive_synthetic"} {
		b := make([]byte, 2*L*E)
		for i := range L * E {
			binary.LittleEndian.PutUint16(b[2*i:], onnx.Float32ToFloat16(float32(rng.NormFloat64())))
		}
		file := k + ".f16"
		if err := os.WriteFile(filepath.Join(dir, file), b, 0o644); err != nil {
			return fmt.Errorf("synthetic: %w", err)
		}
		m["embeddings"].(map[string]any)[k] = map[string]any{"file": file, "dtype": f16, "shape": []int{1, L, E}, "prompt": k + " (random)"}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'), 0o644)
}
