package diffusion

import (
	"context"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr"
	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/resample"
)

// Upscaler runs the method on one worker's frames. It is not safe for concurrent use.
//
// Memory: besides its sessions it holds the condition image and the decoded image at the process
// size (3 planes each), and about 4 + 2*batch latents (C x h x w float32).
type Upscaler struct {
	b    *Backend
	opt  Options // the backend's, with the preset resolved for this geometry
	spec sr.Spec
	geo  geometry
	plan *blendPlan
	ts   []int
	prev []int

	sam, den, dec, enc, text, tagger *graph
	// samKV, when the bundle has the cached variant (and the steps run on the host), projects the
	// SAM context into every image transformer's keys and values once per scene; u.den is then
	// the denoiser_kv graph, which takes them instead of the SAM context.
	samKV *graph

	// chain resizes in -> pre -> mid -> proc (the condition image), skipping equal sizes; toOut
	// resizes proc -> out (nil when equal)
	chain     []chainStep
	toOut     *resample.Resizer
	cond, img *frame.Frame

	samPrep, tagPrep *linearResizer
	samIn, tagIn     []int64 // input shapes

	// consts supplies the per-scene constants; a cache keyed by frame.Frame.Scene can wrap it
	// (computeConsts is the default).
	consts constsFunc

	c, h, w  int
	batch    int
	halfX    bool      // the latent is kept in fp16 between steps (the denoiser takes fp16 samples)
	x, eps   []float32 // latent, guided noise prediction
	acc      [2][]float32
	z        []float32
	serial   int64 // frames seen, for cond buffer tags
	lastText *textConsts
	hooks    *hooks
	// bound, when set, runs the steps with the latent on the device instead of predict and
	// stepCoeffs.apply on the host; u.den is then nil.
	bound *boundSampler
}

// hooks let tests watch the sampler and break the runtime on purpose, to show that the tests
// catch it. Nil in production.
type hooks struct {
	pasteShift int                                        // stitch tile outputs this many latents right of their windows
	coeffs     func(t, prev int, c stepCoeffs) stepCoeffs // replace a sampler step
	afterStep  func(i, t int, x []float32)                // see the latent after step i (at timestep t)
}

// sceneConsts are the per-scene constants of the denoiser: the SAM2 context and the text contexts.
// They are read-only once made, so a cache may hand the same value to many frames.
type sceneConsts struct {
	sam  []float32 // T x D' (the width the denoiser takes)
	kv   []float32 // sam_kv's output, when the upscaler uses the cached variant
	text *textConsts
}

// textConsts are the negative and positive text contexts (L x E each) and the prompt they encode.
type textConsts struct {
	neg, pos []float32
	prompt   string
}

// constsFunc computes the per-scene constants for a frame: src is the input frame (its Scene and
// Index are what a cache keys on; SAM2 and the tagger see it), cond the condition image at the
// process size.
type constsFunc func(ctx context.Context, src, cond *frame.Frame) (*sceneConsts, error)

