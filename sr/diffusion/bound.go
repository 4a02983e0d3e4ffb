package diffusion

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
	"github.com/ugcsr/ugcsr/sr/ort/iobind"
)

// boundMode says whether the sampler keeps its latent on the device (boundSampler).
type boundMode int

const (
	boundAuto boundMode = iota // on CUDA; the host loop elsewhere
	boundOn                    // always, the CPU included (tests)
	boundOff                   // never
)

// useBound reports whether new upscalers run their steps with boundSampler. The device is resolved
// by then (the SAM2 session is opened first).
func (b *Backend) useBound() bool {
	switch b.bound {
	case boundOn:
		return true
	case boundOff:
		return false
	}
	return b.Device() == ort.DeviceCUDA.String()
}

// boundSampler runs the sampler's steps with everything that changes per step in the device's
// memory (package iobind): the latent in two buffers that the steps alternate, the windows cut from
// it, the denoiser's predictions, the noise of the whole frame and the schedule. The step itself is
// the update graph (stepgraph.go), run where the denoiser runs.
//
// What crosses between host and device, per frame: the condition windows, the start latent and
// every step's noise (drawn on the host from the frame's generator in NoiseSeed's order and
// uploaded in one copy before the first step), the timesteps and step coefficients when they
// differ from the last frame's, the text and SAM contexts when the scene changes; after the last
// step, the latent (the VAE decoder's input). Per step: nothing (unless a test hook downloads the
// latent).
type boundSampler struct {
	mem                *iobind.Memory
	den, split, update *iobind.Session
	lay                *stepLayout
	steps              int
	names              map[string]string // denoiser input and output names by role
	types              map[string]ort.DType

	x                  [2]*iobind.Tensor // the latent after odd and even steps
	samples, eps, cond []*iobind.Tensor  // by window
	text, sam          *iobind.Tensor
	noise              *iobind.Tensor         // 1+steps latents: the start latent, then each noisy step's z
	slots              []*iobind.Tensor       // views of noise, one latent each
	prefix             map[int]*iobind.Tensor // views of noise's first n latents, for the upload
	sched, coef        *iobind.Tensor         // timesteps [steps, B] and coefficients [steps, 3]
	schedAt, coefAt    []*iobind.Tensor       // their rows, by step

	noiseHost         []float32
	schedHost         []float32 // timesteps as float32, converted to the denoiser's type on upload
	coefHost          []float32
	schedUp, coefUp   bool // what is on the device equals the host copies
	f16               []uint16
	i64               []int64
	condHost          []float32
	textHost, samHost []float32
	sc                *sceneConsts // whose contexts are on the device
	peek              []float32    // the latent after a step, for hooks.afterStep

	stats boundStats
}

// boundStats is what crossed between host and device during the last frame.
type boundStats struct {
	setup iobind.Transfers   // before the first step
	steps []iobind.Transfers // during each step
	final iobind.Transfers   // the final latent
}

// boundProfile, when set (tests), turns on ONNX Runtime's profiling of the device sampler's
// sessions, with file names starting with it.
type boundConfig struct {
	profile string
}

