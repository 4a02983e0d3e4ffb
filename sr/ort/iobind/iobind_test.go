package iobind

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/ugcsr/ugcsr/sr/onnx"
	"github.com/ugcsr/ugcsr/sr/ort"
)

// testDevice is the device $UGCSR_TEST_DEVICE names (cpu when unset; cuda on a GPU machine).
func testDevice(t testing.TB) ort.Device {
	t.Helper()
	d, err := ort.ParseDevice(os.Getenv("UGCSR_TEST_DEVICE"))
	if err != nil {
		t.Fatal(err)
	}
	if d == ort.DeviceAuto {
		d = ort.DeviceCPU
	}
	return d
}

// copyModes lists the copy modes the test device supports.
func copyModes(dev ort.Device) []CopyMode {
	if dev == ort.DeviceCPU {
		return []CopyMode{CopyMemcpy, CopyIdentity}
	}
	return []CopyMode{CopyIdentity}
}

func newTestMemory(t testing.TB, mode CopyMode) *Memory {
	t.Helper()
	ort.TestLoad(t)
	m, err := NewMemory(Config{Device: testDevice(t), Threads: 2, Copy: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// addMul is y = (a + b) * c for a, b of shape [n, 4] and c of shape [1].
func addMul(t testing.TB) []byte {
	t.Helper()
	g := onnx.NewGraph("addmul")
	g.Input("a", onnx.Float, -1, 4)
	g.Input("b", onnx.Float, -1, 4)
	g.Input("c", onnx.Float, 1)
	g.Output("y", onnx.Float, -1, 4)
	s := g.Node("Add", []string{"a", "b"}, []string{"s"})
	g.Node("Mul", []string{s[0], "c"}, []string{"y"})
	data, err := g.Marshal(17)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func randn(r *rand.Rand, n int) []float32 {
	p := make([]float32, n)
	for i := range p {
		p[i] = float32(r.NormFloat64())
	}
	return p
}

func mustTensor(t testing.TB, m *Memory, dt ort.DType, shape ...int64) *Tensor {
	t.Helper()
	x, err := m.NewTensor(dt, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBindMatchesSession runs a small graph bound to tensors in device memory and compares it with
// package ort's plain session on the same data; the byte counters must say exactly what was
// uploaded and downloaded, in every copy mode.
func TestBindMatchesSession(t *testing.T) {
	const n = 6
	model := addMul(t)
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c := randn(r, n*4), randn(r, n*4), []float32{0.75}

	// The reference: package ort's session on host tensors.
	ort.TestLoad(t)
	ref, err := ort.NewSession(ort.Model{Data: model}, ort.Config{Device: ort.DeviceCPU, Threads: 1})
	must(t, err)
	defer ref.Close()
	var hs []*ort.Tensor
	for _, sh := range [][]int64{{n, 4}, {n, 4}, {1}, {n, 4}} {
		x, err := ort.NewTensor(ort.Float32, sh...)
		must(t, err)
		defer x.Close()
		hs = append(hs, x)
	}
	copy(hs[0].Float32(), a)
	copy(hs[1].Float32(), b)
	copy(hs[2].Float32(), c)
	must(t, ref.Run(context.Background(), hs[:3], hs[3:]))
	want := hs[3].Float32()

	for _, mode := range copyModes(testDevice(t)) {
		t.Run(mode.String(), func(t *testing.T) {
			m := newTestMemory(t, mode)
			s, err := m.NewSession(ort.Model{Data: model}, SessionConfig{})
			must(t, err)
			da, db := mustTensor(t, m, ort.Float32, n, 4), mustTensor(t, m, ort.Float32, n, 4)
			dc, dy := mustTensor(t, m, ort.Float32, 1), mustTensor(t, m, ort.Float32, n, 4)
			must(t, Upload(da, a))
			must(t, Upload(db, b))
			must(t, Upload(dc, c))
			for _, bd := range []struct {
				name string
				x    *Tensor
			}{{"a", da}, {"b", db}, {"c", dc}} {
				must(t, s.BindInput(bd.name, bd.x))
			}
			must(t, s.BindOutput("y", dy))
			before := m.Transferred()
			for range 3 { // runs move nothing between host and device
				must(t, s.Run(context.Background()))
			}
			if d := m.Transferred().Sub(before); d != (Transfers{}) {
				t.Errorf("runs transferred %+v", d)
			}
			got := make([]float32, n*4)
			must(t, Download(got, dy))
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("y[%d] = %g, the plain session %g", i, got[i], want[i])
				}
			}
			wantT := Transfers{Up: (2*n*4 + 1) * 4, Down: n * 4 * 4, Copies: 4}
			if tr := m.Transferred(); tr != wantT {
				t.Errorf("transferred %+v, want %+v", tr, wantT)
			}
		})
	}
}

// TestBindAlternate runs x' = (x + b) * c ten times, x alternating between two bound buffers, and
// compares with the same float32 arithmetic in Go. Only the start and the end cross.
func TestBindAlternate(t *testing.T) {
	const n = 5
	for _, mode := range copyModes(testDevice(t)) {
		t.Run(mode.String(), func(t *testing.T) {
			m := newTestMemory(t, mode)
			s, err := m.NewSession(ort.Model{Data: addMul(t)}, SessionConfig{})
			must(t, err)
			r := rand.New(rand.NewPCG(3, 4))
			x0, b, c := randn(r, n*4), randn(r, n*4), []float32{0.5}
			xs := [2]*Tensor{mustTensor(t, m, ort.Float32, n, 4), mustTensor(t, m, ort.Float32, n, 4)}
			db, dc := mustTensor(t, m, ort.Float32, n, 4), mustTensor(t, m, ort.Float32, 1)
			must(t, Upload(xs[0], x0))
			must(t, Upload(db, b))
			must(t, Upload(dc, c))
			must(t, s.BindInput("b", db))
			must(t, s.BindInput("c", dc))
			start := m.Transferred()
			cur := 0
			for range 10 {
				must(t, s.BindInput("a", xs[cur]))
				must(t, s.BindOutput("y", xs[1-cur]))
				must(t, s.Run(context.Background()))
				cur = 1 - cur
			}
			if d := m.Transferred().Sub(start); d.Bytes() != 0 {
				t.Errorf("steps transferred %+v", d)
			}
			got := make([]float32, n*4)
			must(t, Download(got, xs[cur]))
			want := append([]float32(nil), x0...)
			for range 10 {
				for i := range want {
					want[i] = (want[i] + b[i]) * c[0]
				}
			}
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("x[%d] = %g, want %g", i, got[i], want[i])
				}
			}
		})
	}
}

// TestViews binds views (row slices of one tensor) as inputs and as the output.
func TestViews(t *testing.T) {
	m := newTestMemory(t, CopyAuto)
	s, err := m.NewSession(ort.Model{Data: addMul(t)}, SessionConfig{})
	must(t, err)
	big := mustTensor(t, m, ort.Float32, 3, 2, 4)
	r := rand.New(rand.NewPCG(5, 6))
	data := randn(r, 3*2*4)
	must(t, Upload(big, data))
	va, err := big.View(0, 2, 4)
	must(t, err)
	vb, err := big.View(8, 2, 4)
	must(t, err)
	vy, err := big.View(16, 2, 4)
	must(t, err)
	if _, err := big.View(17, 2, 4); err == nil {
		t.Errorf("a view past the end was made")
	}
	dc := mustTensor(t, m, ort.Float32, 1)
	must(t, Upload(dc, []float32{2}))
	must(t, s.BindInput("a", va))
	must(t, s.BindInput("b", vb))
	must(t, s.BindInput("c", dc))
	must(t, s.BindOutput("y", vy))
	must(t, s.Run(context.Background()))
	got := make([]float32, 3*2*4)
	must(t, Download(got, big))
	for i := range 8 {
		if w := (data[i] + data[8+i]) * 2; got[16+i] != w || got[i] != data[i] {
			t.Fatalf("element %d: %g (input %g), want %g", i, got[16+i], got[i], w)
		}
	}
}

// TestTypes round-trips float16 bits and int64 through device memory, and refuses a wrong type or
// length.
func TestTypes(t *testing.T) {
	for _, mode := range copyModes(testDevice(t)) {
		t.Run(mode.String(), func(t *testing.T) {
			m := newTestMemory(t, mode)
			h := mustTensor(t, m, ort.Float16, 3)
			i := mustTensor(t, m, ort.Int64, 2, 2)
			must(t, Upload(h, []uint16{onnx.Float32ToFloat16(1.5), 0x7bff, 1}))
			must(t, Upload(i, []int64{981, -1, math.MaxInt64, 0}))
			gh, gi := make([]uint16, 3), make([]int64, 4)
			must(t, Download(gh, h))
			must(t, Download(gi, i))
			if gh[0] != onnx.Float32ToFloat16(1.5) || gh[1] != 0x7bff || gh[2] != 1 || gi[0] != 981 || gi[2] != math.MaxInt64 {
				t.Errorf("round trip: %v %v", gh, gi)
			}
			if err := Upload(h, []float32{1, 2, 3}); err == nil {
				t.Errorf("float32 into a float16 tensor was accepted")
			}
			if err := Upload(i, []int64{1}); err == nil {
				t.Errorf("1 element into a 4-element tensor was accepted")
			}
			if tr := m.Transferred(); tr.Up != 3*2+4*8 || tr.Down != 3*2+4*8 {
				t.Errorf("transferred %+v", tr)
			}
		})
	}
}

// TestProfileNoCopies profiles bound runs: every run and node shows up, and no copy node.
func TestProfileNoCopies(t *testing.T) {
	m := newTestMemory(t, CopyAuto)
	s, err := m.NewSession(ort.Model{Data: addMul(t)}, SessionConfig{Profile: t.TempDir() + "/addmul"})
	must(t, err)
	x, c := mustTensor(t, m, ort.Float32, 2, 4), mustTensor(t, m, ort.Float32, 1)
	must(t, Upload(x, make([]float32, 8)))
	must(t, Upload(c, []float32{1}))
	y := mustTensor(t, m, ort.Float32, 2, 4)
	must(t, s.BindInput("a", x))
	must(t, s.BindInput("b", x))
	must(t, s.BindInput("c", c))
	must(t, s.BindOutput("y", y))
	for range 4 {
		must(t, s.Run(context.Background()))
	}
	path, err := s.EndProfiling()
	must(t, err)
	p, err := ReadProfileFile(path)
	must(t, err)
	t.Logf("%s: %v, providers %v", path, p, p.Providers)
	if p.Runs != 4 || p.Nodes != 8 || p.CopyNodes() != 0 {
		t.Errorf("profile: %v, want 4 runs, 8 node executions, no copy nodes", p)
	}
}

// TestClose closes tensors, views and sessions in any order, twice, and refuses use after close.
func TestClose(t *testing.T) {
	m := newTestMemory(t, CopyAuto)
	s, err := m.NewSession(ort.Model{Data: addMul(t)}, SessionConfig{})
	must(t, err)
	x := mustTensor(t, m, ort.Float32, 2, 4)
	v, err := x.View(4, 1, 4)
	must(t, err)
	must(t, v.Close())
	must(t, v.Close())
	if err := s.BindInput("a", v); err == nil {
		t.Errorf("a closed view was bound")
	}
	must(t, s.Close())
	if err := s.Run(context.Background()); err == nil {
		t.Errorf("a closed session ran")
	}
	must(t, m.Close()) // x is still open: Close releases it
	must(t, m.Close())
	if _, err := m.NewTensor(ort.Float32, 1); err == nil {
		t.Errorf("a closed memory allocated")
	}
	if err := Upload(x, make([]float32, 8)); err == nil {
		t.Errorf("a closed tensor was written")
	}
}
