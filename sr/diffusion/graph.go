package diffusion

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// graphRunner is one worker's session of one graph, with an input/output buffer per slot and
// shape. It hides ONNX Runtime from the runtime's math, so tests can fake a graph in Go.
//
// Buffers are float32 (or int64) host views; a runner of an fp16 graph converts at run time. A
// buffer keeps its contents between runs, which lets constant inputs (text and SAM contexts) be
// written once: in reports valid when the buffer still holds what was written under the same tag.
type graphRunner interface {
	// in selects input i's buffer for shape and returns it. When valid is true it still holds the
	// data last written under tag (a non-nil comparable value) and need not be written again.
	in(i int, shape []int64, tag any) (b hostBuf, valid bool, err error)
	// out selects output i's buffer for shape; it holds the output after run.
	out(i int, shape []int64) (hostBuf, error)
	// run runs the graph on the selected buffers.
	run(ctx context.Context) error
	// close releases the session and its buffers. It is nil-safe and idempotent.
	close() error
}

// hostBuf is a buffer the runtime reads or writes: exactly one of f32 and i64 is set.
type hostBuf struct {
	f32 []float32
	i64 []int64
}

// graph is an opened graph seen through its manifest roles.
type graph struct {
	role   string
	spec   *GraphSpec
	r      graphRunner
	inIdx  map[string]int
	outIdx map[string]int
	runs   *atomic.Int64
}

func newGraph(role string, spec *GraphSpec, r graphRunner, runs *atomic.Int64) *graph {
	g := &graph{role: role, spec: spec, r: r, inIdx: map[string]int{}, outIdx: map[string]int{}, runs: runs}
	for i := range spec.Inputs {
		g.inIdx[spec.Inputs[i].role()] = i
	}
	for i := range spec.Outputs {
		g.outIdx[spec.Outputs[i].role()] = i
	}
	return g
}

// in returns the buffer of input role for shape; see graphRunner.in.
func (g *graph) in(role string, shape []int64, tag any) (hostBuf, bool, error) {
	i, ok := g.inIdx[role]
	if !ok {
		return hostBuf{}, false, fmt.Errorf("diffusion: %s: no input %q", g.role, role)
	}
	return g.r.in(i, shape, tag)
}

func (g *graph) out(role string, shape []int64) (hostBuf, error) {
	i, ok := g.outIdx[role]
	if !ok {
		return hostBuf{}, fmt.Errorf("diffusion: %s: no output %q", g.role, role)
	}
	return g.r.out(i, shape)
}

func (g *graph) run(ctx context.Context) error {
	if err := g.r.run(ctx); err != nil {
		return fmt.Errorf("diffusion: %s: %w", g.role, err)
	}
	if g.runs != nil {
		g.runs.Add(1)
	}
	return nil
}

func (g *graph) close() error {
	if g == nil || g.r == nil {
		return nil
	}
	return g.r.close()
}

// ortRunner runs a graph in ONNX Runtime. It keeps one ort.Tensor per slot and shape (a handful:
// the tile shape and the whole-latent shape), so nothing is allocated per step.
//
// Tensors live in host memory and ONNX Runtime copies them to the GPU and back on every run, CUDA
// or not: onnxruntime_go v1.27 creates tensors only with CPU memory info and its IoBinding cannot
// bind an output to a device, so the latent cannot stay on the GPU between steps. The copies are
// small next to a denoiser pass (a 96x96 batch-2 tile moves about 17 MB, mostly the SAM context,
// which is written once per frame but still uploaded per run). On CUDA the denoiser's steps do not
// use an ortRunner: boundSampler (bound.go) keeps them on the device through package iobind.
type ortRunner struct {
	sess      *ort.Session
	ins       []*ortSlot
	outs      []*ortSlot
	tin, tout []*ort.Tensor // scratch for Run
}

type ortSlot struct {
	name  string
	dtype ort.DType
	bufs  []*ortBuf // by shape
	cur   *ortBuf
}

type ortBuf struct {
	shape []int64
	t     *ort.Tensor
	stage []float32 // float32 staging of an fp16 tensor; nil for float32 and int64
	tag   any
	dirty bool // stage written since the last conversion
}

// maxShapes bounds the tensors a slot keeps; a new shape beyond it frees the others.
const maxShapes = 4

func newORTRunner(m *Manifest, spec *GraphSpec, cfg ort.Config) (*ortRunner, error) {
	for _, s := range spec.Inputs {
		cfg.Inputs = append(cfg.Inputs, s.Name)
	}
	for _, s := range spec.Outputs {
		cfg.Outputs = append(cfg.Outputs, s.Name)
	}
	sess, err := ort.NewSession(ort.Model{Path: m.Path(spec.File)}, cfg)
	if err != nil {
		return nil, err
	}
	r := &ortRunner{sess: sess, tin: make([]*ort.Tensor, len(spec.Inputs)), tout: make([]*ort.Tensor, len(spec.Outputs))}
	for _, s := range spec.Inputs {
		dt, _ := parseDType(s.DType)
		r.ins = append(r.ins, &ortSlot{name: s.Name, dtype: ortDType(dt)})
	}
	for _, s := range spec.Outputs {
		dt, _ := parseDType(s.DType)
		r.outs = append(r.outs, &ortSlot{name: s.Name, dtype: ortDType(dt)})
	}
	return r, nil
}

func ortDType(t onnx.DType) ort.DType {
	switch t {
	case onnx.Float16:
		return ort.Float16
	case onnx.Int64:
		return ort.Int64
	}
	return ort.Float32
}

