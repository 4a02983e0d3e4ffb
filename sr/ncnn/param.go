package ncnn

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// maxParamID bounds parameter ids, as NCNN_MAX_PARAM_COUNT does in ncnn.
const maxParamID = 32

// Limits for hostile input: a .param longer than these is rejected before anything is allocated
// for it.
const (
	maxLayers    = 1 << 16
	maxBlobs     = 1 << 17
	maxLineBytes = 1 << 20
	maxArrayLen  = 1 << 12
)

// Value is one scalar parameter value or one array element. ncnn decides int versus float per
// value: a token with '.', 'e' or 'E' is a float.
type Value struct {
	Float bool
	I     int32
	F     float32
}

// Param is one k=v entry of a layer line. Array params (written "-233xx=n,a,b,...") have Array set
// and their elements in Values; scalars have one value.
type Param struct {
	Array  bool
	Values []Value
}

// Layer is one line of the .param file plus, after LoadBin, its weights.
type Layer struct {
	Index   int // 0-based position in the .param file
	Type    string
	Name    string
	Bottoms []string // input blob names
	Tops    []string // output blob names
	Params  map[int]Param

	// Weights holds the layer's blobs from the .bin, in file order, as fp32: Convolution weight
	// ([out][in][kh][kw]) then bias; PReLU slopes. Nil before LoadBin.
	Weights [][]float32

	spec any // checked settings: convSpec, preluSpec, ...
}

// Net is a parsed ncnn model. Only ParseParam makes a usable one: it records the checked settings
// of each layer that LoadBin and Convert rely on.
type Net struct {
	Layers []*Layer
	// BlobCount is the blob count from the .param header (checked against the layers).
	BlobCount int
	// Fp16Weights counts weight blobs stored as fp16 in the .bin (set by LoadBin).
	Fp16Weights int
}

func (l *Layer) String() string {
	return fmt.Sprintf("layer %d %q (%s)", l.Index, l.Name, l.Type)
}

// errorf returns an ErrFormat error about l.
func (l *Layer) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %v: %s", ErrFormat, l, fmt.Sprintf(format, args...))
}

// unsupported returns an error wrapping ErrFormat and ErrUnsupported about l.
func (l *Layer) unsupported(format string, args ...any) error {
	return fmt.Errorf("%w: %v: %w %s", ErrFormat, l, ErrUnsupported, fmt.Sprintf(format, args...))
}

// ParseParam reads a text .param file: the magic line, "layer_count blob_count", then one layer per
// line. It checks the graph's structure (every bottom produced earlier, every blob produced once,
// counts as declared) and every layer's type and parameters against what this package supports.
func ParseParam(r io.Reader) (*Net, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLineBytes)
	lineNo := 0
	next := func() ([]string, bool) {
		for sc.Scan() {
			lineNo++
			if f := strings.Fields(sc.Text()); len(f) > 0 {
				return f, true
			}
		}
		return nil, false
	}
	scanErr := func(what string) error {
		if err := sc.Err(); err != nil {
			return readErr(err, lineNo+1)
		}
		return fmt.Errorf("%w: .param: missing %s", ErrFormat, what)
	}

	f, ok := next()
	if !ok {
		return nil, scanErr("magic")
	}
	if len(f) != 1 || f[0] != strconv.Itoa(Magic) {
		return nil, fmt.Errorf("%w: .param: magic %q, want %d (binary .param files are not supported)", ErrFormat, strings.Join(f, " "), Magic)
	}
	f, ok = next()
	if !ok {
		return nil, scanErr("layer and blob counts")
	}
	if len(f) != 2 {
		return nil, fmt.Errorf("%w: .param line %d: want \"layer_count blob_count\", got %q", ErrFormat, lineNo, strings.Join(f, " "))
	}
	layerCount, err1 := strconv.Atoi(f[0])
	blobCount, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil || layerCount <= 0 || layerCount > maxLayers || blobCount <= 0 || blobCount > maxBlobs {
		return nil, fmt.Errorf("%w: .param line %d: bad counts %q (at most %d layers, %d blobs)", ErrFormat, lineNo, strings.Join(f, " "), maxLayers, maxBlobs)
	}

	n := &Net{BlobCount: blobCount}
	producer := map[string]int{} // blob -> producing layer
	for {
		f, ok := next()
		if !ok {
			if err := sc.Err(); err != nil {
				return nil, readErr(err, lineNo+1)
			}
			break
		}
		if len(n.Layers) == layerCount {
			return nil, fmt.Errorf("%w: .param line %d: more than the %d layers declared", ErrFormat, lineNo, layerCount)
		}
		l, err := parseLayer(len(n.Layers), f, producer, blobCount)
		if err != nil {
			return nil, fmt.Errorf("%w (.param line %d)", err, lineNo)
		}
		n.Layers = append(n.Layers, l)
	}
	if len(n.Layers) != layerCount {
		return nil, fmt.Errorf("%w: .param declares %d layers, has %d", ErrFormat, layerCount, len(n.Layers))
	}
	if len(producer) != blobCount {
		return nil, fmt.Errorf("%w: .param declares %d blobs, has %d", ErrFormat, blobCount, len(producer))
	}
	return n, nil
}

