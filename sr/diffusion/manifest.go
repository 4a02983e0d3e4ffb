package diffusion

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// ManifestName is the file that describes a bundle.
const ManifestName = "manifest.json"

// ManifestFormat is the value of Manifest.Format this package reads.
const ManifestFormat = "ugcsr-diffusion/1"

// Graph roles: the keys of Manifest.Graphs.
const (
	GraphSAM         = "sam_encoder"  // required
	GraphDenoiser    = "denoiser"     // required: ControlNet + UNet
	GraphVAEDecoder  = "vae_decoder"  // required
	GraphVAEEncoder  = "vae_encoder"  // optional: start point lr
	GraphTextEncoder = "text_encoder" // optional: Prompt (needs Tokenizer)
	GraphTagger      = "tagger"       // optional: tags in the prompt (needs the text encoder and Tags)
	// GraphSAMKV and GraphDenoiserKV are optional and go together: the SAM keys and values of every
	// image transformer, projected once per scene, and the denoiser that takes them instead of the
	// SAM context (Bench times both; the upscaler does not use them yet).
	GraphSAMKV      = "sam_kv"
	GraphDenoiserKV = "denoiser_kv"
)

// graphIO lists, per graph role, the input roles and output roles the runtime feeds and reads.
// The ranks are fixed: B is the batch (1, or 2 with guidance), C the latent channels, h x w a
// latent window, H x W = 8h x 8w pixels, L x E the text context, T x D the SAM tokens.
var graphIO = map[string]struct{ in, out []ioRole }{
	GraphSAM: {
		in:  []ioRole{{"image", 4, "[1,3,S,S] float, ImageNet-normalised"}},
		out: []ioRole{{"embeddings", 3, "[1,T,D]"}},
	},
	GraphDenoiser: {
		in: []ioRole{
			{"sample", 4, "[B,C,h,w] latent"},
			{"timestep", 1, "[B] int64 (or float)"},
			{"text", 3, "[B,L,E] text context"},
			{"sam", 3, "[B,T,D or 2D] SAM context"},
			{"cond", 4, "[B,3,8h,8w] condition image in [0,1]"},
		},
		out: []ioRole{{"eps", 4, "[B,C,h,w] predicted noise"}},
	},
	GraphVAEDecoder: {
		in:  []ioRole{{"latent", 4, "[1,C,h,w], the latent divided by latent_scale"}},
		out: []ioRole{{"image", 4, "[1,3,8h,8w] in [-1,1]"}},
	},
	GraphVAEEncoder: {
		in:  []ioRole{{"image", 4, "[1,3,8h,8w] in [-1,1]"}},
		out: []ioRole{{"latent", 4, "[1,C,h,w] latent mean, before latent_scale"}},
	},
	GraphTextEncoder: {
		in:  []ioRole{{"input_ids", 2, "[B,L] int64 token ids"}},
		out: []ioRole{{"hidden", 3, "[B,L,E]"}},
	},
	GraphSAMKV: {
		in:  []ioRole{{"sam", 3, "[1,T,D] SAM context"}},
		out: []ioRole{{"kv", 2, "[1,K] every image transformer's keys and values"}},
	},
	GraphDenoiserKV: {
		in: []ioRole{
			{"sample", 4, "[B,C,h,w] latent"},
			{"timestep", 1, "[B] int64 (or float)"},
			{"text", 3, "[B,L,E] text context"},
			{"kv", 2, "[1,K] sam_kv's output"},
			{"cond", 4, "[B,3,8h,8w] condition image in [0,1]"},
		},
		out: []ioRole{{"eps", 4, "[B,C,h,w] predicted noise"}},
	},
	GraphTagger: {
		in:  []ioRole{{"image", 4, "[1,3,S,S] float, ImageNet-normalised"}},
		out: []ioRole{{"probs", 2, "[1,N] tag probabilities"}},
	},
}

type ioRole struct {
	role string
	rank int
	what string
}

