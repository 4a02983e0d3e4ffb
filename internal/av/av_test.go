package av

import (
	"math/rand"
	"testing"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/media"
)

// TestColorValuesAreFFmpegs: media's colour enums convert to FFmpeg's by value.
func TestColorValuesAreFFmpegs(t *testing.T) {
	for _, c := range []struct{ media, ffmpeg int }{
		{int(media.ColorSpaceRGB), int(astiav.ColorSpaceRgb)},
		{int(media.ColorSpaceBT709), int(astiav.ColorSpaceBt709)},
		{int(media.ColorSpaceUnspecified), int(astiav.ColorSpaceUnspecified)},
		{int(media.ColorSpaceFCC), int(astiav.ColorSpaceFcc)},
		{int(media.ColorSpaceBT470BG), int(astiav.ColorSpaceBt470Bg)},
		{int(media.ColorSpaceSMPTE170M), int(astiav.ColorSpaceSmpte170M)},
		{int(media.ColorSpaceSMPTE240M), int(astiav.ColorSpaceSmpte240M)},
		{int(media.ColorSpaceBT2020NCL), int(astiav.ColorSpaceBt2020Ncl)},
		{int(media.ColorSpaceBT2020CL), int(astiav.ColorSpaceBt2020Cl)},
		{int(media.ColorRangeUnspecified), int(astiav.ColorRangeUnspecified)},
		{int(media.ColorRangeLimited), int(astiav.ColorRangeMpeg)},
		{int(media.ColorRangeFull), int(astiav.ColorRangeJpeg)},
		{int(media.ColorPrimariesBT709), int(astiav.ColorPrimariesBt709)},
		{int(media.ColorPrimariesUnspecified), int(astiav.ColorPrimariesUnspecified)},
		{int(media.ColorPrimariesSMPTE170M), int(astiav.ColorPrimariesSmpte170M)},
		{int(media.ColorTransferBT709), int(astiav.ColorTransferCharacteristicBt709)},
		{int(media.ColorTransferUnspecified), int(astiav.ColorTransferCharacteristicUnspecified)},
		{int(media.ColorTransferSMPTE170M), int(astiav.ColorTransferCharacteristicSmpte170M)},
	} {
		if c.media != c.ffmpeg {
			t.Errorf("media value %d, FFmpeg's %d", c.media, c.ffmpeg)
		}
	}
}

// TestSwsColorspace pins the colour-matrix table to swscale's SWS_CS_* numbers (swscale.h).
func TestSwsColorspace(t *testing.T) {
	for _, c := range []struct {
		space media.ColorSpace
		want  int
		ok    bool
	}{
		{media.ColorSpaceBT709, 1, true},
		{media.ColorSpaceFCC, 4, true},
		{media.ColorSpaceBT470BG, 5, true},
		{media.ColorSpaceSMPTE170M, 5, true},
		{media.ColorSpaceSMPTE240M, 7, true},
		{media.ColorSpaceBT2020NCL, 9, true},
		{media.ColorSpaceBT2020CL, 9, true},
		{media.ColorSpaceUnspecified, 0, false},
		{media.ColorSpaceRGB, 0, false},
	} {
		if got, ok := SwsColorspace(c.space); got != c.want || ok != c.ok {
			t.Errorf("SwsColorspace(%d) = %d, %v; want %d, %v", c.space, got, ok, c.want, c.ok)
		}
	}
	for _, c := range []struct {
		w, h int
		want media.ColorSpace
	}{
		{1280, 720, media.ColorSpaceBT709}, {1280, 544, media.ColorSpaceBT709}, {960, 720, media.ColorSpaceBT709},
		{1278, 718, media.ColorSpaceSMPTE170M}, {640, 480, media.ColorSpaceSMPTE170M},
	} {
		if got := DefaultColorSpace(c.w, c.h); got != c.want {
			t.Errorf("DefaultColorSpace(%d, %d) = %d, want %d", c.w, c.h, got, c.want)
		}
	}
}

// TestRescaleMatchesFFmpeg: media.Rescale gives av_rescale_q's answer on time bases and
// timestamps of every size.
func TestRescaleMatchesFFmpeg(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	var bases []media.Rational
	for _, b := range [][2]int{{1, 1_000_000}, {1, 90000}, {1001, 30000}, {1, 12800}, {1, 1000}, {1, 44100}, {1, 25}, {3, 7}} {
		bases = append(bases, media.Rational{Num: b[0], Den: b[1]})
	}
	values := []int64{0, 1, -1, 2, -2, 1 << 31, 1<<62 + 12345, -(1<<62 + 12345), 1<<63 - 1, -1 << 63}
	for i := 0; i < 2000; i++ {
		values = append(values, rng.Int63()>>rng.Intn(63)*int64(1-2*rng.Intn(2)))
	}
	for _, v := range values {
		for _, from := range bases {
			for _, to := range bases {
				want := astiav.RescaleQ(v, ToRational(from), ToRational(to))
				if got := media.Rescale(v, from, to); got != want {
					t.Fatalf("Rescale(%d, %v, %v) = %d, av_rescale_q %d", v, from, to, got, want)
				}
			}
		}
	}
}

// TestTags: tags go on in order and a deletion moves the last tag into the gap, as av_dict_set
// does; outputs depend on that order.
func TestTags(t *testing.T) {
	fc, err := astiav.AllocOutputFormatContext(nil, "matroska", "")
	if err != nil || fc == nil {
		t.Fatal("cannot allocate a muxer", err)
	}
	defer fc.Free()
	s := fc.NewStream(nil)
	in := []media.Tag{tag("title", "x"), tag("encoder", "y"), tag("language", "fre"), tag("comment", "z")}
	for _, c := range []struct {
		add func() error
		del func() error
		get func() []media.Tag
	}{
		{func() error { return AddStreamTags(s, in) }, func() error { return DeleteStreamTag(s, "ENCODER") }, func() []media.Tag { return StreamTags(s) }},
		{func() error { return AddFormatTags(fc, in) }, func() error { return DeleteFormatTag(fc, "encoder") }, func() []media.Tag { return FormatTags(fc) }},
	} {
		if err := c.add(); err != nil {
			t.Fatal(err)
		}
		if got := c.get(); !equalTags(got, in) {
			t.Fatalf("tags %v, want %v", got, in)
		}
		if err := c.del(); err != nil {
			t.Fatal(err)
		}
		want := []media.Tag{tag("title", "x"), tag("comment", "z"), tag("language", "fre")}
		if got := c.get(); !equalTags(got, want) {
			t.Fatalf("after deleting encoder: %v, want %v", got, want)
		}
	}
	if in[1] != tag("encoder", "y") {
		t.Fatal("input tags changed")
	}
	SetDisposition(s, 1)
	if Disposition(s) != 1 || IsAttachedPicture(s) {
		t.Fatalf("disposition %d", Disposition(s))
	}
}

func equalTags(a, b []media.Tag) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func tag(k, v string) media.Tag { return media.Tag{Key: k, Value: v} }
