package ncnn

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ugcsr/ugcsr/sr/onnx"
)

// Tags of ncnn ModelBin "type 0" blobs (see ncnn src/modelbin.cpp).
const (
	tagFp16  = 0x01306B47 // fp16 values follow, padded to 4 bytes
	tagInt8  = 0x000D4B38 // int8 values follow
	tagFp32S = 0x0002C056 // raw fp32 with extra scaling
	tagFp32  = 0          // raw fp32 follows
)

// readChunk bounds each read, so memory grows only as fast as the .bin really delivers data.
const readChunk = 1 << 20

// LoadBin reads the weights of every layer from the .bin, in layer order, into Layer.Weights. The
// .bin must be consumed exactly: trailing bytes are an error, as is any short read.
func (n *Net) LoadBin(r io.Reader) error {
	br := &binReader{r: r}
	for _, l := range n.Layers {
		sizes, tagged := l.blobSizes()
		l.Weights = nil
		for i, size := range sizes {
			what := "bias"
			switch {
			case l.Type == "PReLU":
				what = "slope"
			case i == 0:
				what = "weight"
			}
			v, fp16, err := br.blob(size, tagged[i])
			if err != nil {
				return fmt.Errorf("%w: %v: %s %w", ErrFormat, l, what, err)
			}
			if fp16 {
				n.Fp16Weights++
			}
			l.Weights = append(l.Weights, v)
		}
	}
	var one [1]byte
	if k, _ := io.ReadFull(r, one[:]); k != 0 {
		return fmt.Errorf("%w: .bin has bytes left after the last layer (at offset %d)", ErrFormat, br.off)
	}
	return nil
}

type binReader struct {
	r   io.Reader
	off int64
}

// read returns the next k bytes. A short .bin gives "needs k bytes, m left in .bin".
func (b *binReader) read(k int) ([]byte, error) {
	var buf []byte
	for len(buf) < k {
		c := min(k-len(buf), readChunk)
		buf = slices.Grow(buf, c)
		m, err := io.ReadFull(b.r, buf[len(buf):len(buf)+c])
		buf = buf[:len(buf)+m]
		b.off += int64(m)
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, fmt.Errorf("needs %d bytes, %d left in .bin (offset %d)", k, len(buf), b.off-int64(len(buf)))
			}
			return nil, err
		}
	}
	return buf, nil
}

// blob reads one blob of size float values: with a tag first when tagged (ncnn's load(w, 0)), raw
// fp32 otherwise (load(w, 1)).
func (b *binReader) blob(size int, tagged bool) (v []float32, fp16 bool, err error) {
	if tagged {
		t, err := b.read(4)
		if err != nil {
			return nil, false, fmt.Errorf("tag %w", err)
		}
		switch tag := binary.LittleEndian.Uint32(t); tag {
		case tagFp16:
			raw, err := b.read((2*size + 3) &^ 3)
			if err != nil {
				return nil, false, err
			}
			v = make([]float32, size)
			for i := range v {
				v[i] = onnx.Float16ToFloat32(binary.LittleEndian.Uint16(raw[2*i:]))
			}
			return v, true, nil
		case tagFp32:
		case tagInt8:
			return nil, false, fmt.Errorf("has %w int8 encoding (tag %#08x at offset %d)", ErrUnsupported, tag, b.off-4)
		case tagFp32S:
			return nil, false, fmt.Errorf("has %w scaled fp32 encoding (tag %#08x at offset %d)", ErrUnsupported, tag, b.off-4)
		default:
			return nil, false, fmt.Errorf("has %w tag %#08x at offset %d (quantized table or corrupt .bin)", ErrUnsupported, tag, b.off-4)
		}
	}
	raw, err := b.read(4 * size)
	if err != nil {
		return nil, false, err
	}
	v = make([]float32, size)
	for i := range v {
		f := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		v[i] = f
	}
	return v, false, nil
}
