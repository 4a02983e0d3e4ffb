package encode_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// TestMonotonicDTS: audio packets whose timestamps go back (the 10th and 11th moved two packets
// back, as in a damaged file) reach the mp4 muxer, which refuses a DTS that does not go forward;
// the encoder repairs them as ffmpeg does, every packet is written, with DTS strictly increasing.
func TestMonotonicDTS(t *testing.T) {
	in := smallClip(t)
	out := filepath.Join(t.TempDir(), "out.mp4")
	d, err := decode.Open(context.Background(), decode.Options{Input: in})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	v := d.Info().Video
	e, err := encode.Open(encode.Options{Output: out, Preset: "ultrafast"}, d.Info(), v.Width, v.Height)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(false)
	sent := 0
	d.SetOnPacket(func(pkt *astiav.Packet) error {
		sent++
		if sent == 10 || sent == 11 {
			back := 2 * pkt.Duration()
			pkt.SetDts(pkt.Dts() - back)
			pkt.SetPts(pkt.Pts() - back)
		}
		return e.WritePacket(pkt)
	})
	for {
		f, err := d.Read(context.Background())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		err = e.Encode(f)
		f.Release()
		if err != nil {
			t.Fatal(err)
		}
	}
	fixes := int64(0)
	e.Counters(func(k string, n int64) {
		if k == "ts_fixes" {
			fixes = n
		}
	})
	if err := e.Close(true); err != nil {
		t.Fatal(err)
	}
	pkts := mediatest.FFprobe(t, out, nil, "-show_packets", "-select_streams", "a").Packets
	if len(pkts) != sent || sent < 20 {
		t.Fatalf("%d audio packets written of %d", len(pkts), sent)
	}
	for i := 1; i < len(pkts); i++ {
		if !(pkts[i].PTS > pkts[i-1].PTS) {
			t.Fatalf("audio packet %d: pts %d after %d", i, pkts[i].PTS, pkts[i-1].PTS)
		}
	}
	if fixes != 2 {
		t.Errorf("ts_fixes=%d, want 2", fixes)
	}
}