// Manifest describes a diffusion bundle: a directory of ONNX graphs, precomputed prompt embeddings
// and settings. It is the bundle's manifest.json; paths in it are relative to the bundle.
type Manifest struct {
	// Format must be ManifestFormat.
	Format string `json:"format"`
	// Name identifies the bundle in logs (optional). It defaults to the directory name.
	Name string `json:"name,omitempty"`
	// LatentChannels is C: 4 for the SD VAE, 192 for the lossless oracle.
	LatentChannels int `json:"latent_channels"`
	// LatentScale multiplies the VAE encoder's output and divides the decoder's input (0.18215).
	// Neither graph applies it.
	LatentScale float64 `json:"latent_scale"`
	// Scheduler is the training noise schedule; only the seed method's is accepted.
	Scheduler SchedulerSpec `json:"scheduler"`
	// Prompt holds the prompt texts used with a text encoder.
	Prompt PromptSpec `json:"prompt"`
	// Graphs maps a role (GraphSAM, GraphDenoiser, ...) to its ONNX file and signature.
	Graphs map[string]*GraphSpec `json:"graphs"`
	// Embeddings holds the precomputed text contexts (required): "negative" and, for each preset,
	// its positive prompt ", ," + the preset's added prompt (no tags, no user prompt) under
	// PositiveKey(preset).
	Embeddings map[string]*TensorFile `json:"embeddings"`
	// Tokenizer is the CLIP BPE tokenizer of the text encoder (optional).
	Tokenizer *TokenizerSpec `json:"tokenizer,omitempty"`
	// Tags lists the tagger's tag names and thresholds (optional).
	Tags *TagSpec `json:"tags,omitempty"`
	// DenoiserMACs is the multiply-accumulate count of one denoiser pass at batch 1 for a latent
	// of DenoiserMACsAt (h, w) (optional). When absent, Bench counts it from the ONNX graph.
	DenoiserMACs   int64  `json:"denoiser_macs,omitempty"`
	DenoiserMACsAt [2]int `json:"denoiser_macs_at,omitzero"`

	dir string
}

// SchedulerSpec is the diffusers scheduler configuration of the bundle.
type SchedulerSpec struct {
	TrainTimesteps  int     `json:"num_train_timesteps"`
	BetaStart       float64 `json:"beta_start"`
	BetaEnd         float64 `json:"beta_end"`
	BetaSchedule    string  `json:"beta_schedule"`
	Prediction      string  `json:"prediction_type"`
	TimestepSpacing string  `json:"timestep_spacing"`
	StepsOffset     int     `json:"steps_offset"`
}

// DefaultScheduler is the seed method's schedule: SD2-base's DDPM settings.
var DefaultScheduler = SchedulerSpec{
	TrainTimesteps: trainSteps, BetaStart: betaStart, BetaEnd: betaEnd, BetaSchedule: "scaled_linear",
	Prediction: "epsilon", TimestepSpacing: "leading", StepsOffset: stepsOffset,
}

// PromptSpec holds the prompt texts of the method.
type PromptSpec struct {
	// Added maps each preset to the prompt appended to "<tags>, <user prompt>," (see
	// Preset.AddedPrompt for the published runs').
	Added map[Preset]string `json:"added"`
	// Negative is the negative prompt ("dotted, noise, blur, lowres, smooth").
	Negative string `json:"negative"`
}

// GraphSpec is one ONNX graph of a bundle.
type GraphSpec struct {
	// File is the .onnx file (its external data, if any, lies beside it).
	File string `json:"file"`
	// Inputs and Outputs are the graph's signature; Role says what the runtime feeds or reads
	// through each (it defaults to Name).
	Inputs  []IOSpec `json:"inputs"`
	Outputs []IOSpec `json:"outputs"`
}

// IOSpec is one input or output of a graph.
type IOSpec struct {
	Role  string `json:"role,omitempty"`
	Name  string `json:"name"`
	DType string `json:"dtype"` // float32, float16 or int64
	Shape []Dim  `json:"shape"`
}

// Dim is a dimension: a size, or a symbol (JSON string) for a size that varies.
type Dim struct {
	Size  int64  // -1 when symbolic
	Param string // the symbol, when symbolic
}

// MarshalJSON writes a size as a number and a symbol as a string.
func (d Dim) MarshalJSON() ([]byte, error) {
	if d.Size < 0 {
		return json.Marshal(d.Param)
	}
	return []byte(strconv.FormatInt(d.Size, 10)), nil
}

