package ncnn

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// maxFuzzWeights bounds the weights FuzzParseParam generates for a parsed net before converting it.
const maxFuzzWeights = 1 << 16

func FuzzParseParam(f *testing.F) {
	for _, c := range paramErrorCases {
		if len(c.param) < 4096 {
			f.Add(c.param)
		}
	}
	for _, c := range convertErrorCases {
		f.Add(c.param)
	}
	for _, p := range []string{convNet, mergeNet, esrganNet, binNet} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, param string) {
		n, err := ParseParam(strings.NewReader(param))
		if err != nil {
			return
		}
		// A net that parses gets random weights (when small) and must convert or fail cleanly.
		total := 0
		for _, l := range n.Layers {
			for _, s := range l.blobSizesOnly() {
				total += s
			}
		}
		if total > maxFuzzWeights {
			return
		}
		if err := n.LoadBin(bytes.NewReader(makeBin(t, n, true, 1, nil))); err != nil {
			t.Fatalf("LoadBin of a generated .bin: %v", err)
		}
		if _, err := Convert(n); err != nil && !errors.Is(err, ErrFormat) {
			t.Fatalf("Convert error does not wrap ErrFormat: %v", err)
		}
	})
}

func FuzzLoadBin(f *testing.F) {
	f.Add(cat(u32(tagFp16), []byte{0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0, 0}, u32(0x3e800000), u32(0x3e000000)))
	f.Add(cat(u32(tagFp32, 0x3f800000, 0xc0000000, 0x3f000000), u32(0x3e800000), u32(0x3e000000)))
	for _, c := range binErrorCases {
		f.Add(c.bin)
	}
	f.Fuzz(func(t *testing.T, bin []byte) {
		n, err := ParseParam(strings.NewReader(binNet))
		if err != nil {
			t.Fatal(err)
		}
		if err := n.LoadBin(bytes.NewReader(bin)); err != nil {
			return
		}
		if _, err := Convert(n); err != nil {
			t.Fatalf("Convert after a successful LoadBin: %v", err)
		}
	})
}