func newBoundSampler(u *Upscaler, cfg boundConfig) (_ *boundSampler, err error) {
	b := u.b
	spec := b.m.Graphs[GraphDenoiser]
	dev := ort.DeviceCUDA
	if b.Device() != ort.DeviceCUDA.String() {
		dev = ort.DeviceCPU
	}
	mem, err := iobind.NewMemory(iobind.Config{Device: dev, Threads: b.cfg.Threads})
	if err != nil {
		return nil, err
	}
	s := &boundSampler{mem: mem, steps: len(u.ts), names: map[string]string{}, types: map[string]ort.DType{},
		prefix: map[int]*iobind.Tensor{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	for _, role := range []string{"sample", "timestep", "text", "sam", "cond", "eps"} {
		io := spec.io(role, role == "eps")
		if io == nil {
			return nil, fmt.Errorf("the denoiser has no %s", role)
		}
		dt, _ := parseDType(io.DType)
		s.names[role], s.types[role] = io.Name, ortDType(dt)
	}
	s.lay = &stepLayout{c: u.c, h: u.h, w: u.w, batch: u.batch, guidance: float32(u.opt.Guidance), plan: u.plan,
		sample: onnx.DType(s.types["sample"]), eps: onnx.DType(s.types["eps"]), halfX: u.halfX}
	prof := func(name string) iobind.SessionConfig {
		if cfg.profile == "" {
			return iobind.SessionConfig{}
		}
		return iobind.SessionConfig{Profile: cfg.profile + "_" + name}
	}
	if s.den, err = mem.NewSession(ort.Model{Path: b.m.Path(spec.File)}, prof("denoiser")); err != nil {
		return nil, err
	}
	for _, g := range []struct {
		s     **iobind.Session
		build func(*stepLayout) ([]byte, error)
		name  string
	}{{&s.split, splitGraph, "split"}, {&s.update, updateGraph, "update"}} {
		data, err := g.build(s.lay)
		if err != nil {
			return nil, fmt.Errorf("%s graph: %w", g.name, err)
		}
		if *g.s, err = mem.NewSession(ort.Model{Data: data}, prof(g.name)); err != nil {
			return nil, err
		}
	}

	C, h, w, B := int64(u.c), int64(u.h), int64(u.w), int64(u.batch)
	n := u.c * u.h * u.w
	alloc := func(t ort.DType, shape ...int64) *iobind.Tensor {
		if err != nil {
			return nil
		}
		var x *iobind.Tensor
		x, err = mem.NewTensor(t, shape...)
		return x
	}
	s.x = [2]*iobind.Tensor{alloc(ort.Float32, 1, C, h, w), alloc(ort.Float32, 1, C, h, w)}
	for k := range u.plan.tiles {
		_, _, th, tw := s.lay.window(k)
		s.samples = append(s.samples, alloc(s.types["sample"], B, C, int64(th), int64(tw)))
		s.eps = append(s.eps, alloc(s.types["eps"], B, C, int64(th), int64(tw)))
		s.cond = append(s.cond, alloc(s.types["cond"], B, 3, int64(8*th), int64(8*tw)))
	}
	L, E := int64(b.textL), int64(b.textE)
	T, D := u.samShape()
	s.text = alloc(s.types["text"], B, L, E)
	s.sam = alloc(s.types["sam"], B, int64(T), int64(D))
	s.noise = alloc(ort.Float32, int64(1+s.steps), C, h, w)
	s.sched = alloc(s.types["timestep"], int64(s.steps), B)
	s.coef = alloc(ort.Float32, int64(s.steps), 3)
	if err != nil {
		return nil, err
	}
	for i := range 1 + s.steps {
		v, err := s.noise.View(i*n, 1, C, h, w)
		if err != nil {
			return nil, err
		}
		s.slots = append(s.slots, v)
	}
	for i := range s.steps {
		ts, err := s.sched.View(i*u.batch, B)
		if err != nil {
			return nil, err
		}
		c, err := s.coef.View(i*3, 3)
		if err != nil {
			return nil, err
		}
		s.schedAt, s.coefAt = append(s.schedAt, ts), append(s.coefAt, c)
	}

	// What stays bound: the windows out of split and into update, the contexts.
	for k := range u.plan.tiles {
		if err := s.split.BindOutput(fmt.Sprint("sample", k), s.samples[k]); err != nil {
			return nil, err
		}
		if err := s.update.BindInput(fmt.Sprint("eps", k), s.eps[k]); err != nil {
			return nil, err
		}
	}
	if err := s.den.BindInput(s.names["text"], s.text); err != nil {
		return nil, err
	}
	if err := s.den.BindInput(s.names["sam"], s.sam); err != nil {
		return nil, err
	}
	s.noiseHost = make([]float32, (1+s.steps)*n)
	s.schedHost = make([]float32, s.steps*u.batch)
	s.coefHost = make([]float32, s.steps*3)
	s.condHost = make([]float32, s.cond[0].Len())
	return s, nil
}

// upload writes float32 values into t, converting them to fp16 first for a Float16 tensor.
func (s *boundSampler) upload(t *iobind.Tensor, v []float32) error {
	switch t.DType() {
	case ort.Float16:
		s.f16 = slices.Grow(s.f16[:0], len(v))[:len(v)]
		toFloat16(s.f16, v)
		return iobind.Upload(t, s.f16)
	case ort.Int64:
		s.i64 = slices.Grow(s.i64[:0], len(v))[:len(v)]
		for i, x := range v {
			s.i64[i] = int64(x)
		}
		return iobind.Upload(t, s.i64)
	}
	return iobind.Upload(t, v)
}

// denoise runs every step on u's start latent (u.x) and leaves the final latent in u.x. It draws
// the noise from rng exactly as the host loop does: one latent per step with cz != 0, in step
// order, after the start latent (already drawn).
func (s *boundSampler) denoise(ctx context.Context, u *Upscaler, rng *rand.Rand, sc *sceneConsts) error {
	mark := s.mem.Transferred()
	if err := s.uploadScene(u, sc); err != nil {
		return err
	}
	if err := s.uploadCond(u); err != nil {
		return err
	}
	n, B := len(u.x), u.batch
	// The schedule, and the noise of the whole frame.
	copy(s.noiseHost, u.x)
	slot := make([]int, s.steps) // noise slot of each step (0, the finite start latent, without noise)
	noisy := 0
	sched, coef := s.schedHost, s.coefHost
	changed := !s.schedUp || !s.coefUp
	for i, t := range u.ts {
		c := u.coeffs(i)
		for b := range B {
			changed = changed || sched[i*B+b] != float32(t)
			sched[i*B+b] = float32(t)
		}
		row := [3]float32{c.cx, c.ce, c.cz}
		changed = changed || !slices.Equal(coef[3*i:3*i+3], row[:])
		copy(coef[3*i:], row[:])
		if c.cz != 0 {
			noisy++
			fillNormal(rng, s.noiseHost[noisy*n:(noisy+1)*n])
			slot[i] = noisy
		}
	}
	if changed {
		s.schedUp, s.coefUp = false, false
		if err := s.upload(s.sched, sched); err != nil {
			return err
		}
		s.schedUp = true
		if err := iobind.Upload(s.coef, coef); err != nil {
			return err
		}
		s.coefUp = true
	}
	pre := s.prefix[1+noisy]
	if pre == nil {
		var err error
		if pre, err = s.noise.View(0, int64(1+noisy), int64(u.c), int64(u.h), int64(u.w)); err != nil {
			return err
		}
		s.prefix[1+noisy] = pre
	}
	if err := iobind.Upload(pre, s.noiseHost[:(1+noisy)*n]); err != nil {
		return err
	}
	s.stats.setup = s.mem.Transferred().Sub(mark)
	s.stats.steps = s.stats.steps[:0]

	src := s.slots[0]
	for i, t := range u.ts {
		mark := s.mem.Transferred()
		dst := s.x[i%2]
		if err := s.step(ctx, u, i, src, dst, s.slots[slot[i]]); err != nil {
			return err
		}
		src = dst
		u.b.n.steps.Add(1)
		if u.hooks != nil && u.hooks.afterStep != nil {
			// A copy for the hook (counted in the step): u.x gets the latent only at the end.
			s.peek = slices.Grow(s.peek[:0], n)[:n]
			if err := iobind.Download(s.peek, src); err != nil {
				return err
			}
			u.hooks.afterStep(i, t, s.peek)
		}
		s.stats.steps = append(s.stats.steps, s.mem.Transferred().Sub(mark))
	}
	mark = s.mem.Transferred()
	if err := iobind.Download(u.x, src); err != nil {
		return err
	}
	s.stats.final = s.mem.Transferred().Sub(mark)
	return nil
}

// step runs step i: windows of src, the denoiser on each, the update into dst.
func (s *boundSampler) step(ctx context.Context, u *Upscaler, i int, src, dst, z *iobind.Tensor) error {
	if err := s.split.BindInput("x", src); err != nil {
		return err
	}
	if err := s.split.Run(ctx); err != nil {
		return fmt.Errorf("diffusion: split: %w", err)
	}
	if err := s.den.BindInput(s.names["timestep"], s.schedAt[i]); err != nil {
		return err
	}
	for k := range s.samples {
		for _, b := range []struct {
			name string
			t    *iobind.Tensor
		}{{s.names["sample"], s.samples[k]}, {s.names["cond"], s.cond[k]}} {
			if err := s.den.BindInput(b.name, b.t); err != nil {
				return err
			}
		}
		if err := s.den.BindOutput(s.names["eps"], s.eps[k]); err != nil {
			return err
		}
		if err := s.den.Run(ctx); err != nil {
			return fmt.Errorf("diffusion: %s: %w", GraphDenoiser, err)
		}
		u.b.n.den.Add(1)
	}
	for _, b := range []struct {
		name string
		t    *iobind.Tensor
	}{{"x", src}, {"z", z}, {"coef", s.coefAt[i]}} {
		if err := s.update.BindInput(b.name, b.t); err != nil {
			return err
		}
	}
	if err := s.update.BindOutput("x_next", dst); err != nil {
		return err
	}
	if err := s.update.Run(ctx); err != nil {
		return fmt.Errorf("diffusion: update: %w", err)
	}
	return nil
}

// uploadScene uploads the text and SAM contexts of sc unless they are already there: the batch is
// [negative, positive] text with guidance, the SAM context repeated per batch row.
func (s *boundSampler) uploadScene(u *Upscaler, sc *sceneConsts) error {
	if sc == s.sc {
		return nil
	}
	s.sc = nil
	B := u.batch
	s.textHost = s.textHost[:0]
	if B == 2 {
		s.textHost = append(s.textHost, sc.text.neg...)
	}
	s.textHost = append(s.textHost, sc.text.pos...)
	s.samHost = s.samHost[:0]
	for range B {
		s.samHost = append(s.samHost, sc.sam...)
	}
	if err := s.upload(s.text, s.textHost); err != nil {
		return err
	}
	if err := s.upload(s.sam, s.samHost); err != nil {
		return err
	}
	s.sc = sc
	return nil
}

// uploadCond uploads every window's condition crop, repeated per batch row.
func (s *boundSampler) uploadCond(u *Upscaler) error {
	for k := range s.cond {
		y0, x0, th, tw := s.lay.window(k)
		n := 3 * 64 * th * tw
		crop(s.condHost[:n], u.cond.Pix, 3, 8*u.h, 8*u.w, 8*y0, 8*x0, 8*th, 8*tw)
		for b := 1; b < u.batch; b++ {
			copy(s.condHost[b*n:(b+1)*n], s.condHost[:n])
		}
		if err := s.upload(s.cond[k], s.condHost); err != nil {
			return err
		}
	}
	return nil
}

// endProfiling ends the profiling of the sessions (boundConfig.profile) and returns their files by
// session: denoiser, split, update.
func (s *boundSampler) endProfiling() (map[string]string, error) {
	files := map[string]string{}
	for name, ss := range map[string]*iobind.Session{"denoiser": s.den, "split": s.split, "update": s.update} {
		p, err := ss.EndProfiling()
		if err != nil {
			return nil, err
		}
		files[name] = p
	}
	return files, nil
}

// close releases the sessions and tensors. It is nil-safe and idempotent.
func (s *boundSampler) close() error {
	if s == nil || s.mem == nil {
		return nil
	}
	err := s.mem.Close()
	s.mem = nil
	return err
}
