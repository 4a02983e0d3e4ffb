// Package scenecache holds per-segment values (SAM2 embeddings, tags, prompt embeddings) for the
// concurrent, out-of-order workers of one job: computed once per segment (frame.Frame.Segment, which
// the pipeline's analyzer stamps), shared read-only by the segment's frames.
package scenecache

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/ugcsr/ugcsr/frame"
)

// DefaultCapacity is Cache's default number of segments kept.
const DefaultCapacity = 8

// Cache holds one value per segment (a SAM2 embedding, a tag string, prompt embeddings) for the
// workers of one job, computed once per segment and shared read-only by its frames. A frame's
// segment is frame.Frame.Segment, the Index of its keyframe: frames nobody analysed (Segment 0)
// share one segment.
//
// It is safe for concurrent use by workers that process frames out of order. A worker asking for
// a segment whose value is neither cached nor being computed computes it from its own frame; a
// worker asking for one being computed waits for that computation (which is already running, so
// waits always end), then uses its result; if it failed, the waiter computes instead. There is no
// waiting for frames that have not arrived, so there is no deadlock whatever the order.
//
// Keyframes and determinism: the value is computed from the first frame of the segment to reach
// the cache. With one worker (the pipeline's default for ONNX backends) frames arrive in order, so
// that is always the segment's keyframe (its first frame; duplicates never start a segment) and the
// output is deterministic. With several workers a later frame of the segment can arrive first;
// its value is then used for the whole segment, and the output can differ from run to run by that
// choice (Lates counts it).
//
// Bounds: at most Capacity computed values are kept, least recently used segments evicted first,
// plus at most one value per worker being computed. A segment evicted while some of its frames are
// still to come is recomputed for them (counted again). With frames processed in a window of at
// most MaxInFlight consecutive frames, as the pipeline does, a capacity of 2*MaxInFlight never
// evicts a live segment.
//
// Values must be read-only once returned by compute and left to the garbage collector (the cache
// drops them without calling anything).
type Cache[T any] struct {
	capy int
	name string

	mu      sync.Mutex
	entries map[cacheKey]*cacheEntry[T]
	lru     list.List // of *cacheEntry[T], computed ones only, most recent first

	hits, computes, waits, lates, evictions atomic.Int64
}

// Config configures New.
type Config struct {
	// Capacity is the number of computed values kept (optional). It defaults to DefaultCapacity.
	Capacity int
	// Name prefixes the counter keys, e.g. "sam" gives sam_cache_hits (optional). It defaults to
	// "scene".
	Name string
}

// cacheKey identifies a segment's value: the segment (its keyframe's Index) and the frame size it
// was computed for.
type cacheKey struct {
	segment int64
	w, h    int
}

type cacheEntry[T any] struct {
	key  cacheKey
	done chan struct{} // closed once val/err are set
	val  T
	err  error
	from int64 // Index of the frame the value was computed from
	elem *list.Element
}

// New returns an empty cache.
func New[T any](cfg Config) *Cache[T] {
	c := &Cache[T]{capy: cfg.Capacity, name: cfg.Name, entries: map[cacheKey]*cacheEntry[T]{}}
	if c.capy <= 0 {
		c.capy = DefaultCapacity
	}
	if c.name == "" {
		c.name = "scene"
	}
	return c
}

// Get returns the value of f's segment, calling compute (with f's worker's ctx) when the segment
// has none yet. compute runs at most once at a time per segment; it should derive the value from
// f. An error from compute is returned to this caller and not cached. Get returns ctx.Err() if ctx
// ends while it waits for another worker's computation.
func (c *Cache[T]) Get(ctx context.Context, f *frame.Frame, compute func(ctx context.Context) (T, error)) (T, error) {
	key := cacheKey{segment: f.Segment, w: f.W, h: f.H}
	for {
		c.mu.Lock()
		e := c.entries[key]
		if e == nil {
			e = &cacheEntry[T]{key: key, done: make(chan struct{}), from: f.Index}
			c.entries[key] = e
			c.mu.Unlock()
			if f.SegmentKeyframe().Index != f.Segment {
				c.lates.Add(1)
			}
			return c.compute(ctx, e, compute)
		}
		select {
		case <-e.done:
			c.lru.MoveToFront(e.elem)
			c.mu.Unlock()
			c.hits.Add(1)
			return e.val, nil
		default:
		}
		c.mu.Unlock()
		c.waits.Add(1)
		select {
		case <-e.done:
		case <-ctx.Done():
			var zero T
			return zero, ctx.Err()
		}
		if e.err == nil {
			c.mu.Lock()
			if e.elem != nil && c.entries[key] == e {
				c.lru.MoveToFront(e.elem)
			}
			c.mu.Unlock()
			c.hits.Add(1)
			return e.val, nil
		}
		// The computation failed and its entry is gone: try again, computing if nobody else is.
	}
}

// compute runs fn for the new entry e and publishes the result. A panic in fn is turned into an
// error for the waiters and then re-raised, so they never wait forever.
func (c *Cache[T]) compute(ctx context.Context, e *cacheEntry[T], fn func(ctx context.Context) (T, error)) (val T, err error) {
	finished := false
	defer func() {
		if !finished {
			err = fmt.Errorf("scenecache: %s: compute panicked", c.name)
		}
		c.mu.Lock()
		if err != nil {
			delete(c.entries, e.key)
			e.err = err
		} else {
			e.val = val
			e.elem = c.lru.PushFront(e)
			for c.lru.Len() > c.capy {
				old := c.lru.Remove(c.lru.Back()).(*cacheEntry[T])
				old.elem = nil
				delete(c.entries, old.key)
				c.evictions.Add(1)
			}
		}
		close(e.done)
		c.mu.Unlock()
	}()
	val, err = fn(ctx)
	finished = true
	if err == nil {
		c.computes.Add(1)
	}
	return val, err
}

// Counters implements sr.Counter with the cache's Name as prefix: <name>_cache_hits (frames served
// a value computed for another frame of their segment) and <name>_cache_computes (values computed,
// i.e. encoder runs when the value is an encoder's output).
func (c *Cache[T]) Counters(visit func(key string, value int64)) {
	visit(c.name+"_cache_hits", c.hits.Load())
	visit(c.name+"_cache_computes", c.computes.Load())
}

// Stats are a Cache's counts.
type Stats struct {
	Hits      int64 // values served from the cache (including after waiting)
	Computes  int64 // successful computations
	Waits     int64 // requests that waited for another worker's computation
	Lates     int64 // computations from a frame other than the segment's keyframe (see SceneCache)
	Evictions int64 // values dropped to stay within Capacity
	Len       int   // values held now
}

// Stats returns the cache's counts.
func (c *Cache[T]) Stats() Stats {
	c.mu.Lock()
	n := c.lru.Len()
	c.mu.Unlock()
	return Stats{Hits: c.hits.Load(), Computes: c.computes.Load(), Waits: c.waits.Load(),
		Lates: c.lates.Load(), Evictions: c.evictions.Load(), Len: n}
}
