// Package sr defines the super-resolution backend contract: frames in, frames out, batched,
// cancellable, told the frame size up front. Backends live in sub-packages (classical, realesrgan,
// diffusion); package backends opens one by name.
package sr

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/ugcsr/ugcsr/frame"
)

// Spec is what a backend is told before the first frame of a job.
type Spec struct {
	// In is the size of every input frame.
	In image.Point
	// Out is the size every output frame must have. Backends whose native scale differs resample
	// their result to it (antialiased when shrinking).
	Out image.Point
}

// Caps describes a backend to the pipeline, which chooses its policy from it (never from a name).
type Caps struct {
	// Cheap marks a backend that costs about as little per frame as looking for scene cuts and
	// duplicates (the classical resamplers): the pipeline analyses nothing for it and gives it a
	// worker per core.
	Cheap bool
	// WholeFrames marks a backend that must see whole frames, never crops (the diffusion runtime
	// embeds the frame with SAM2): tile reuse, which hands a backend crops, does not apply to it.
	WholeFrames bool
	// SceneConstants marks a backend that computes per-scene constants once per segment
	// (frame.Frame.Segment): the pipeline's analyzer must stamp segments on the frames.
	SceneConstants bool
	// SourceFormat marks a backend that also takes frames in the source's own planar YUV format
	// (frame.Frame.YUV, 8 to 16 bits) and writes its output in that format: the pipeline then hands
	// it such frames, with no float RGB conversion between decoder and encoder, where it can (no
	// analyzer, an encoder that takes the source's format).
	SourceFormat bool
	// Workers is the number of workers the backend runs best with (optional). It defaults to one
	// per core for a Cheap backend and one otherwise (an ONNX session uses every core itself).
	// Frames per Upscale call are Upscaler.BatchSize.
	Workers int
}

// Backend is an opened model: weights loaded, runtime ready. It makes one Upscaler per pipeline
// worker; Backend itself is safe for concurrent use.
type Backend interface {
	// Name identifies the backend in logs and progress output, e.g. "lanczos" or "realesrgan-x4fast".
	Name() string
	// Caps describes what the backend is and needs.
	Caps() Caps
	// NewUpscaler returns a worker-private Upscaler for spec.
	NewUpscaler(spec Spec) (Upscaler, error)
	// Close releases what the backend holds. Upscalers must be closed first.
	Close() error
}

// Upscaler serves one worker goroutine and is not safe for concurrent use.
type Upscaler interface {
	// BatchSize is how many frames Upscale wants at once (1 for most backends). Callers may pass
	// fewer, at the end of a stream.
	BatchSize() int
	// Upscale writes the upscaled src[i] into dst[i]. dst frames are already Spec.Out in size;
	// only their pixels are written (the caller carries timestamps). src is never modified.
	Upscale(ctx context.Context, dst, src []*frame.Frame) error
	// Close releases per-worker resources (ONNX tensors, scratch). It is nil-safe and idempotent.
	Close() error
}

// Counter is implemented by backends that count work worth reporting in -progress output
// (e.g. tiles reused, encoder runs). Visit is called with each counter's key and value.
type Counter interface {
	Counters(visit func(key string, value int64))
}

// ErrClosed is returned by Upscale on an Upscaler that was closed.
var ErrClosed = errors.New("upscaler is closed")

// ErrFrameSize is returned by Upscale for frames whose sizes are not the Spec's, or whose dst and
// src counts differ.
var ErrFrameSize = errors.New("frame size differs from the upscaler's spec")

// CheckFrames is the check every Upscaler makes before work: it reports ErrClosed when closed, and
// ErrFrameSize unless dst and src are the same number of frames of sizes spec.Out and spec.In.
func CheckFrames(closed bool, spec Spec, dst, src []*frame.Frame) error {
	if closed {
		return ErrClosed
	}
	if len(dst) != len(src) {
		return fmt.Errorf("%w: %d destination frames for %d sources", ErrFrameSize, len(dst), len(src))
	}
	for i, f := range src {
		if f.Size() != spec.In || dst[i].Size() != spec.Out {
			return fmt.Errorf("%w: frame %v -> %v, spec %v -> %v", ErrFrameSize, f.Size(), dst[i].Size(), spec.In, spec.Out)
		}
	}
	return nil
}

// ErrUnknownModel is returned by package backends when a --model name matches no backend.
var ErrUnknownModel = errors.New("unknown model")