// UnmarshalJSON reads a number or a string.
func (d *Dim) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		d.Size = -1
		return json.Unmarshal(b, &d.Param)
	}
	return json.Unmarshal(b, &d.Size)
}

func shapeString(s []Dim) string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d.Size < 0 {
			parts[i] = d.Param
		} else {
			parts[i] = strconv.FormatInt(d.Size, 10)
		}
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// PositiveKey names the precomputed positive text context of a preset in Manifest.Embeddings.
func PositiveKey(p Preset) string { return "positive_" + string(p) }

// embeddingKeys lists the embeddings every bundle has: "negative" first, then each preset's
// positive context.
func embeddingKeys() []string {
	keys := []string{"negative"}
	for _, p := range Presets {
		keys = append(keys, PositiveKey(p))
	}
	return keys
}

// TensorFile is a raw little-endian tensor (float32, or float16 bits) in a file of its own.
type TensorFile struct {
	File  string `json:"file"`
	DType string `json:"dtype"`
	Shape []int  `json:"shape"`
	// Prompt is the text the tensor encodes (informational).
	Prompt string `json:"prompt,omitempty"`
}

// TokenizerSpec locates a CLIP BPE tokenizer (vocab.json and merges.txt as Hugging Face ships them).
type TokenizerSpec struct {
	Vocab     string `json:"vocab"`
	Merges    string `json:"merges"`
	MaxLength int    `json:"max_length"` // 77
	BOS       int64  `json:"bos_id"`     // 49406
	EOS       int64  `json:"eos_id"`     // 49407
	Pad       int64  `json:"pad_id"`     // 0 for SD2 (OpenCLIP)
}

// TagSpec lists the tagger's tags: one name per line, and one threshold per line.
type TagSpec struct {
	Names      string `json:"names"`
	Thresholds string `json:"thresholds"`
}

// ErrBundle is wrapped by every error about a bundle that does not match what the runtime needs
// or what its manifest declares. The error text lists every problem found.
var ErrBundle = errors.New("diffusion: bad bundle")

// LoadManifest reads dir/manifest.json and checks it on its own (files present, roles, shapes that
// agree with each other). Checking the graphs themselves against it needs ONNX Runtime; see Open.
func LoadManifest(dir string) (*Manifest, error) {
	b, err := os.ReadFile(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBundle, err)
	}
	m := &Manifest{}
	if err := json.Unmarshal(b, m); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBundle, ManifestName, err)
	}
	m.dir = dir
	if m.Name == "" {
		m.Name = filepath.Base(filepath.Clean(dir))
	}
	if errs := m.check(); len(errs) > 0 {
		return nil, bundleError(dir, errs)
	}
	return m, nil
}

func bundleError(dir string, errs []string) error {
	return fmt.Errorf("%w %s:\n  %s", ErrBundle, dir, strings.Join(errs, "\n  "))
}

// Write stores m as dir/manifest.json.
func (m *Manifest) Write(dir string) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), append(b, '\n'), 0o644)
}

// Path returns the path of a file of the bundle.
func (m *Manifest) Path(file string) string { return filepath.Join(m.dir, file) }

// Has reports whether the bundle has a graph for role.
func (m *Manifest) Has(role string) bool { return m.Graphs[role] != nil }

// io returns the spec of a role of graph g (nil when absent).
func (g *GraphSpec) io(role string, outputs bool) *IOSpec {
	list := g.Inputs
	if outputs {
		list = g.Outputs
	}
	for i := range list {
		if list[i].role() == role {
			return &list[i]
		}
	}
	return nil
}

func (s *IOSpec) role() string {
	if s.Role != "" {
		return s.Role
	}
	return s.Name
}

// dim returns dimension i as a size, or -1 when symbolic or absent.
func (s *IOSpec) dim(i int) int64 {
	if s == nil || i >= len(s.Shape) {
		return -1
	}
	return s.Shape[i].Size
}

func parseDType(s string) (onnx.DType, bool) {
	switch s {
	case "float32", "float":
		return onnx.Float, true
	case "float16":
		return onnx.Float16, true
	case "int64":
		return onnx.Int64, true
	}
	return 0, false
}

