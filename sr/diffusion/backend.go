package diffusion

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/scenecache"
)

// Backend is an opened bundle. It is safe for concurrent use; each pipeline worker gets its own
// Upscaler with its own ONNX Runtime sessions.
type Backend struct {
	m   *Manifest
	cfg Config // Init'ed

	sched *schedule
	neg   []float32            // precomputed text contexts, L*E each
	pos   map[Preset][]float32 // precomputed positive contexts per preset
	textL int
	textE int
	tok   *tokenizer
	tags  []string
	thr   []float32

	open runnerOpener
	// bound selects the device sampler (boundSampler; boundAuto: on CUDA), boundCfg configures it.
	bound    boundMode
	boundCfg boundConfig

	// scene holds the per-scene constants of the segments in flight (SAM2 embedding, text contexts).
	scene *scenecache.Cache[*sceneConsts]

	devMu sync.Mutex
	dev   ort.Device // DeviceAuto until the first session says what it got
	// lowMemory opens sessions with ort.Config.LowMemory (Bench's option).
	lowMemory bool

	n counters
}

// runnerOpener opens one worker's runner of a graph.
type runnerOpener func(role string, spec *GraphSpec) (graphRunner, error)

// counters are the work counts reported through sr.Counter.
type counters struct {
	frames, steps                 atomic.Int64
	sam, samKV, text, tagger, den atomic.Int64
	vaeEnc, vaeDec, sceneComputes atomic.Int64
}

// Counters implements sr.Counter.
func (b *Backend) Counters(visit func(key string, value int64)) {
	visit("frames", b.n.frames.Load())
	visit("steps", b.n.steps.Load())
	visit("sam_encoder_runs", b.n.sam.Load())
	visit("sam_kv_runs", b.n.samKV.Load())
	visit("text_encoder_runs", b.n.text.Load())
	visit("tagger_runs", b.n.tagger.Load())
	visit("denoiser_runs", b.n.den.Load())
	visit("vae_encoder_runs", b.n.vaeEnc.Load())
	visit("vae_decoder_runs", b.n.vaeDec.Load())
	visit("scene_consts_computed", b.n.sceneComputes.Load())
	b.scene.Counters(visit)
}

var _ sr.Counter = (*Backend)(nil)

// Open opens the bundle in dir: it reads the manifest, loads ONNX Runtime, and checks every graph's
// inputs and outputs (names, dtypes, shapes) against the manifest. The error lists every missing
// file and every mismatch.
func Open(dir string, cfg Config) (*Backend, error) {
	m, err := LoadManifest(dir)
	if err != nil {
		return nil, err
	}
	cfg.Runtime.Init()
	if err := cfg.Runtime.Load(); err != nil {
		return nil, fmt.Errorf("diffusion: %w", err)
	}
	if err := CheckGraphs(m); err != nil {
		return nil, err
	}
	b, err := newBackend(m, cfg)
	if err != nil {
		return nil, err
	}
	b.dev = cfg.Device
	b.open = b.openORT
	return b, nil
}

// CheckGraphs opens every graph of m in ONNX Runtime (which must be loaded) and compares its
// inputs and outputs with the manifest's, returning one error that lists every difference.
func CheckGraphs(m *Manifest) error {
	var errs []string
	for _, role := range []string{GraphSAM, GraphDenoiser, GraphVAEDecoder, GraphVAEEncoder, GraphTextEncoder, GraphTagger, GraphSAMKV, GraphDenoiserKV} {
		spec := m.Graphs[role]
		if spec == nil {
			continue
		}
		ins, outs, err := ort.Inspect(ort.Model{Path: m.Path(spec.File)})
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s (%s): %v", role, spec.File, err))
			continue
		}
		errs = append(errs, checkSignature(role, spec, ins, outs)...)
	}
	if len(errs) > 0 {
		return bundleError(m.dir, errs)
	}
	return nil
}

