package mediatest

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/testenv"
)

// recorder is a testing.TB that records failures and skips instead of acting on them.
type recorder struct {
	testing.TB
	failed, skipped bool
	msg             string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.failed, r.msg = true, fmt.Sprintf(f, a...)
}
func (r *recorder) Fatal(a ...any) { r.failed, r.msg = true, fmt.Sprint(a...); runtime.Goexit() }
func (r *recorder) Fatalf(f string, a ...any) {
	r.failed, r.msg = true, fmt.Sprintf(f, a...)
	runtime.Goexit()
}
func (r *recorder) Skipf(f string, a ...any) {
	r.skipped, r.msg = true, fmt.Sprintf(f, a...)
	runtime.Goexit()
}

// record runs fn on a recorder in its own goroutine (Fatal and Skip end it) and returns the recorder.
func record(t *testing.T, fn func(tb testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func TestGates(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	for _, c := range []struct {
		name string
		gate func(testing.TB, string, float64, float64) bool
		got  float64
		lim  float64
		pass bool
	}{
		{"AtLeast 45 >= 40", AtLeast, 45, 40, true},
		{"AtLeast 40 >= 40", AtLeast, 40, 40, true},
		{"AtLeast 39.9 >= 40", AtLeast, 39.9, 40, false},
		{"AtLeast +Inf >= 40", AtLeast, inf, 40, true},
		{"AtLeast -Inf >= 40", AtLeast, -inf, 40, false},
		{"AtLeast NaN >= 40", AtLeast, nan, 40, false},
		{"AtMost 1 <= 1", AtMost, 1, 1, true},
		{"AtMost 2 <= 1", AtMost, 2, 1, false},
		{"AtMost +Inf <= 1", AtMost, inf, 1, false},
		{"AtMost NaN <= 1", AtMost, nan, 1, false},
	} {
		var ok bool
		r := record(t, func(tb testing.TB) { ok = c.gate(tb, c.name, c.got, c.lim) })
		if ok != c.pass || r.failed == c.pass {
			t.Errorf("%s: returned %v, failed %v; want pass %v", c.name, ok, r.failed, c.pass)
		}
	}
}

func TestFrameGates(t *testing.T) {
	a, b := frame.New(4, 2), frame.New(4, 2)
	b.Pix[3] = 2.0 / 255
	if r := record(t, func(tb testing.TB) {
		if p := PSNR(tb, a, b); math.IsNaN(p) || math.IsInf(p, 0) {
			tb.Errorf("PSNR %v", p)
		}
		if d := MaxDiff(tb, a, b); d != 2 {
			tb.Errorf("MaxDiff %d", d)
		}
	}); r.failed {
		t.Errorf("equal sizes: %s", r.msg)
	}
	nan := frame.New(4, 2)
	nan.Pix[0] = float32(math.NaN())
	for name, c := range map[string]*frame.Frame{"4x3": frame.New(4, 3), "NaN": nan} {
		if r := record(t, func(tb testing.TB) { PSNR(tb, a, c) }); !r.failed {
			t.Errorf("PSNR %s accepted", name)
		}
		if r := record(t, func(tb testing.TB) { MaxDiff(tb, c, a) }); !r.failed {
			t.Errorf("MaxDiff %s accepted", name)
		}
	}
}

func TestSkipRequired(t *testing.T) {
	t.Setenv(testenv.EnvRequire, "1")
	if r := record(t, func(tb testing.TB) { Skip(tb, "missing %s", "x") }); !r.failed || r.skipped {
		t.Errorf("%s=1: failed %v skipped %v", testenv.EnvRequire, r.failed, r.skipped)
	}
	if r := record(t, func(tb testing.TB) { Shared(tb, "no/such/file") }); !r.failed || r.skipped {
		t.Errorf("%s=1: Shared of a missing file: failed %v skipped %v", testenv.EnvRequire, r.failed, r.skipped)
	}
	t.Setenv(testenv.EnvRequire, "")
	if r := record(t, func(tb testing.TB) { Skip(tb, "missing %s", "x") }); r.failed || !r.skipped {
		t.Errorf("unset: failed %v skipped %v", r.failed, r.skipped)
	}
}