// check validates the manifest without ONNX Runtime and returns every problem.
func (m *Manifest) check() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if m.Format != ManifestFormat {
		bad("format %q, want %q", m.Format, ManifestFormat)
	}
	if m.LatentChannels <= 0 {
		bad("latent_channels %d: must be > 0", m.LatentChannels)
	}
	if !(m.LatentScale > 0) {
		bad("latent_scale %v: must be > 0", m.LatentScale)
	}
	if s := m.Scheduler; s != DefaultScheduler {
		bad("scheduler %+v: only %+v is supported", s, DefaultScheduler)
	}
	for _, role := range []string{GraphSAM, GraphDenoiser, GraphVAEDecoder} {
		if m.Graphs[role] == nil {
			bad("graphs: %s missing", role)
		}
	}
	for role, g := range m.Graphs {
		want, ok := graphIO[role]
		if !ok {
			bad("graphs: unknown role %q", role)
			continue
		}
		if g == nil {
			bad("graphs: %s: null", role)
			continue
		}
		if _, err := os.Stat(m.Path(g.File)); err != nil {
			bad("%s: file: %v", role, err)
		}
		for _, side := range []struct {
			list  []IOSpec
			roles []ioRole
			what  string
			out   bool
		}{{g.Inputs, want.in, "input", false}, {g.Outputs, want.out, "output", true}} {
			for _, r := range side.roles {
				s := g.io(r.role, side.out)
				if s == nil {
					bad("%s: %s %q (%s) missing", role, side.what, r.role, r.what)
					continue
				}
				if _, ok := parseDType(s.DType); !ok {
					bad("%s: %s %q: dtype %q (want float32, float16 or int64)", role, side.what, s.Name, s.DType)
				}
				if len(s.Shape) != r.rank {
					bad("%s: %s %q: shape %s has rank %d, want %d (%s)", role, side.what, s.Name, shapeString(s.Shape), len(s.Shape), r.rank, r.what)
				}
			}
		}
	}
	for _, k := range embeddingKeys() {
		e := m.Embeddings[k]
		if e == nil {
			bad("embeddings: %s missing", k)
			continue
		}
		if len(e.Shape) != 3 || e.Shape[0] != 1 {
			bad("embeddings: %s: shape %v, want [1,L,E]", k, e.Shape)
		}
		if e.DType != "float32" && e.DType != "float16" {
			bad("embeddings: %s: dtype %q (want float32 or float16)", k, e.DType)
		}
		if st, err := os.Stat(m.Path(e.File)); err != nil {
			bad("embeddings: %s: %v", k, err)
		} else if n := tensorBytes(e); st.Size() != n {
			bad("embeddings: %s: %s has %d bytes, shape %v %s needs %d", k, e.File, st.Size(), e.Shape, e.DType, n)
		}
	}
	if len(errs) > 0 {
		return errs
	}
	errs = append(errs, m.checkAgreement()...)
	return errs
}