func (b *Backend) newUpscaler(spec sr.Spec) (_ *Upscaler, err error) {
	geo, err := newGeometry(spec.In, spec.Out)
	if err != nil {
		return nil, err
	}
	u := &Upscaler{b: b, opt: b.cfg.forGeometry(spec.In, spec.Out), spec: spec, geo: geo, c: b.m.LatentChannels, batch: 1}
	defer func() {
		if err != nil {
			u.Close()
		}
	}()
	u.h, u.w = geo.latent()
	// The reference's latents follow its prompt embeddings' dtype, fp16 with an fp16 UNet: the
	// start latent and every step's result are stored in fp16.
	u.halfX = b.m.Graphs[GraphDenoiser].io("sample", false).DType == "float16"
	u.plan = newBlendPlan(u.h, u.w)
	if u.opt.cfg() {
		u.batch = 2
	}
	var ratio int
	if u.ts, ratio, err = timesteps(u.opt.Steps); err != nil {
		return nil, err
	}
	for _, t := range u.ts {
		u.prev = append(u.prev, t-ratio)
	}
	open := func(role string, runs *atomic.Int64) (*graph, error) {
		spec := b.m.Graphs[role]
		r, err := b.open(role, spec)
		if err != nil {
			return nil, err
		}
		return newGraph(role, spec, r, runs), nil
	}
	if u.sam, err = open(GraphSAM, &b.n.sam); err != nil {
		return nil, err
	}
	bound := b.useBound()
	if !bound && b.m.Has(GraphDenoiserKV) {
		// The cached variant gives the plain denoiser's output (TestRuntimeKVSameOutput) for
		// fewer MACs per step.
		if u.samKV, err = open(GraphSAMKV, &b.n.samKV); err != nil {
			return nil, err
		}
		if u.den, err = open(GraphDenoiserKV, &b.n.den); err != nil {
			return nil, err
		}
	} else if !bound {
		if u.den, err = open(GraphDenoiser, &b.n.den); err != nil {
			return nil, err
		}
	}
	if u.dec, err = open(GraphVAEDecoder, &b.n.vaeDec); err != nil {
		return nil, err
	}
	if u.opt.StartPoint == StartLR {
		if u.enc, err = open(GraphVAEEncoder, &b.n.vaeEnc); err != nil {
			return nil, err
		}
	}
	if b.tok != nil {
		if u.text, err = open(GraphTextEncoder, &b.n.text); err != nil {
			return nil, err
		}
		if b.tags != nil {
			if u.tagger, err = open(GraphTagger, &b.n.tagger); err != nil {
				return nil, err
			}
		}
	}

	u.cond = frame.New(geo.proc.X, geo.proc.Y)
	u.img = frame.New(geo.proc.X, geo.proc.Y)
	sizes := []image.Point{geo.in, geo.pre, geo.mid, geo.proc}
	for i := 1; i < len(sizes); i++ {
		if sizes[i] == sizes[i-1] {
			continue
		}
		r, err := resample.NewResizer(resample.Bicubic, sizes[i-1].X, sizes[i-1].Y, sizes[i].X, sizes[i].Y)
		if err != nil {
			return nil, err
		}
		u.chain = append(u.chain, chainStep{r: r, dst: frame.New(sizes[i].X, sizes[i].Y)})
	}
	if n := len(u.chain); n > 0 {
		u.chain[n-1].dst = u.cond
	}
	if geo.proc != geo.out {
		if u.toOut, err = resample.NewResizer(resample.Bicubic, geo.proc.X, geo.proc.Y, geo.out.X, geo.out.Y); err != nil {
			return nil, err
		}
	}

	si := b.m.Graphs[GraphSAM].io("image", false)
	u.samIn = []int64{1, 3, si.dim(2), si.dim(3)}
	u.samPrep = newLinearResizer(geo.in.X, geo.in.Y, int(si.dim(3)), int(si.dim(2)))
	if u.tagger != nil {
		ti := b.m.Graphs[GraphTagger].io("image", false)
		u.tagIn = []int64{1, 3, ti.dim(2), ti.dim(3)}
		u.tagPrep = newLinearResizer(geo.in.X, geo.in.Y, int(ti.dim(3)), int(ti.dim(2)))
	}

	n := u.c * u.h * u.w
	u.x, u.eps, u.z = make([]float32, n), make([]float32, n), make([]float32, n)
	for i := range u.batch {
		u.acc[i] = make([]float32, n)
	}
	if bound {
		if u.bound, err = newBoundSampler(u, b.boundCfg); err != nil {
			if b.bound == boundOn {
				return nil, fmt.Errorf("diffusion: device sampler: %w", err)
			}
			b.cfg.Logf("diffusion: device sampler unavailable (%v): the latent crosses to the host every step", err)
			if u.den, err = open(GraphDenoiser, &b.n.den); err != nil {
				return nil, err
			}
		}
	}
	// Per-scene constants come from the backend's cache, shared by every worker: computed on the
	// first frame of a segment to arrive (or its keyframe, when a resumed run starts inside the
	// segment), reused by the others.
	u.consts = func(ctx context.Context, src, cond *frame.Frame) (*sceneConsts, error) {
		return b.scene.Get(ctx, src, func(ctx context.Context) (*sceneConsts, error) {
			return u.computeConsts(ctx, src.SegmentKeyframe(), cond)
		})
	}
	return u, nil
}

// BatchSize implements sr.Upscaler.
func (u *Upscaler) BatchSize() int { return 1 }

// Close implements sr.Upscaler. It is nil-safe and idempotent.
func (u *Upscaler) Close() error {
	if u == nil {
		return nil
	}
	first := u.bound.close()
	u.bound = nil
	for _, g := range []**graph{&u.sam, &u.samKV, &u.den, &u.dec, &u.enc, &u.text, &u.tagger} {
		if err := (*g).close(); err != nil && first == nil {
			first = err
		}
		*g = nil
	}
	return first
}

// Upscale implements sr.Upscaler.
func (u *Upscaler) Upscale(ctx context.Context, dst, src []*frame.Frame) error {
	if err := sr.CheckFrames(u.sam == nil, u.spec, dst, src); err != nil {
		return fmt.Errorf("diffusion: %w", err)
	}
	for i, f := range src {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := u.frame(ctx, dst[i], f); err != nil {
			return err
		}
	}
	return nil
}