func (s *ortSlot) sel(shape []int64) (*ortBuf, error) {
	for _, b := range s.bufs {
		if slices.Equal(b.shape, shape) {
			s.cur = b
			return b, nil
		}
	}
	if len(s.bufs) >= maxShapes {
		s.free()
	}
	t, err := ort.NewTensor(s.dtype, shape...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	b := &ortBuf{shape: slices.Clone(shape), t: t}
	if s.dtype == ort.Float16 {
		b.stage = make([]float32, t.Len())
	}
	s.bufs = append(s.bufs, b)
	s.cur = b
	return b, nil
}

func (b *ortBuf) host() hostBuf {
	switch {
	case b.stage != nil:
		return hostBuf{f32: b.stage}
	case b.t.DType() == ort.Int64:
		return hostBuf{i64: b.t.Int64()}
	}
	return hostBuf{f32: b.t.Float32()}
}

func (s *ortSlot) free() {
	for _, b := range s.bufs {
		b.t.Close()
	}
	s.bufs, s.cur = nil, nil
}

func (r *ortRunner) in(i int, shape []int64, tag any) (hostBuf, bool, error) {
	b, err := r.ins[i].sel(shape)
	if err != nil {
		return hostBuf{}, false, err
	}
	valid := tag != nil && b.tag == tag
	b.tag = tag
	if !valid {
		b.dirty = true
	}
	return b.host(), valid, nil
}

func (r *ortRunner) out(i int, shape []int64) (hostBuf, error) {
	b, err := r.outs[i].sel(shape)
	if err != nil {
		return hostBuf{}, err
	}
	return b.host(), nil
}

func (r *ortRunner) run(ctx context.Context) error {
	ins, outs := r.tin, r.tout
	for i, s := range r.ins {
		if s.cur == nil {
			return fmt.Errorf("input %q not set", s.name)
		}
		if s.cur.dirty && s.cur.stage != nil {
			toFloat16(s.cur.t.Float16(), s.cur.stage)
		}
		s.cur.dirty = false
		ins[i] = s.cur.t
	}
	for i, s := range r.outs {
		if s.cur == nil {
			return fmt.Errorf("output %q not set", s.name)
		}
		outs[i] = s.cur.t
	}
	if err := r.sess.Run(ctx, ins, outs); err != nil {
		return err
	}
	for _, s := range r.outs {
		if s.cur.stage != nil {
			fromFloat16(s.cur.stage, s.cur.t.Float16())
		}
	}
	return nil
}

func (r *ortRunner) close() error {
	if r == nil || r.sess == nil {
		return nil
	}
	for _, s := range append(r.ins, r.outs...) {
		s.free()
	}
	err := r.sess.Close()
	r.sess = nil
	return err
}

func toFloat16(dst []uint16, src []float32) {
	for i, v := range src {
		dst[i] = onnx.Float32ToFloat16(v)
	}
}

func fromFloat16(dst []float32, src []uint16) {
	for i, v := range src {
		dst[i] = onnx.Float16ToFloat32(v)
	}
}

// checkSignature compares a graph's inputs and outputs as ONNX Runtime reports them with the
// manifest's and returns every difference.
func checkSignature(role string, spec *GraphSpec, ins, outs []ort.IO) []string {
	var errs []string
	for _, side := range []struct {
		what string
		man  []IOSpec
		got  []ort.IO
	}{{"input", spec.Inputs, ins}, {"output", spec.Outputs, outs}} {
		seen := map[string]bool{}
		for _, g := range side.got {
			seen[g.Name] = true
			var m *IOSpec
			for i := range side.man {
				if side.man[i].Name == g.Name {
					m = &side.man[i]
				}
			}
			if m == nil {
				if side.what == "input" {
					errs = append(errs, fmt.Sprintf("%s (%s): graph input %q (%v%v) is not in the manifest", role, spec.File, g.Name, g.DType, g.Shape))
				}
				continue
			}
			if dt, _ := parseDType(m.DType); ortDType(dt) != g.DType {
				errs = append(errs, fmt.Sprintf("%s (%s): %s %q: manifest dtype %s, graph %v", role, spec.File, side.what, g.Name, m.DType, g.DType))
			}
			if d := shapeMismatch(m.Shape, g.Shape); d != "" {
				errs = append(errs, fmt.Sprintf("%s (%s): %s %q: manifest shape %s, graph %v: %s", role, spec.File, side.what, g.Name, shapeString(m.Shape), g.Shape, d))
			}
		}
		for _, m := range side.man {
			if !seen[m.Name] {
				errs = append(errs, fmt.Sprintf("%s (%s): manifest %s %q is not in the graph (graph %ss: %s)", role, spec.File, side.what, m.Name, side.what, ioNames(side.got)))
			}
		}
	}
	return errs
}

// shapeMismatch explains how a graph's shape fails the manifest's ("" when it fits): ranks must
// agree, fixed sizes must agree, and a size the manifest leaves symbolic must be dynamic in the
// graph too (the runtime will feed varying sizes). A fixed manifest size over a dynamic graph dim
// is fine.
func shapeMismatch(man []Dim, got []int64) string {
	if len(man) != len(got) {
		return fmt.Sprintf("rank %d vs %d", len(man), len(got))
	}
	var diffs []string
	for i, d := range man {
		switch {
		case d.Size >= 0 && got[i] >= 0 && d.Size != got[i]:
			diffs = append(diffs, fmt.Sprintf("dim %d is %d, not %d", i, got[i], d.Size))
		case d.Size < 0 && got[i] >= 0:
			diffs = append(diffs, fmt.Sprintf("dim %d is fixed to %d in the graph, symbolic %q in the manifest", i, got[i], d.Param))
		}
	}
	return strings.Join(diffs, "; ")
}

func ioNames(ios []ort.IO) string {
	names := make([]string, len(ios))
	for i, io := range ios {
		names[i] = fmt.Sprintf("%q", io.Name)
	}
	return strings.Join(names, ", ")
}
