// Package diffusion is the diffusion super-resolution runtime of the seed method (SeeSR with SAM2
// semantic guidance) on ONNX Runtime: a bundle of graphs described by a manifest, DDPM ancestral
// or DDIM sampling, latent tiling with Gaussian blending, VAE decoding and colour correction.
//
// A bundle is a directory with manifest.json (see Manifest) naming the SAM2 image encoder, the
// denoiser (ControlNet and UNet as one graph), the VAE decoder, optionally the VAE encoder, the text
// encoder with its tokenizer and the tagger, and the precomputed prompt embeddings. Package
// sr/diffusion/oracle writes small bundles whose right answer is known, which is how the runtime is
// tested; sr/diffusion/synthetic writes bundles with the method's real architecture and random
// weights, which is how its cost is measured (Bench); tools/export turns the published checkpoints
// into a real bundle. A bundle may add a cached variant of the denoiser (sam_kv and denoiser_kv):
// the SAM keys and values of every image transformer, projected once per scene, which the host
// sampler then uses instead of the SAM context.
//
// Per frame (the method's inference, see shared/method/seesr-sam2.md): the input is resized to the
// process size (bicubic), encoded to a start latent or drawn as noise, denoised over the sampler's
// timesteps (classifier-free guidance as one batch-2 run when Guidance > 1; windows of 96 latents
// blended with Gaussian weights above 96x96 latents), decoded, colour corrected against the
// resized input and resized to the output size. The SAM2 embedding and the prompt embeddings are
// per-scene constants; the noise is seeded from (Seed, frame index) or (Seed, scene).
//
// Settings of the published runs (run.sh) are the defaults: start point noise, 50 DDPM steps,
// and the preset of the track (Preset): wild at scale 1, synthetic at any other scale. SAM2's and
// the tagger's inputs are the input frame resized to their squares by plain bilinear interpolation
// without antialiasing (torchvision 0.15's Resize on a tensor), then normalised. With an fp16
// denoiser the latent is kept in fp16 between steps, as the reference's follows its fp16 prompt
// embeddings.
//
// Every remaining departure from the published code, with its measured effect:
//   - the schedule is computed in float64 (diffusers: float32): abar differs by at most 2.1e-6
//     relative (float32 emulation of the same formula);
//   - each step's arithmetic is float32 and only its result is rounded to fp16, where torch rounds
//     every fp16 operation: that difference is not measured (no torch here); for scale, keeping the
//     latent in fp16 at all moves the fp16 oracle's output by 92 dB PSNR (TestLatentFP16);
//   - images stay float32 between resizes (the script rounds to 8-bit PIL images): a rounding of at
//     most 0.5/255 per resize, about 59 dB PSNR for each such rounding (uniform error), not
//     measured against the script;
//   - the start point lr uses the VAE posterior mean, not a sample, so that a seed fixes the output
//     (the sample's standard deviation is the VAE's; not measured without real weights);
//   - above 1968 pixels a side the VAE encoder and decoder are tiled without the reference's
//     shared GroupNorm statistics: exact on the oracles (which have no GroupNorm), not measured on
//     real weights; up to 1968 pixels (every 720p and 1080p frame) both run untiled, which is what
//     the reference's shared statistics reproduce;
//   - the noise comes from a PCG generator (math/rand/v2), not torch's, so equal seeds do not give
//     the reference's images (the same distribution, checked by TestDDPMMarginals);
//   - DDIM (not in the method) uses the same leading timesteps with abar_prev = 1 past the end, so
//     its last step returns the predicted x0.
package diffusion

import (
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/ugcsr/ugcsr/sr/ort"
)

// DefaultSteps is the number of sampler steps of the published runs.
const DefaultSteps = 50

// Preset names a track of the published runs (run.sh): its guidance scale and the prompt added to
// "<tags>, <user prompt>,".
type Preset string

// The published runs' tracks.
const (
	// PresetWild is the UGC track: restoration at the same size, guidance 8.5.
	PresetWild Preset = "wild"
	// PresetSynthetic is the x4 track (the one trained for upscaling): guidance 0.9, which turns
	// classifier-free guidance off.
	PresetSynthetic Preset = "synthetic"
)

// Presets lists the presets in a fixed order.
var Presets = []Preset{PresetWild, PresetSynthetic}

// Guidance returns the preset's classifier-free guidance scale.
func (p Preset) Guidance() float64 {
	if p == PresetSynthetic {
		return 0.9
	}
	return 8.5
}

// AddedPrompt returns the prompt the published run appends for the preset (--added_prompt).
func (p Preset) AddedPrompt() string {
	if p == PresetSynthetic {
		return "clean, high-resolution, 8k"
	}
	return "clean, high-resolution, 8k, ultra-detailed, ultra-realistic"
}

