package av

/*
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <stdlib.h>

static AVDictionary **ugcsr_stream_meta(AVStream *s) { return &s->metadata; }
static AVDictionary **ugcsr_format_meta(AVFormatContext *f) { return &f->metadata; }
*/
import "C"

import (
	"unsafe"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/media"
)

// IsAttachedPicture reports cover art, which mp4/mkv expose as a one-frame video stream.
func IsAttachedPicture(s *astiav.Stream) bool {
	return cStream(s).disposition&C.AV_DISPOSITION_ATTACHED_PIC != 0
}

// Disposition reads a stream's disposition flags.
func Disposition(s *astiav.Stream) media.Disposition {
	return media.Disposition(cStream(s).disposition)
}

// SetDisposition sets a stream's disposition flags.
func SetDisposition(s *astiav.Stream, d media.Disposition) { cStream(s).disposition = C.int(d) }

// StreamTags reads a stream's metadata in order.
func StreamTags(s *astiav.Stream) []media.Tag { return tags(s.Metadata()) }

// FormatTags reads a container's metadata in order.
func FormatTags(fc *astiav.FormatContext) []media.Tag { return tags(fc.Metadata()) }

func tags(d *astiav.Dictionary) []media.Tag {
	if d == nil {
		return nil
	}
	var out []media.Tag
	for e := d.Get("", nil, astiav.DictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)); e != nil; e = d.Get("", e, astiav.DictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)) {
		out = append(out, media.Tag{Key: e.Key(), Value: e.Value()})
	}
	return out
}

// AddStreamTags sets each tag on the stream in order, as av_dict_copy would.
func AddStreamTags(s *astiav.Stream, tags []media.Tag) error {
	return setTags(C.ugcsr_stream_meta(cStream(s)), tags)
}

// AddFormatTags sets each tag on the container in order, as av_dict_copy would.
func AddFormatTags(fc *astiav.FormatContext, tags []media.Tag) error {
	return setTags(C.ugcsr_format_meta(cFormat(fc)), tags)
}

// DeleteStreamTag removes a stream tag; av_dict_set moves the last tag into its place.
func DeleteStreamTag(s *astiav.Stream, key string) error {
	return setTag(C.ugcsr_stream_meta(cStream(s)), key, nil)
}

// DeleteFormatTag removes a container tag; av_dict_set moves the last tag into its place.
func DeleteFormatTag(fc *astiav.FormatContext, key string) error {
	return setTag(C.ugcsr_format_meta(cFormat(fc)), key, nil)
}

func setTags(d **C.AVDictionary, tags []media.Tag) error {
	for _, t := range tags {
		if err := setTag(d, t.Key, &t.Value); err != nil {
			return err
		}
	}
	return nil
}

// setTag calls av_dict_set; a nil value deletes the key.
func setTag(d **C.AVDictionary, key string, value *string) error {
	k := C.CString(key)
	defer C.free(unsafe.Pointer(k))
	var v *C.char
	if value != nil {
		v = C.CString(*value)
		defer C.free(unsafe.Pointer(v))
	}
	if ret := C.av_dict_set(d, k, v, 0); ret < 0 {
		return astiav.Error(ret)
	}
	return nil
}

// SetStreamColor sets the colour description of a stream's codec parameters, which go-astiav
// v0.16.0 has no setters for: a copied stream whose container dropped it (NUT) gets it back.
func SetStreamColor(s *astiav.Stream, space media.ColorSpace, primaries media.ColorPrimaries, trc media.ColorTransfer, limited bool) {
	cp := cStream(s).codecpar
	cp.color_space = C.enum_AVColorSpace(space)
	cp.color_primaries = C.enum_AVColorPrimaries(primaries)
	cp.color_trc = C.enum_AVColorTransferCharacteristic(trc)
	cp.color_range = C.AVCOL_RANGE_JPEG
	if limited {
		cp.color_range = C.AVCOL_RANGE_MPEG
	}
}
