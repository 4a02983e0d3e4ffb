package ncnn

import (
	"bytes"
	"encoding/binary"
	"errors"
	"runtime"
	"strings"
	"testing"
)

// binNet has an fp16-tagged conv weight of odd length (3 values: 6 bytes padded to 8), a bias and
// PReLU slopes.
var binNet = paramText(
	"Input in 0 1 data",
	"Convolution c0 1 1 data a 0=1 1=1 5=1 6=3",
	"PReLU p0 1 1 a output 0=1",
)

func u32(v ...uint32) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, v)
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestLoadBin(t *testing.T) {
	// fp16 1, -2, 0.5 + padding; bias 0.25; slope 0.125.
	fp16 := cat(u32(tagFp16), []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0, 0}, u32(0x3e800000), u32(0x3e000000))
	fp32 := cat(u32(tagFp32, 0x3f800000, 0xc0000000, 0x3f000000), u32(0x3e800000), u32(0x3e000000))
	for _, c := range []struct {
		name string
		bin  []byte
		fp16 int
	}{{"fp16", fp16, 1}, {"fp32", fp32, 0}} {
		t.Run(c.name, func(t *testing.T) {
			n, err := ParseParam(strings.NewReader(binNet))
			if err != nil {
				t.Fatal(err)
			}
			in := append([]byte(nil), c.bin...)
			if err := n.LoadBin(bytes.NewReader(in)); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(in, c.bin) {
				t.Error("input modified")
			}
			w := n.Layers[1].Weights
			if len(w) != 2 || len(w[0]) != 3 || w[0][0] != 1 || w[0][1] != -2 || w[0][2] != 0.5 || w[1][0] != 0.25 {
				t.Errorf("conv weights %v", w)
			}
			if s := n.Layers[2].Weights; len(s) != 1 || len(s[0]) != 1 || s[0][0] != 0.125 {
				t.Errorf("slopes %v", s)
			}
			if n.Fp16Weights != c.fp16 {
				t.Errorf("Fp16Weights = %d, want %d", n.Fp16Weights, c.fp16)
			}
		})
	}
}

// binErrorCases are .bin files for binNet that LoadBin must reject.
var binErrorCases = []struct {
	name string
	bin  []byte
	err  string
}{
	{"empty", nil, `layer 1 "c0" (Convolution): weight tag needs 4 bytes, 0 left in .bin`},
	{"short tag", []byte{0x47, 0x6b}, "weight tag needs 4 bytes, 2 left"},
	{"short fp16", cat(u32(tagFp16), []byte{0, 0x3c}), "weight needs 8 bytes, 2 left in .bin (offset 4)"},
	{"no padding", cat(u32(tagFp16), []byte{0, 0x3c, 0, 0x3c, 0, 0x3c}), "weight needs 8 bytes, 6 left"},
	{"short fp32", cat(u32(tagFp32, 0, 0)), "weight needs 12 bytes, 8 left"},
	{"no bias", cat(u32(tagFp32, 0, 0, 0)), "bias needs 4 bytes, 0 left"},
	{"no slope", cat(u32(tagFp32, 0, 0, 0), u32(0)), `layer 2 "p0" (PReLU): slope needs 4 bytes, 0 left`},
	{"int8", cat(u32(tagInt8, 0)), "weight has unsupported int8 encoding (tag 0x000d4b38 at offset 0)"},
	{"scaled fp32", cat(u32(tagFp32S, 0, 0, 0)), "unsupported scaled fp32"},
	{"quantized", cat(u32(0x01010101)), "unsupported tag 0x01010101"},
	{"unknown tag", cat(u32(0xdeadbeef)), "unsupported tag 0xdeadbeef"},
	{"trailing", cat(u32(tagFp32, 0, 0, 0), u32(0), u32(0), []byte{1}), "bytes left after the last layer (at offset 24)"},
}

func TestLoadBinErrors(t *testing.T) {
	for _, c := range binErrorCases {
		t.Run(c.name, func(t *testing.T) {
			n, err := ParseParam(strings.NewReader(binNet))
			if err != nil {
				t.Fatal(err)
			}
			err = n.LoadBin(bytes.NewReader(c.bin))
			t.Log(err)
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrFormat) {
				t.Fatalf("error = %v, want ErrFormat containing %q", err, c.err)
			}
			if strings.Contains(c.err, "unsupported") != errors.Is(err, ErrUnsupported) {
				t.Errorf("errors.Is(err, ErrUnsupported) = %v", errors.Is(err, ErrUnsupported))
			}
		})
	}
}

// TestLoadBinHuge checks that a .param declaring 8 GiB of weights with a tiny .bin fails without
// allocating for the declared size.
func TestLoadBinHuge(t *testing.T) {
	n, err := ParseParam(strings.NewReader(paramText("Input in 0 1 data", "Convolution c 1 1 data output 0=1 1=1 6=2147483647")))
	if err != nil {
		t.Fatal(err)
	}
	bin := cat(u32(0), make([]byte, 100))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	err = n.LoadBin(bytes.NewReader(bin))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "weight needs 8589934588 bytes, 100 left") {
		t.Fatalf("error = %v", err)
	}
	if a := after.TotalAlloc - before.TotalAlloc; a > 4*readChunk {
		t.Errorf("LoadBin allocated %d bytes for a 104-byte .bin", a)
	}
}