// frame runs the whole method on one frame.
func (u *Upscaler) frame(ctx context.Context, dst, src *frame.Frame) error {
	u.serial++
	if err := u.prepare(src); err != nil {
		return err
	}
	sc, err := u.consts(ctx, src, u.cond)
	if err != nil {
		return err
	}
	rng := NewNoise(u.opt.Noise, u.opt.Seed, src)
	if err := u.start(ctx, rng); err != nil {
		return err
	}
	u.storeLatent()
	if err := u.denoise(ctx, rng, sc); err != nil {
		return err
	}
	if err := u.decode(ctx); err != nil {
		return err
	}
	colorFix(u.opt.ColorFix, u.img.Pix, u.cond.Pix, u.img.W, u.img.H)
	if u.toOut != nil {
		if err := u.toOut.Resize(dst, u.img); err != nil {
			return err
		}
	} else {
		copy(dst.Pix, u.img.Pix)
	}
	u.b.n.frames.Add(1)
	return nil
}

// coeffs returns the sampler step i (from u.ts[i] to u.prev[i]) as x' = cx*x + ce*eps + cz*z.
func (u *Upscaler) coeffs(i int) stepCoeffs {
	t := u.ts[i]
	var c stepCoeffs
	if u.opt.Sampler == SamplerDDIM {
		c = ddimCoeffs(u.b.sched, t, u.prev[i])
	} else {
		c = ddpmCoeffs(u.b.sched, t, u.prev[i])
	}
	if u.hooks != nil && u.hooks.coeffs != nil {
		c = u.hooks.coeffs(t, u.prev[i], c)
	}
	return c
}

// denoise runs the sampler from the start latent in u.x and leaves the final latent there: on the
// device (u.bound), or here, predicting with the denoiser and stepping on the host.
func (u *Upscaler) denoise(ctx context.Context, rng *rand.Rand, sc *sceneConsts) error {
	if u.bound != nil {
		return u.bound.denoise(ctx, u, rng, sc)
	}
	for i, t := range u.ts {
		if err := u.predict(ctx, t, sc); err != nil {
			return err
		}
		c := u.coeffs(i)
		var z []float32
		if c.cz != 0 {
			fillNormal(rng, u.z)
			z = u.z
		}
		c.apply(u.x, u.eps, z)
		u.storeLatent()
		u.b.n.steps.Add(1)
		if u.hooks != nil && u.hooks.afterStep != nil {
			u.hooks.afterStep(i, t, u.x)
		}
	}
	return nil
}

// storeLatent rounds the latent to the precision it is kept in between steps (fp16 when the
// denoiser takes fp16, as the reference keeps it; else float32, a no-op).
func (u *Upscaler) storeLatent() {
	if !u.halfX {
		return
	}
	for i, v := range u.x {
		u.x[i] = onnx.Float16ToFloat32(onnx.Float32ToFloat16(v))
	}
}

// chainStep is one bicubic resize towards the condition image.
type chainStep struct {
	r   *resample.Resizer
	dst *frame.Frame
}

// prepare writes the condition image: src resized in -> pre -> mid -> proc, each step a bicubic
// resize as the method's script does it.
func (u *Upscaler) prepare(src *frame.Frame) error {
	if len(u.chain) == 0 {
		copy(u.cond.Pix, src.Pix)
		return nil
	}
	cur := src
	for _, s := range u.chain {
		if err := s.r.Resize(s.dst, cur); err != nil {
			return err
		}
		cur = s.dst
	}
	return nil
}

// start fills u.x with the start latent: noise, or the encoded condition image noised to t = 999.
func (u *Upscaler) start(ctx context.Context, rng *rand.Rand) error {
	fillNormal(rng, u.x)
	if u.opt.StartPoint != StartLR {
		return nil
	}
	if err := u.encode(ctx, u.z); err != nil {
		return err
	}
	ab := u.b.sched.alphaBar(lrStartT)
	a, s := float32(math.Sqrt(ab)), float32(math.Sqrt(1-ab))
	for i, n := range u.x {
		u.x[i] = a*u.z[i] + s*n
	}
	return nil
}

// condTag names the condition crop of one tile of one frame (a buffer tag).
type condTag struct {
	serial int64
	tile   int
}

