// Package media describes an input's video and copied streams in plain Go values: decode fills an
// Input, encode writes its output from one, and nothing between them touches FFmpeg.
//
// The one FFmpeg value an Input carries, each copied stream's CodecParameters, is opaque here: only
// decode makes it and only encode reads it, and it lives as long as the decoder that made it.
package media

import "time"

// Input describes what a decoder reads: the container, its video stream and the streams that are
// copied untouched.
type Input struct {
	// Format is the demuxer's name, e.g. "mov,mp4,m4a,3gp,3g2,mj2".
	Format string
	// Metadata holds the container's tags in their order.
	Metadata []Tag
	Video    Video
	// Passthrough lists the audio, subtitle and data streams whose packets are copied.
	Passthrough []Stream
}

// Video describes the video stream being decoded.
type Video struct {
	// Index is the stream's index in the input.
	Index int
	// Codec is the decoder's name, e.g. "h264"; PixelFormat the coded pixel format, e.g. "yuv420p".
	Codec, PixelFormat string
	// Planes is PixelFormat's layout when it is planar YUV in limited range (zero otherwise): the
	// facts a backend that resamples the source's own samples needs (sr.Caps.SourceFormat).
	Planes        Planes
	Width, Height int
	// TimeBase is the unit of frame timestamps.
	TimeBase Rational
	// FrameRate is a best guess, for progress and encoders that need one; zero when unknown.
	FrameRate Rational
	// SampleAspectRatio is the shape of a pixel; zero when unknown.
	SampleAspectRatio Rational
	Color             Color
	// DisplayMatrix is the stream's rotation metadata, FFmpeg's 36-byte display matrix (nil if
	// none), kept for the muxer; Rotation is its angle in degrees. Pixels are never rotated.
	DisplayMatrix []byte
	Rotation      float64
	// Alpha reports that frames carry an alpha plane (frame.Frame.Alpha), for outputs that hold one.
	Alpha bool
	// FieldOrder is the field order of interlaced video as ffprobe names it ("tt", "bb", "tb",
	// "bt"), which the decoder then deinterlaces; "" for progressive or unknown.
	FieldOrder string
	// MasteringDisplay and ContentLight are HDR metadata of the stream as FFmpeg holds it
	// (AVMasteringDisplayMetadata, AVContentLightMetadata; nil if none), kept for the muxer.
	MasteringDisplay, ContentLight []byte
	// Metadata holds the stream's tags in their order; Disposition its flags.
	Metadata    []Tag
	Disposition Disposition
	// Frames is the expected number of frames to decode, 0 when unknown.
	Frames int64
	// Duration is the expected duration of what will be read, 0 when unknown.
	Duration time.Duration
}

// Stream describes a stream whose packets are copied untouched.
type Stream struct {
	// Index is the stream's index in the input, as packets name it.
	Index int
	// Type is FFmpeg's media type name ("audio", "subtitle", "data"); Codec the codec's name.
	Type, Codec string
	// TimeBase is the unit of the stream's packet timestamps.
	TimeBase             Rational
	SampleRate, Channels int
	Metadata             []Tag
	Disposition          Disposition
	// CodecParameters is FFmpeg's description of the coded data, for the muxer.
	CodecParameters CodecParameters
}

// CodecParameters stands for FFmpeg's codec parameters of a copied stream (AVCodecParameters).
// Only decode makes them and only encode looks inside; the value belongs to the decoder and is
// valid until that decoder is closed.
type CodecParameters any

// Tag is one metadata entry (title, language, ...).
type Tag struct{ Key, Value string }

// Disposition holds FFmpeg's stream disposition flags (AV_DISPOSITION_*: default, attached
// picture, ...), copied as they are.
type Disposition int