// NegativePrompt is the method's negative prompt (both tracks).
const NegativePrompt = "dotted, noise, blur, lowres, smooth"

// ParsePreset parses a preset name; "" is the automatic choice (see Config.Preset).
func ParsePreset(s string) (Preset, error) {
	switch p := Preset(s); p {
	case "", PresetWild, PresetSynthetic:
		return p, nil
	}
	return "", fmt.Errorf("diffusion: unknown preset %q (want wild or synthetic)", s)
}

// presetFor resolves the automatic preset for a frame geometry: wild when the output has the
// input's size, synthetic for any other scale.
func presetFor(p Preset, in, out image.Point) Preset {
	if p != "" {
		return p
	}
	if in == out {
		return PresetWild
	}
	return PresetSynthetic
}

// Sampler names a sampler.
type Sampler string

// Samplers.
const (
	SamplerDDPM Sampler = "ddpm" // ancestral, the method's
	SamplerDDIM Sampler = "ddim" // deterministic (eta 0), for fewer steps
)

// StartPoint names what sampling starts from.
type StartPoint string

// Start points.
const (
	StartNoise StartPoint = "noise" // x_T ~ N(0, I)
	StartLR    StartPoint = "lr"    // x_T = sqrt(abar_999) z_lr + sqrt(1-abar_999) n, z_lr from the VAE encoder
)

// ErrPrompt is returned by Open when Options.Prompt is set but the bundle has no text encoder and
// tokenizer to encode it (its embeddings are precomputed for the default prompts only).
var ErrPrompt = errors.New("diffusion: this bundle has no text encoder to encode a prompt (its prompt embeddings are precomputed)")

// Options are the diffusion backend's own settings (the runtime's are ort.Runtime). Zero values
// select the defaults; Init fills them in.
type Options struct {
	// Steps is the number of sampler steps (optional). It defaults to 50.
	Steps int
	// Preset is wild or synthetic (optional): the published track whose guidance and added prompt
	// are used. It defaults to wild when the output size equals the input size and synthetic at
	// any other scale.
	Preset Preset
	// Guidance is the classifier-free guidance scale (optional). It defaults to the preset's
	// (8.5 wild, 0.9 synthetic); a value <= 1 turns guidance off: batch 1, positive prompt only.
	Guidance float64
	// Sampler is ddpm or ddim (optional). It defaults to ddpm.
	Sampler Sampler
	// StartPoint is noise or lr (optional). It defaults to noise, what both published runs pass
	// (lr, the script's argparse default, needs a VAE encoder).
	StartPoint StartPoint
	// Seed seeds the noise (optional). Equal seeds give equal output.
	Seed int64
	// Prompt is the user prompt (optional). It needs a bundle with a text encoder.
	Prompt string
	// ColorFix is adain, wavelet or none (optional). It defaults to adain.
	ColorFix ColorFix
	// Noise is per-frame or per-scene (optional). It defaults to per-frame. See NoiseSeed.
	Noise NoiseMode
}

// Init fills the defaults and validates what does not depend on a bundle.
func (o *Options) Init() error {
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if _, _, err := timesteps(o.Steps); err != nil {
		return err
	}
	if _, err := ParsePreset(string(o.Preset)); err != nil {
		return err
	}
	if math.IsNaN(o.Guidance) || math.IsInf(o.Guidance, 0) || o.Guidance < 0 {
		return fmt.Errorf("diffusion: guidance %v (want a finite scale >= 0)", o.Guidance)
	}
	switch o.Sampler {
	case "":
		o.Sampler = SamplerDDPM
	case SamplerDDPM, SamplerDDIM:
	default:
		return fmt.Errorf("diffusion: unknown sampler %q (want ddpm or ddim)", o.Sampler)
	}
	switch o.StartPoint {
	case "":
		o.StartPoint = StartNoise
	case StartNoise, StartLR:
	default:
		return fmt.Errorf("diffusion: unknown start point %q (want noise or lr)", o.StartPoint)
	}
	var err error
	if o.ColorFix, err = parseColorFix(string(o.ColorFix)); err != nil {
		return err
	}
	if o.Noise, err = ParseNoiseMode(string(o.Noise)); err != nil {
		return err
	}
	return nil
}

// Config configures Open.
type Config struct {
	Options
	ort.Runtime
	// Logf receives one-line notices (optional). It defaults to discarding them.
	Logf func(format string, args ...any)
}

// forGeometry returns the options of an upscaler for frames of size in -> out: the preset
// resolved and the guidance scale filled from it unless it was given.
func (o Options) forGeometry(in, out image.Point) Options {
	o.Preset = presetFor(o.Preset, in, out)
	if o.Guidance == 0 {
		o.Guidance = o.Preset.Guidance()
	}
	return o
}

// cfg reports whether classifier-free guidance is on (batch 2).
func (o Options) cfg() bool { return o.Guidance > 1 }
