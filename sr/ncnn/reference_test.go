package ncnn

import (
	"fmt"
	"math"
)

// A direct Go transcription of the ncnn layers this package supports, for small test nets: blobs
// are C x H x W float32, batch-free as in ncnn.

type mat struct {
	c, h, w int
	d       []float32
}

func newMat(c, h, w int) *mat { return &mat{c, h, w, make([]float32, c*h*w)} }

func (m *mat) at(c, y, x int) float32 { return m.d[(c*m.h+y)*m.w+x] }

func (m *mat) set(c, y, x int, v float32) { m.d[(c*m.h+y)*m.w+x] = v }

// forward runs n on input x and returns the output blob.
func (n *Net) forward(x *mat) (*mat, error) {
	_, outBlob, err := n.shapes()
	if err != nil {
		return nil, err
	}
	blobs := map[string]*mat{}
	for _, l := range n.Layers {
		in := make([]*mat, len(l.Bottoms))
		for i, b := range l.Bottoms {
			in[i] = blobs[b]
		}
		var out *mat
		switch s := l.spec.(type) {
		case inputSpec:
			out = x
		case nil:
			out = in[0]
		case convSpec:
			out = refConv(in[0], s, l.Weights)
		case preluSpec:
			a := in[0]
			out = newMat(a.c, a.h, a.w)
			for i, v := range a.d {
				slope := l.Weights[0][0]
				if s.slopes > 1 {
					slope = l.Weights[0][i/(a.h*a.w)]
				}
				if v < 0 {
					v *= slope
				}
				out.d[i] = v
			}
		case pixelShuffleSpec:
			a, r := in[0], s.r
			out = newMat(a.c/(r*r), a.h*r, a.w*r)
			for p := 0; p < out.c; p++ {
				for sh := 0; sh < r; sh++ {
					for sw := 0; sw < r; sw++ {
						q := p*r*r + sh*r + sw
						if s.mode == 1 {
							q = (sh*r+sw)*out.c + p
						}
						for i := 0; i < a.h; i++ {
							for j := 0; j < a.w; j++ {
								out.set(p, i*r+sh, j*r+sw, a.at(q, i, j))
							}
						}
					}
				}
			}
		case interpSpec:
			out = refInterp(in[0], s)
		case binaryOpSpec:
			a := in[0]
			out = newMat(a.c, a.h, a.w)
			for i, v := range a.d {
				b := s.b
				if !s.withScalar {
					b = in[1].d[i]
				}
				out.d[i] = binop(s.op, v, b)
			}
		case eltwiseSpec:
			a := in[0]
			out = newMat(a.c, a.h, a.w)
			for i := range out.d {
				var acc float32
				for k, m := range in {
					v := m.d[i]
					switch {
					case k == 0 && s.op != 1:
						acc = v
					case s.op == 0:
						acc *= v
					case s.op == 2:
						acc = max(acc, v)
					default:
						if len(s.coeffs) > 0 {
							v *= s.coeffs[k]
						}
						acc += v
					}
				}
				out.d[i] = acc
			}
		case concatSpec:
			out = refConcat(in, s.axis)
		default:
			return nil, fmt.Errorf("reference: %v", l)
		}
		for _, t := range l.Tops {
			blobs[t] = out
		}
	}
	return blobs[outBlob], nil
}

func binop(op int, a, b float32) float32 {
	switch op {
	case opAdd:
		return a + b
	case opSub:
		return a - b
	case opMul:
		return a * b
	case opDiv:
		return a / b
	case opMax:
		return max(a, b)
	case opMin:
		return min(a, b)
	case opPow:
		return float32(math.Pow(float64(a), float64(b)))
	case opRSub:
		return b - a
	case opRDiv:
		return b / a
	}
	panic("op")
}

