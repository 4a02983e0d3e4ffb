package diffusion

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"time"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// BenchOptions configures Bench.
type BenchOptions struct {
	// Tile is the latent window side timed (optional). It defaults to 64 (a 512x512 frame).
	Tile int
	// Runs is the number of timed denoiser runs after one warm-up run (optional). It defaults to 5.
	Runs int
	// Frame is a frame size to project the per-step cost onto (optional): its tile count at scale 1.
	Frame image.Point
}

// BenchResult is the cost of the denoiser, the part that runs every step for every tile.
type BenchResult struct {
	Bundle, Device string
	// Tile is the latent window side and Batch the denoiser batch (2 with guidance, else 1).
	Tile, Batch int
	// StepTime is the mean wall time of one denoiser run: one tile, one step, the whole batch.
	StepTime time.Duration
	// MACs is the multiply-accumulate count of that run (0 when unknown); FLOPs is 2*MACs.
	MACs  int64
	FLOPs float64
	// MACSource says where MACs comes from: "manifest" (denoiser_macs, scaled to the tile area
	// and batch) or "graph" (counted by onnx.CountMACs); Uncounted is the number of matrix and
	// convolution nodes whose shapes could not be inferred (MACs is then a lower bound).
	MACSource string
	Uncounted int
	// TFLOPS is the achieved rate, FLOPs / StepTime / 1e12.
	TFLOPS float64
	// FrameTiles and FrameStepTime project onto BenchOptions.Frame: the windows per step and the
	// denoiser time of one step of that frame.
	FrameTiles    int
	FrameStepTime time.Duration
}

func (r *BenchResult) String() string {
	s := fmt.Sprintf("%s on %s: denoiser %dx%d latent, batch %d: %v per step per tile, %.3g GFLOP (%s",
		r.Bundle, r.Device, r.Tile, r.Tile, r.Batch, r.StepTime.Round(time.Microsecond), r.FLOPs/1e9, r.MACSource)
	if r.Uncounted > 0 {
		s += fmt.Sprintf(", %d nodes uncounted", r.Uncounted)
	}
	s += fmt.Sprintf("), %.2f TFLOP/s", r.TFLOPS)
	if r.FrameTiles > 0 {
		s += fmt.Sprintf("; frame: %d tiles, %v per step", r.FrameTiles, r.FrameStepTime.Round(time.Microsecond))
	}
	return s
}

// Bench opens the bundle in dir with cfg, times the denoiser on one tile and counts its MACs.
func Bench(ctx context.Context, dir string, cfg Config, o BenchOptions) (*BenchResult, error) {
	b, err := Open(dir, cfg)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return b.bench(ctx, o)
}

func (b *Backend) bench(ctx context.Context, o BenchOptions) (*BenchResult, error) {
	if o.Tile <= 0 {
		o.Tile = 64
	}
	if o.Runs <= 0 {
		o.Runs = 5
	}
	B := 1
	if b.cfg.forGeometry(image.Point{}, image.Point{}).cfg() {
		B = 2
	}
	spec := b.m.Graphs[GraphDenoiser]
	r, err := b.open(GraphDenoiser, spec)
	if err != nil {
		return nil, err
	}
	den := newGraph(GraphDenoiser, spec, r, nil)
	defer den.close()

	s := int64(o.Tile)
	T, D := samDims(b.m)
	shapes := map[string][]int64{
		"sample":   {int64(B), int64(b.m.LatentChannels), s, s},
		"timestep": {int64(B)},
		"text":     {int64(B), int64(b.textL), int64(b.textE)},
		"sam":      {int64(B), int64(T), int64(D)},
		"cond":     {int64(B), 3, 8 * s, 8 * s},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for role, shape := range shapes {
		buf, _, err := den.in(role, shape, nil)
		if err != nil {
			return nil, err
		}
		for i := range buf.i64 {
			buf.i64[i] = 501
		}
		for i := range buf.f32 {
			buf.f32[i] = float32(rng.NormFloat64())
			if role == "cond" {
				buf.f32[i] = rng.Float32()
			}
		}
	}
	if _, err := den.out("eps", shapes["sample"]); err != nil {
		return nil, err
	}
	if err := den.run(ctx); err != nil { // warm-up: allocations, cuDNN algorithm search
		return nil, err
	}
	start := time.Now()
	for range o.Runs {
		if err := den.run(ctx); err != nil {
			return nil, err
		}
	}
	res := &BenchResult{Bundle: b.m.Name, Device: b.Device(), Tile: o.Tile, Batch: B,
		StepTime: time.Since(start) / time.Duration(o.Runs)}

	if b.m.DenoiserMACs > 0 && b.m.DenoiserMACsAt[0] > 0 && b.m.DenoiserMACsAt[1] > 0 {
		area := float64(s*s) / float64(b.m.DenoiserMACsAt[0]*b.m.DenoiserMACsAt[1])
		res.MACs = int64(float64(b.m.DenoiserMACs) * area * float64(B))
		res.MACSource = "manifest"
	} else {
		named := map[string][]int64{}
		for role, shape := range shapes {
			if io := spec.io(role, false); io != nil {
				named[io.Name] = shape
			}
		}
		rep, err := onnx.CountMACs(b.m.Path(spec.File), named)
		if err != nil {
			return nil, err
		}
		res.MACs, res.Uncounted, res.MACSource = rep.MACs, rep.Uncounted, "graph"
	}
	res.FLOPs = 2 * float64(res.MACs)
	if sec := res.StepTime.Seconds(); sec > 0 {
		res.TFLOPS = res.FLOPs / sec / 1e12
	}
	if o.Frame.X > 0 && o.Frame.Y > 0 {
		g, err := newGeometry(o.Frame, o.Frame)
		if err != nil {
			return nil, err
		}
		h, w := g.latent()
		res.FrameTiles = len(tileGrid(h, w))
		res.FrameStepTime = time.Duration(res.FrameTiles) * res.StepTime
	}
	return res, nil
}

// samDims returns the SAM context the denoiser takes: T tokens of width D.
func samDims(m *Manifest) (T, D int) {
	emb := m.Graphs[GraphSAM].io("embeddings", true)
	T, D = int(emb.dim(1)), int(emb.dim(2))
	if d := m.Graphs[GraphDenoiser].io("sam", false).dim(2); d > 0 {
		D = int(d)
	}
	return T, D
}
