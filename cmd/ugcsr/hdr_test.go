package main

import (
	le "encoding/binary"
	"errors"
	"testing"

	"github.com/asticode/go-astiav"
)

// HDR10 metadata the PQ.mkv fixture carries (BT.2020 primaries, D65, 0.005-1000 nits; 1000/400
// nits content light), as ffprobe prints it.
var (
	hdrMastering = masteringDisplay([8][2]int32{
		{34000, 50000}, {16000, 50000}, // red x, y
		{13250, 50000}, {34500, 50000}, // green
		{7500, 50000}, {3000, 50000}, // blue
		{15635, 50000}, {16450, 50000}, // white point
	}, [2]int32{50, 10000}, [2]int32{10000000, 10000})
	hdrLight = contentLight(1000, 400)
)

// masteringDisplay lays out FFmpeg's AVMasteringDisplayMetadata: display_primaries[3][2] and
// white_point[2] as AVRationals, min and max luminance, has_primaries, has_luminance.
func masteringDisplay(xy [8][2]int32, min, max [2]int32) []byte {
	var b []byte
	put := func(v int32) { b = le.LittleEndian.AppendUint32(b, uint32(v)) }
	for _, r := range xy {
		put(r[0])
		put(r[1])
	}
	put(min[0])
	put(min[1])
	put(max[0])
	put(max[1])
	put(1)
	put(1)
	return b
}

// contentLight lays out AVContentLightMetadata: MaxCLL and MaxFALL.
func contentLight(maxCLL, maxFALL uint32) []byte {
	b := le.LittleEndian.AppendUint32(nil, maxCLL)
	return le.LittleEndian.AppendUint32(b, maxFALL)
}

// remuxWithHDR copies in's streams to out (Matroska), giving the video stream the HDR10 metadata
// above: ffmpeg 5.1's own tool cannot attach it to a stream.
func remuxWithHDR(t *testing.T, in, out string) {
	t.Helper()
	ic := astiav.AllocFormatContext()
	defer ic.Free()
	if err := ic.OpenInput(in, nil, nil); err != nil {
		t.Fatal(err)
	}
	defer ic.CloseInput()
	if err := ic.FindStreamInfo(nil); err != nil {
		t.Fatal(err)
	}
	oc, err := astiav.AllocOutputFormatContext(nil, "matroska", out)
	if err != nil {
		t.Fatal(err)
	}
	defer oc.Free()
	for _, s := range ic.Streams() {
		os := oc.NewStream(nil)
		if err := s.CodecParameters().Copy(os.CodecParameters()); err != nil {
			t.Fatal(err)
		}
		os.CodecParameters().SetCodecTag(0)
		os.SetTimeBase(s.TimeBase())
		if s.CodecParameters().MediaType() == astiav.MediaTypeVideo {
			if err := os.AddSideData(astiav.PacketSideDataTypeMasteringDisplayMetadata, hdrMastering); err != nil {
				t.Fatal(err)
			}
			if err := os.AddSideData(astiav.PacketSideDataTypeContentLightLevel, hdrLight); err != nil {
				t.Fatal(err)
			}
		}
	}
	pb, err := astiav.OpenIOContext(out, astiav.NewIOContextFlags(astiav.IOContextFlagWrite))
	if err != nil {
		t.Fatal(err)
	}
	defer pb.Close()
	oc.SetPb(pb)
	if err := oc.WriteHeader(nil); err != nil {
		t.Fatal(err)
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	for {
		if err := ic.ReadFrame(pkt); err != nil {
			if errors.Is(err, astiav.ErrEof) {
				break
			}
			t.Fatal(err)
		}
		pkt.RescaleTs(ic.Streams()[pkt.StreamIndex()].TimeBase(), oc.Streams()[pkt.StreamIndex()].TimeBase())
		pkt.SetPos(-1)
		err := oc.WriteInterleavedFrame(pkt)
		pkt.Unref()
		if err != nil {
			t.Fatal(err)
		}
	}
	if err := oc.WriteTrailer(); err != nil {
		t.Fatal(err)
	}
}