func refConv(a *mat, s convSpec, w [][]float32) *mat {
	ekw, ekh := s.dw*(s.kw-1)+1, s.dh*(s.kh-1)+1
	pw, ph := a.w+s.padL+s.padR, a.h+s.padT+s.padB
	out := newMat(s.out, (ph-ekh)/s.sh+1, (pw-ekw)/s.sw+1)
	for p := 0; p < s.out; p++ {
		for i := 0; i < out.h; i++ {
			for j := 0; j < out.w; j++ {
				var sum float64
				if s.bias {
					sum = float64(w[1][p])
				}
				for q := 0; q < s.in; q++ {
					for ky := 0; ky < s.kh; ky++ {
						y := i*s.sh + ky*s.dh - s.padT
						if y < 0 || y >= a.h {
							continue
						}
						for kx := 0; kx < s.kw; kx++ {
							x := j*s.sw + kx*s.dw - s.padL
							if x < 0 || x >= a.w {
								continue
							}
							sum += float64(a.at(q, y, x)) * float64(w[0][((p*s.in+q)*s.kh+ky)*s.kw+kx])
						}
					}
				}
				v := float32(sum)
				switch s.act {
				case 1:
					v = max(v, 0)
				case 2:
					if v < 0 {
						v *= s.actParams[0]
					}
				case 3:
					v = min(max(v, s.actParams[0]), s.actParams[1])
				case 4:
					v = float32(1 / (1 + math.Exp(-float64(v))))
				}
				out.set(p, i, j, v)
			}
		}
	}
	return out
}

func refInterp(a *mat, s interpSpec) *mat {
	oh, ow := int(float32(a.h)*s.hs), int(float32(a.w)*s.ws)
	out := newMat(a.c, oh, ow)
	// coords returns ncnn's source index and weight of the right neighbour for each output index.
	coords := func(n, on int, scale float32) ([]int, []float32) {
		idx, frac := make([]int, on), make([]float32, on)
		for d := 0; d < on; d++ {
			if s.typ == 1 {
				idx[d] = min(int(float32(d)/scale), n-1)
				continue
			}
			var f float32
			if s.alignCorner {
				f = float32(d) * float32(n-1) / float32(on-1)
			} else {
				f = float32((float64(d)+0.5)*float64(n)/float64(on) - 0.5)
			}
			sx := int(math.Floor(float64(f)))
			f -= float32(sx)
			if sx < 0 {
				sx, f = 0, 0
			}
			if sx >= n-1 {
				sx, f = n-2, 1
			}
			idx[d], frac[d] = sx, f
		}
		return idx, frac
	}
	ys, fy := coords(a.h, oh, s.hs)
	xs, fx := coords(a.w, ow, s.ws)
	for c := 0; c < a.c; c++ {
		for y := 0; y < oh; y++ {
			for x := 0; x < ow; x++ {
				if s.typ == 1 {
					out.set(c, y, x, a.at(c, ys[y], xs[x]))
					continue
				}
				r0 := a.at(c, ys[y], xs[x])*(1-fx[x]) + a.at(c, ys[y], xs[x]+1)*fx[x]
				r1 := a.at(c, ys[y]+1, xs[x])*(1-fx[x]) + a.at(c, ys[y]+1, xs[x]+1)*fx[x]
				out.set(c, y, x, r0*(1-fy[y])+r1*fy[y])
			}
		}
	}
	return out
}

func refConcat(in []*mat, axis int) *mat {
	a := in[0]
	c, h, w := a.c, a.h, a.w
	for _, m := range in[1:] {
		switch axis {
		case 0:
			c += m.c
		case 1:
			h += m.h
		case 2:
			w += m.w
		}
	}
	out := newMat(c, h, w)
	off := 0
	for _, m := range in {
		for q := 0; q < m.c; q++ {
			for y := 0; y < m.h; y++ {
				for x := 0; x < m.w; x++ {
					switch axis {
					case 0:
						out.set(q+off, y, x, m.at(q, y, x))
					case 1:
						out.set(q, y+off, x, m.at(q, y, x))
					case 2:
						out.set(q, y, x+off, m.at(q, y, x))
					}
				}
			}
		}
		off += [3]int{m.c, m.h, m.w}[axis]
	}
	return out
}