// predict runs the denoiser over every window at timestep t and leaves the guided noise prediction
// in u.eps: tiles are stitched with the Gaussian weights, then guidance combines the halves.
func (u *Upscaler) predict(ctx context.Context, t int, sc *sceneConsts) error {
	B, C, h, w := u.batch, u.c, u.h, u.w
	p := u.plan
	for b := range B {
		clear(u.acc[b])
	}
	for ti, tl := range p.tiles {
		th, tw, x0, y0 := h, w, 0, 0
		if p.tiled() {
			th, tw, x0, y0 = tl.size, tl.size, tl.x, tl.y
		}
		sample, _, err := u.den.in("sample", []int64{int64(B), int64(C), int64(th), int64(tw)}, nil)
		if err != nil {
			return err
		}
		for b := range B {
			crop(sample.f32[b*C*th*tw:(b+1)*C*th*tw], u.x, C, h, w, y0, x0, th, tw)
		}
		ts, _, err := u.den.in("timestep", []int64{int64(B)}, nil)
		if err != nil {
			return err
		}
		for b := range B {
			if ts.i64 != nil {
				ts.i64[b] = int64(t)
			} else {
				ts.f32[b] = float32(t)
			}
		}
		L, E := u.b.textL, u.b.textE
		text, ok, err := u.den.in("text", []int64{int64(B), int64(L), int64(E)}, sc)
		if err != nil {
			return err
		}
		if !ok {
			if B == 2 {
				copy(text.f32, sc.text.neg)
				copy(text.f32[L*E:], sc.text.pos)
			} else {
				copy(text.f32, sc.text.pos)
			}
		}
		if u.samKV != nil {
			kv, ok, err := u.den.in("kv", []int64{1, int64(len(sc.kv))}, sc)
			if err != nil {
				return err
			}
			if !ok {
				copy(kv.f32, sc.kv)
			}
		} else {
			T, D := u.samShape()
			sam, ok, err := u.den.in("sam", []int64{int64(B), int64(T), int64(D)}, sc)
			if err != nil {
				return err
			}
			if !ok {
				for b := range B {
					copy(sam.f32[b*T*D:], sc.sam)
				}
			}
		}
		cond, ok, err := u.den.in("cond", []int64{int64(B), 3, int64(8 * th), int64(8 * tw)}, condTag{u.serial, ti})
		if err != nil {
			return err
		}
		if !ok {
			n := 3 * 64 * th * tw
			crop(cond.f32[:n], u.cond.Pix, 3, 8*h, 8*w, 8*y0, 8*x0, 8*th, 8*tw)
			for b := 1; b < B; b++ {
				copy(cond.f32[b*n:(b+1)*n], cond.f32[:n])
			}
		}
		out, err := u.den.out("eps", []int64{int64(B), int64(C), int64(th), int64(tw)})
		if err != nil {
			return err
		}
		if err := u.den.run(ctx); err != nil {
			return err
		}
		if !p.tiled() {
			for b := range B {
				copy(u.acc[b], out.f32[b*C*h*w:(b+1)*C*h*w])
			}
			continue
		}
		if u.hooks != nil {
			x0 = min(x0+u.hooks.pasteShift, w-tl.size)
		}
		s := tl.size
		for b := range B {
			for c := range C {
				src := out.f32[(b*C+c)*s*s : (b*C+c+1)*s*s]
				dst := u.acc[b][c*h*w:]
				for y := range s {
					d := dst[(y0+y)*w+x0 : (y0+y)*w+x0+s]
					o := src[y*s : (y+1)*s]
					wt := p.weight[y*s : (y+1)*s]
					for i := range d {
						d[i] += wt[i] * o[i]
					}
				}
			}
		}
	}
	if p.tiled() {
		for b := range B {
			a := u.acc[b]
			for c := range C {
				plane := a[c*h*w : (c+1)*h*w]
				for i, inv := range p.invSum {
					plane[i] *= inv
				}
			}
		}
	}
	if B == 1 {
		copy(u.eps, u.acc[0])
		return nil
	}
	g := float32(u.opt.Guidance)
	neg, pos := u.acc[0], u.acc[1]
	for i := range u.eps {
		u.eps[i] = neg[i] + g*(pos[i]-neg[i])
	}
	return nil
}

// samShape returns the SAM context the denoiser takes: T tokens of width D.
func (u *Upscaler) samShape() (T, D int) { return samDims(u.b.m) }

// crop copies the th x tw window at (y0, x0) of every plane of src (planes of h x w) into dst.
func crop(dst, src []float32, planes, h, w, y0, x0, th, tw int) {
	for c := range planes {
		for y := range th {
			s := src[c*h*w+(y0+y)*w+x0:]
			copy(dst[(c*th+y)*tw:(c*th+y+1)*tw], s[:tw])
		}
	}
}
