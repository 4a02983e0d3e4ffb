package scenecache_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/sr/scenecache"
	"github.com/ugcsr/ugcsr/temporal"
)

// fr returns an 8x8 frame at index in the segment whose keyframe is segment.
func fr(index, segment int64) *frame.Frame {
	return &frame.Frame{W: 8, H: 8, Index: index, Segment: segment}
}

// TestCacheSingleflight: concurrent requests for one segment compute once; the others wait for
// that computation and get its value.
func TestCacheSingleflight(t *testing.T) {
	c := scenecache.New[int64](scenecache.Config{Name: "sam"})
	release := make(chan struct{})
	var calls atomic.Int64
	var wg sync.WaitGroup
	got := make([]int64, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fr(int64(i), 0)
			v, err := c.Get(context.Background(), f, func(ctx context.Context) (int64, error) {
				calls.Add(1)
				<-release
				return 100 + f.Index, nil
			})
			if err != nil {
				t.Error(err)
			}
			got[i] = v
		}()
	}
	waitFor(t, func() bool { return c.Stats().Waits == 7 })
	close(release)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d computations", calls.Load())
	}
	for _, v := range got[1:] {
		if v != got[0] {
			t.Fatalf("values differ: %v", got)
		}
	}
	st := c.Stats()
	if st.Computes != 1 || st.Hits != 7 || st.Len != 1 {
		t.Fatalf("%+v", st)
	}
	counters := map[string]int64{}
	c.Counters(func(k string, v int64) { counters[k] = v })
	if counters["sam_cache_hits"] != 7 || counters["sam_cache_computes"] != 1 {
		t.Fatalf("%v", counters)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(time.Millisecond)
	}
}

var errCompute = errors.New("compute failed")

// TestCacheErrorsAndPanics: a failed or panicking computation is not cached and never strands its
// waiters: one of them computes instead.
func TestCacheErrorsAndPanics(t *testing.T) {
	for _, mode := range []string{"error", "panic"} {
		t.Run(mode, func(t *testing.T) {
			c := scenecache.New[string](scenecache.Config{})
			release, started := make(chan struct{}), make(chan struct{})
			first := make(chan error, 1)
			go func() {
				defer func() {
					if r := recover(); r != nil {
						first <- errors.New("panicked")
					}
				}()
				_, err := c.Get(context.Background(), fr(0, 0), func(ctx context.Context) (string, error) {
					close(started)
					<-release
					if mode == "panic" {
						panic("boom")
					}
					return "", errCompute
				})
				first <- err
			}()
			<-started
			done := make(chan string)
			go func() {
				v, err := c.Get(context.Background(), fr(1, 0), func(ctx context.Context) (string, error) { return "second", nil })
				if err != nil {
					t.Error(err)
				}
				done <- v
			}()
			waitFor(t, func() bool { return c.Stats().Waits == 1 })
			close(release)
			if err := <-first; err == nil {
				t.Fatal("first Get did not fail")
			}
			if v := <-done; v != "second" {
				t.Fatalf("waiter got %q", v)
			}
			if st := c.Stats(); st.Computes != 1 || st.Len != 1 {
				t.Fatalf("%+v", st)
			}
		})
	}
}

// TestCacheCancelWhileWaiting: a waiter whose ctx ends returns ctx.Err() at once.
func TestCacheCancelWhileWaiting(t *testing.T) {
	c := scenecache.New[int](scenecache.Config{})
	release, started := make(chan struct{}), make(chan struct{})
	defer close(release)
	go c.Get(context.Background(), fr(0, 0), func(ctx context.Context) (int, error) {
		close(started)
		<-release
		return 1, nil
	})
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := c.Get(ctx, fr(1, 0), func(context.Context) (int, error) { return 2, nil })
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v", err)
	}
}