// newBackend prepares a backend on a checked manifest; b.open must be set before use.
func newBackend(m *Manifest, cfg Config) (*Backend, error) {
	if cfg.Logf == nil {
		cfg.Logf = func(string, ...any) {}
	}
	if err := cfg.Options.Init(); err != nil {
		return nil, err
	}
	if cfg.StartPoint == StartLR && !m.Has(GraphVAEEncoder) {
		return nil, fmt.Errorf("diffusion: start point lr needs a VAE encoder, and this bundle has none (use noise)")
	}
	if cfg.Prompt != "" && !m.Has(GraphTextEncoder) {
		return nil, ErrPrompt
	}
	b := &Backend{m: m, cfg: cfg, sched: defaultSchedule, scene: scenecache.New[*sceneConsts](scenecache.Config{Name: "sam"})}
	var err error
	if b.neg, err = m.readTensorFile(m.Embeddings["negative"]); err != nil {
		return nil, fmt.Errorf("%w: embeddings: %w", ErrBundle, err)
	}
	b.pos = map[Preset][]float32{}
	for _, p := range Presets {
		if b.pos[p], err = m.readTensorFile(m.Embeddings[PositiveKey(p)]); err != nil {
			return nil, fmt.Errorf("%w: embeddings: %w", ErrBundle, err)
		}
	}
	b.textL, b.textE = m.Embeddings["negative"].Shape[1], m.Embeddings["negative"].Shape[2]
	if m.Has(GraphTextEncoder) {
		if b.tok, err = loadTokenizer(m); err != nil {
			return nil, err
		}
		if m.Has(GraphTagger) {
			if b.tags, b.thr, err = loadTags(m); err != nil {
				return nil, err
			}
		}
	} else if m.Has(GraphTagger) {
		cfg.Logf("diffusion: %s: the tagger is unused without a text encoder", m.Name)
	}
	return b, nil
}

func loadTags(m *Manifest) ([]string, []float32, error) {
	nb, err := os.ReadFile(m.Path(m.Tags.Names))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: tags: %w", ErrBundle, err)
	}
	tb, err := os.ReadFile(m.Path(m.Tags.Thresholds))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: tags: %w", ErrBundle, err)
	}
	names := strings.Split(strings.TrimRight(string(nb), "\n"), "\n")
	var thr []float32
	for _, f := range strings.Fields(string(tb)) {
		var v float32
		if _, err := fmt.Sscan(f, &v); err != nil {
			return nil, nil, fmt.Errorf("%w: tags: threshold %q: %w", ErrBundle, f, err)
		}
		thr = append(thr, v)
	}
	if len(names) != len(thr) {
		return nil, nil, fmt.Errorf("%w: tags: %d names, %d thresholds", ErrBundle, len(names), len(thr))
	}
	if n := m.Graphs[GraphTagger].io("probs", true).dim(1); n >= 0 && int(n) != len(names) {
		return nil, nil, fmt.Errorf("%w: tags: %d names, the tagger outputs %d", ErrBundle, len(names), n)
	}
	return names, thr, nil
}

// openORT opens an ONNX Runtime session of a graph. The first session resolves DeviceAuto (a CPU
// fallback is logged once); later ones reuse what it got.
func (b *Backend) openORT(role string, spec *GraphSpec) (graphRunner, error) {
	b.devMu.Lock()
	defer b.devMu.Unlock()
	r, err := newORTRunner(b.m, spec, ort.Config{Device: b.dev, Threads: b.cfg.Threads, Logf: b.cfg.Logf, LowMemory: b.lowMemory})
	if err != nil {
		return nil, fmt.Errorf("diffusion: %s: %w", role, err)
	}
	if b.dev == ort.DeviceAuto {
		b.dev = r.sess.Device()
	}
	return r, nil
}

// Device returns the execution provider the sessions run on (auto until the first Upscaler).
func (b *Backend) Device() string {
	b.devMu.Lock()
	defer b.devMu.Unlock()
	return b.dev.String()
}

// Name implements sr.Backend.
func (b *Backend) Name() string { return "diffusion:" + b.m.Name }

// Caps implements sr.Backend: whole frames (SAM2 embeds the frame), per-scene constants, one
// worker (the sessions use every core).
func (b *Backend) Caps() sr.Caps { return sr.Caps{WholeFrames: true, SceneConstants: true} }

// Manifest returns the bundle's manifest.
func (b *Backend) Manifest() *Manifest { return b.m }

// Close implements sr.Backend. Upscalers must be closed first.
func (b *Backend) Close() error { return nil }

// NewUpscaler implements sr.Backend.
func (b *Backend) NewUpscaler(spec sr.Spec) (sr.Upscaler, error) {
	u, err := b.newUpscaler(spec)
	if err != nil {
		return nil, err
	}
	return u, nil
}