func readErr(err error, line int) error {
	if errors.Is(err, bufio.ErrTooLong) {
		return fmt.Errorf("%w: .param line %d: longer than %d bytes", ErrFormat, line, maxLineBytes)
	}
	return fmt.Errorf("ncnn: read .param: %w", err)
}

// parseLayer parses and checks one layer line: type name nbottom ntop bottoms... tops... k=v...
// producer maps each blob produced so far to its layer; parseLayer adds the layer's tops.
func parseLayer(index int, f []string, producer map[string]int, blobCount int) (*Layer, error) {
	if len(f) < 4 {
		return nil, fmt.Errorf("%w: layer %d: want \"type name bottom_count top_count ...\", got %q", ErrFormat, index, strings.Join(f, " "))
	}
	l := &Layer{Index: index, Type: f[0], Name: f[1], Params: map[int]Param{}}
	nb, err1 := strconv.Atoi(f[2])
	nt, err2 := strconv.Atoi(f[3])
	if err1 != nil || err2 != nil || nb < 0 || nt < 0 || nb > len(f)-4 || nt > len(f)-4-nb {
		return nil, l.errorf("bad blob counts %q %q for %d remaining fields", f[2], f[3], len(f)-4)
	}
	l.Bottoms = f[4 : 4+nb : 4+nb]
	l.Tops = f[4+nb : 4+nb+nt : 4+nb+nt]
	for _, b := range f[4 : 4+nb+nt] {
		if strings.Contains(b, "=") {
			return nil, l.errorf("blob name %q looks like a parameter: blob counts too large", b)
		}
	}
	for _, kv := range f[4+nb+nt:] {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, l.errorf("parameter %q is not k=v", kv)
		}
		id, err := strconv.Atoi(k)
		if err != nil {
			return nil, l.errorf("parameter %q: bad id", kv)
		}
		var p Param
		if id <= -23300 {
			id = -id - 23300
			p.Array = true
		}
		if id < 0 || id >= maxParamID {
			return nil, l.errorf("parameter %q: id out of range 0..%d", kv, maxParamID-1)
		}
		if _, dup := l.Params[id]; dup {
			return nil, l.errorf("parameter id %d given twice", id)
		}
		if p.Array {
			elems := strings.Split(v, ",")
			cnt, err := strconv.Atoi(elems[0])
			if err != nil || cnt < 0 || cnt > maxArrayLen || cnt != len(elems)-1 {
				return nil, l.errorf("array parameter %q: length %q does not match %d elements", kv, elems[0], len(elems)-1)
			}
			for _, e := range elems[1:] {
				val, err := parseValue(e)
				if err != nil {
					return nil, l.errorf("array parameter %q: %v", kv, err)
				}
				p.Values = append(p.Values, val)
			}
		} else {
			val, err := parseValue(v)
			if err != nil {
				return nil, l.errorf("parameter %q: %v", kv, err)
			}
			p.Values = []Value{val}
		}
		l.Params[id] = p
	}

	for _, b := range l.Bottoms {
		if _, ok := producer[b]; !ok {
			return nil, l.errorf("input blob %q is not produced by an earlier layer", b)
		}
	}
	for _, t := range l.Tops {
		if p, ok := producer[t]; ok {
			return nil, l.errorf("output blob %q is already produced by layer %d", t, p)
		}
		producer[t] = l.Index
	}
	if len(producer) > blobCount {
		return nil, l.errorf("more blobs than the %d declared", blobCount)
	}
	if err := checkLayer(l); err != nil {
		return nil, err
	}
	return l, nil
}

func parseValue(s string) (Value, error) {
	if strings.ContainsAny(s, ".eE") {
		f, err := strconv.ParseFloat(s, 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return Value{}, fmt.Errorf("bad float %q", s)
		}
		return Value{Float: true, F: float32(f)}, nil
	}
	i, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return Value{}, fmt.Errorf("bad int %q", s)
	}
	return Value{I: int32(i)}, nil
}

// Int returns scalar parameter id as an int, or def when absent.
func (l *Layer) Int(id, def int) (int, error) {
	p, ok := l.Params[id]
	if !ok {
		return def, nil
	}
	if p.Array || p.Values[0].Float {
		return 0, l.errorf("parameter %d must be an int", id)
	}
	return int(p.Values[0].I), nil
}

// Float returns scalar parameter id as a float, or def when absent. An int value is an error: ncnn
// would reinterpret its bits.
func (l *Layer) Float(id int, def float32) (float32, error) {
	p, ok := l.Params[id]
	if !ok {
		return def, nil
	}
	if p.Array || !p.Values[0].Float {
		return 0, l.errorf("parameter %d must be a float (written with '.' or 'e')", id)
	}
	return p.Values[0].F, nil
}

// Floats returns array parameter id as floats, or nil when absent.
func (l *Layer) Floats(id int) ([]float32, error) {
	p, ok := l.Params[id]
	if !ok {
		return nil, nil
	}
	if !p.Array {
		return nil, l.errorf("parameter %d must be an array", id)
	}
	v := make([]float32, len(p.Values))
	for i, x := range p.Values {
		if !x.Float {
			return nil, l.errorf("parameter %d element %d must be a float (written with '.' or 'e')", id, i)
		}
		v[i] = x.F
	}
	return v, nil
}