// TestCacheLRUAndKeys: the least recently used segment goes first; other segments and other frame
// sizes are other keys.
func TestCacheLRUAndKeys(t *testing.T) {
	c := scenecache.New[int64](scenecache.Config{Capacity: 2})
	var calls int
	get := func(f *frame.Frame) int64 {
		v, err := c.Get(context.Background(), f, func(context.Context) (int64, error) { calls++; return f.Index, nil })
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if get(fr(0, 0)) != 0 || get(fr(5, 0)) != 0 || calls != 1 {
		t.Fatal("segment 0 not shared")
	}
	get(fr(10, 10)) // segment 10: 2 values
	get(fr(3, 0))   // touch segment 0
	get(fr(25, 25)) // segment 25 evicts segment 10
	if calls != 3 {
		t.Fatalf("%d computations", calls)
	}
	get(fr(4, 0)) // still cached
	if calls != 3 {
		t.Fatal("segment 0 was evicted")
	}
	get(fr(11, 10)) // segment 10 again: recomputed
	if calls != 4 || c.Stats().Evictions != 2 {
		t.Fatalf("%d computations, %+v", calls, c.Stats())
	}
	get(fr(12, 12)) // other segment
	big := fr(13, 12)
	big.W = 16 // other size
	get(big)
	if calls != 6 {
		t.Fatalf("%d computations", calls)
	}
	// A value computed from a frame other than its segment's keyframe is counted as late.
	// (frame 11 recomputed segment 10, frame 13 computed segment 12 at width 16).
	if st := c.Stats(); st.Lates != 2 {
		t.Fatalf("%d late computations, want 2", st.Lates)
	}
}

// TestCacheWithDetector: on frames the Detector stamped, many goroutines asking in random order
// compute each segment exactly once, and with one goroutine in order every value comes from its
// segment's keyframe.
func TestCacheWithDetector(t *testing.T) {
	d := &temporal.Detector{Refresh: 7}
	const n = 200
	a, b := noisy(32, 32, 1), noisy(32, 32, 2)
	frames := make([]*frame.Frame, n)
	for i := range frames {
		p := a
		if i >= 90 {
			p = b // a cut at 90
		}
		f := frame.New(32, 32)
		copy(f.Pix, p.Pix)
		f.Pix[i%len(f.Pix)] += 0.001
		f.Index = int64(i)
		if err := d.Analyze(f); err != nil {
			t.Fatal(err)
		}
		frames[i] = f
	}
	segments := map[int64]bool{}
	for _, f := range frames {
		segments[f.Segment] = true
	}
	// 0, 7, ..., 84 in scene 0 (13), 90, 97, ..., 195 in scene 1 (16).
	if len(segments) != 29 {
		t.Fatalf("%d segments", len(segments))
	}

	c := scenecache.New[int64](scenecache.Config{Capacity: 64})
	var mu sync.Mutex
	computed := map[int64]int{}
	var wg sync.WaitGroup
	order := make(chan *frame.Frame, n)
	for _, i := range randPerm(n) {
		order <- frames[i]
	}
	close(order)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range order {
				_, err := c.Get(context.Background(), f, func(context.Context) (int64, error) {
					mu.Lock()
					computed[f.Segment]++
					mu.Unlock()
					time.Sleep(100 * time.Microsecond)
					return f.Index, nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	for s, k := range computed {
		if k != 1 {
			t.Errorf("segment %d computed %d times", s, k)
		}
	}
	if len(computed) != 29 {
		t.Fatalf("%d segments computed", len(computed))
	}

	inOrder := scenecache.New[int64](scenecache.Config{Capacity: 2})
	for _, f := range frames {
		v, _ := inOrder.Get(context.Background(), f, func(context.Context) (int64, error) { return f.Index, nil })
		if v != f.Segment {
			t.Fatalf("frame %d: value from frame %d, want keyframe %d", f.Index, v, f.Segment)
		}
	}
	if st := inOrder.Stats(); st.Computes != 29 || st.Lates != 0 {
		t.Fatalf("%+v", st)
	}
}

func randPerm(n int) []int {
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	// deterministic shuffle
	x := uint64(12345)
	for i := n - 1; i > 0; i-- {
		x = x*6364136223846793005 + 1442695040888963407
		j := int(x>>33) % (i + 1)
		p[i], p[j] = p[j], p[i]
	}
	return p
}

func noisy(w, h int, seed uint64) *frame.Frame {
	r := rand.New(rand.NewPCG(seed, 1))
	f := frame.New(w, h)
	for i := range f.Pix {
		f.Pix[i] = r.Float32()
	}
	return f
}