// checkAgreement checks that the graphs' sizes agree with each other and with the embeddings.
func (m *Manifest) checkAgreement() []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	agree := func(what string, a, b int64) {
		if a >= 0 && b >= 0 && a != b {
			bad("%s: %d vs %d", what, a, b)
		}
	}
	den := m.Graphs[GraphDenoiser]
	c := int64(m.LatentChannels)
	agree("denoiser sample channels vs latent_channels", den.io("sample", false).dim(1), c)
	agree("denoiser eps channels vs latent_channels", den.io("eps", true).dim(1), c)
	agree("denoiser cond channels vs 3", den.io("cond", false).dim(1), 3)
	agree("vae_decoder latent channels vs latent_channels", m.Graphs[GraphVAEDecoder].io("latent", false).dim(1), c)
	agree("vae_decoder image channels vs 3", m.Graphs[GraphVAEDecoder].io("image", true).dim(1), 3)
	if enc := m.Graphs[GraphVAEEncoder]; enc != nil {
		agree("vae_encoder latent channels vs latent_channels", enc.io("latent", true).dim(1), c)
	}
	neg := m.Embeddings["negative"]
	for _, k := range embeddingKeys()[1:] {
		if pos := m.Embeddings[k]; neg.Shape[1] != pos.Shape[1] || neg.Shape[2] != pos.Shape[2] {
			bad("embeddings: negative %v vs %s %v", neg.Shape, k, pos.Shape)
		}
	}
	text := den.io("text", false)
	agree("denoiser text length vs embeddings", text.dim(1), int64(neg.Shape[1]))
	agree("denoiser text width vs embeddings", text.dim(2), int64(neg.Shape[2]))
	sam := m.Graphs[GraphSAM]
	img := sam.io("image", false)
	if img.dim(2) <= 0 || img.dim(3) <= 0 {
		bad("sam_encoder image: shape %s must be fixed", shapeString(img.Shape))
	}
	emb := sam.io("embeddings", true)
	if emb.dim(1) <= 0 || emb.dim(2) <= 0 {
		bad("sam_encoder embeddings: shape %s must be fixed", shapeString(emb.Shape))
	}
	ds := den.io("sam", false)
	agree("denoiser sam tokens vs sam_encoder", ds.dim(1), emb.dim(1))
	if d, e := ds.dim(2), emb.dim(2); d >= 0 && e > 0 && d != e && d != 2*e {
		bad("denoiser sam width %d: want the sam_encoder's %d or twice it", d, e)
	}
	if te := m.Graphs[GraphTextEncoder]; te != nil {
		if m.Tokenizer == nil {
			bad("text_encoder needs a tokenizer")
		}
		h := te.io("hidden", true)
		agree("text_encoder length vs embeddings", h.dim(1), int64(neg.Shape[1]))
		agree("text_encoder width vs embeddings", h.dim(2), int64(neg.Shape[2]))
		for _, p := range Presets {
			if _, ok := m.Prompt.Added[p]; !ok {
				bad("prompt: added: %s missing (a text encoder needs each preset's added prompt)", p)
			}
		}
	}
	if m.Tokenizer != nil {
		for _, f := range []string{m.Tokenizer.Vocab, m.Tokenizer.Merges} {
			if _, err := os.Stat(m.Path(f)); err != nil {
				bad("tokenizer: %v", err)
			}
		}
		if m.Tokenizer.MaxLength != neg.Shape[1] {
			bad("tokenizer max_length %d vs embeddings length %d", m.Tokenizer.MaxLength, neg.Shape[1])
		}
	}
	if m.Has(GraphSAMKV) != m.Has(GraphDenoiserKV) {
		bad("sam_kv and denoiser_kv go together")
	} else if kv := m.Graphs[GraphSAMKV]; kv != nil {
		agree("sam_kv output vs denoiser_kv input", kv.io("kv", true).dim(1), m.Graphs[GraphDenoiserKV].io("kv", false).dim(1))
		agree("sam_kv sam tokens vs denoiser", kv.io("sam", false).dim(1), ds.dim(1))
		agree("sam_kv sam width vs denoiser", kv.io("sam", false).dim(2), ds.dim(2))
	}
	if tg := m.Graphs[GraphTagger]; tg != nil {
		if m.Tags == nil {
			bad("tagger needs tags")
		}
		if tg.io("image", false).dim(2) <= 0 {
			bad("tagger image: shape must be fixed")
		}
	}
	return errs
}

func tensorBytes(e *TensorFile) int64 {
	n := int64(1)
	for _, d := range e.Shape {
		n *= int64(d)
	}
	if e.DType == "float16" {
		return 2 * n
	}
	return 4 * n
}

// readTensorFile reads a TensorFile as float32.
func (m *Manifest) readTensorFile(e *TensorFile) ([]float32, error) {
	b, err := os.ReadFile(m.Path(e.File))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) != tensorBytes(e) {
		return nil, fmt.Errorf("%s: %d bytes, want %d", e.File, len(b), tensorBytes(e))
	}
	if e.DType == "float16" {
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = onnx.Float16ToFloat32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	}
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out, nil
}

// WriteTensorFile stores data as a raw little-endian float32 or float16 tensor file.
func WriteTensorFile(path, dtype string, data []float32) error {
	var b []byte
	switch dtype {
	case "float32":
		b = make([]byte, 4*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
		}
	case "float16":
		b = make([]byte, 2*len(data))
		for i, v := range data {
			binary.LittleEndian.PutUint16(b[2*i:], onnx.Float32ToFloat16(v))
		}
	default:
		return fmt.Errorf("diffusion: tensor dtype %q (want float32 or float16)", dtype)
	}
	return os.WriteFile(path, b, 0o644)
}
