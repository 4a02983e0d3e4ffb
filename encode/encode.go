// Package encode writes upscaled frames with FFmpeg (go-astiav): it converts planar float RGB once
// (swscale) to the encoder's pixel format, or copies frames already in the input's own planar YUV
// format (Options.SourceFormat) as they are, encodes, and muxes together with the input's audio,
// subtitle and data packets, which are copied untouched.
//
// What to keep from the input (time base, frame rate, sample aspect ratio, colour, rotation, tags,
// streams to copy) comes as a media.Input, which is how decode describes what it reads.
//
// File outputs are written to a temporary file beside the target and renamed into place only by
// Close(true), so a failed job never leaves a half-written file, and an existing file is replaced
// only when Options.Overwrite is set.
package encode

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/av"
	"github.com/ugcsr/ugcsr/media"
)

// ErrExists is returned when the output exists and overwriting was not allowed.
var ErrExists = errors.New("output exists")

// Options selects the output and how video is encoded. Zero values pick defaults.
type Options struct {
	// Output is a path, or "-" for standard output (then Format is required).
	Output string `json:"-"`
	// Format forces the container (ffmpeg's -f) (optional). It defaults to a guess from Output.
	Format string
	// Overwrite allows replacing an existing file (-y).
	Overwrite bool `json:"-"`
	// Codec is the video encoder (-c:v) (optional). It defaults to libx264, libvpx-vp9 for webm,
	// png for images and the container's own for y4m.
	Codec string
	// CRF is the constant rate factor (-crf) (optional). It defaults to 18 where the encoder takes one
	// and no Bitrate is set; -1 leaves the encoder's default.
	CRF int
	// Preset is the speed preset (-preset) (optional). It defaults to medium for x264/x265.
	Preset string
	// PixFmt is the output pixel format (-pix_fmt) (optional). It defaults to yuv420p, or rgb24 for
	// PNG.
	PixFmt string
	// Bitrate is the target video bit rate in bit/s (-b:v) (optional).
	Bitrate int64
	// Threads is the encoder's thread count (optional). It defaults to FFmpeg's automatic choice.
	Threads int `json:"-"`
	// SourceFormat encodes frames in the input's own planar YUV format (media.Video.Planes), which
	// Encode then takes as frame.Frame.YUV, copied as they are (optional). Check it with
	// TakesSourceFormat: PixFmt, when set, must be the input's.
	SourceFormat bool `json:"-"`
	// GlobalHeader asks the encoder for global headers (extradata) even when this container does
	// not need them (optional): segment files made for an mp4 or mkv output, whose packets are
	// later copied into one, set it (see SegmentOptions).
	GlobalHeader bool `json:"-"`
}

// SegmentOptions returns the options of a segment file at path for the output o: the encoder o
// gets (o.Codec, or the one o's container picks when o names none), with global headers (which
// every container the segments may be joined into can take), in a NUT file, which keeps every
// presentation timestamp. Packets of such files are joined into o's container with OpenCopy.
func SegmentOptions(o Options, path string) (Options, error) {
	s := o
	if s.Codec == "" {
		if o.Output == "" && o.Format == "" {
			return o, errors.New("encode: segments need an encoder (-c:v) or the output's format (-f)")
		}
		of, err := guessFormat(o.Format, o.Output)
		if err != nil {
			return o, err
		}
		c, err := pickCodec(o, of)
		if err != nil {
			return o, err
		}
		s.Codec = c.Name()
	}
	s.Output, s.Format, s.Overwrite, s.GlobalHeader = path, "nut", true, true
	return s, nil
}

// Encoder encodes frames of one size into one output. It owns its FFmpeg state (muxer, output
// file, encoder, frame, packet, swscale context) and frees it in Close.
type Encoder struct {
	opts  Options
	final string // target path ("" for pipes)
	temp  string // file actually written

	ofc     *astiav.FormatContext
	pb      *astiav.IOContext
	cc      *astiav.CodecContext
	vs      *astiav.Stream
	avf     *astiav.Frame
	pkt     *astiav.Packet
	sws     *av.Scaler
	rgb     bool
	w, h    int
	streams map[int]*astiav.Stream // input passthrough index -> output stream
	inTB    map[int]astiav.Rational
	skipped []media.Stream                // input streams the container cannot hold, not copied
	subs    map[int]*av.SubtitleConverter // input subtitle streams converted for the container
	notes   []string                      // what the output loses that the caller should say

	inTBVideo astiav.Rational // the frames' time base; the encoder's differs for frameRateTB
	lastPTS   int64           // in the encoder's time base

	copyTB astiav.Rational // time base of the packets WriteCopy takes (OpenCopy)
	finish context.Context // Finish's: ends the flush early

	mu      sync.Mutex    // serialises muxer writes: passthrough packets come from the decoder goroutine
	lastDTS map[int]int64 // per output stream, for monotonic DTS; guarded by mu
	fixes   atomic.Int64  // DTS repaired for the muxer
	refused atomic.Int64  // damaged packets to copy the muxer refused
	frames  int64
	closed  bool
	started bool
}

// CheckOutput fails early, before any work, when the output cannot be written: it exists and
// Overwrite is off, or its directory is missing or not writable.
func CheckOutput(o Options) error {
	if o.Output == "" {
		return errors.New("encode: no output given")
	}
	if o.Output == "-" || strings.Contains(o.Output, "://") || strings.HasPrefix(o.Output, "pipe:") {
		if o.Output == "-" && o.Format == "" {
			return errors.New("encode: writing to standard output needs a format (-f nut, -f matroska, ...)")
		}
		return nil
	}
	if st, err := os.Stat(o.Output); err == nil {
		if st.IsDir() {
			return fmt.Errorf("encode: output %q is a directory", o.Output)
		}
		if !o.Overwrite {
			return fmt.Errorf("encode: %q: %w", o.Output, ErrExists)
		}
		if err := checkReplaceable(o.Output); err != nil {
			return err
		}
	}
	dir := filepath.Dir(o.Output)
	f, err := os.CreateTemp(dir, ".ugcsr-check-*")
	if err != nil {
		return fmt.Errorf("encode: cannot write to %q: %w", dir, unwrapPathError(err))
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

func unwrapPathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Open prepares the output for frames of w x h, copying the passthrough streams described by in and
// writing the header. Close must be called in every case. The decoder that described in must stay
// open until Open returns: its streams' CodecParameters are copied here.
func Open(o Options, in media.Input, w, h int) (*Encoder, error) {
	return open(o, in, w, h, func(e *Encoder, of *astiav.OutputFormat) error { return e.openVideo(of, in.Video) })
}

// OpenCopy prepares the output like Open, but its video stream copies the packets of an encoded
// video stream (WriteCopy) instead of encoding frames: segment files made with SegmentOptions are
// joined this way. video describes that stream (decode.Packets.Stream); in gives the tags,
// rotation, time base and streams to copy, as for Open. WriteCopy takes packets in the time base
// of in.Video, as Open's encoder makes them.
func OpenCopy(o Options, in media.Input, video media.Stream) (*Encoder, error) {
	p, ok := video.CodecParameters.(av.CodecParameters)
	if !ok || p.CodecParameters == nil {
		return nil, errors.New("encode: video stream to copy has no codec parameters from decode")
	}
	w, h := p.CodecParameters.Width(), p.CodecParameters.Height()
	return open(o, in, w, h, func(e *Encoder, of *astiav.OutputFormat) error {
		if !av.CanMux(of, p.CodecParameters.CodecID(), unlisted(of)) {
			return fmt.Errorf("encode: container %s cannot hold %s video", of.Name(), p.CodecParameters.CodecID())
		}
		if e.vs = e.ofc.NewStream(nil); e.vs == nil {
			return errors.New("encode: cannot add video stream")
		}
		if err := p.CodecParameters.Copy(e.vs.CodecParameters()); err != nil {
			return fmt.Errorf("encode: video stream parameters: %w", err)
		}
		e.copyTB = av.ToRational(in.Video.TimeBase)
		e.vs.SetTimeBase(e.copyTB)
		// As Open does: NUT does not keep the sample aspect ratio, so it comes from the input again.
		sar := av.ToRational(scaledSAR(in.Video, w, h))
		e.vs.CodecParameters().SetSampleAspectRatio(sar)
		e.vs.SetSampleAspectRatio(sar)
		if !av.IsRGB(p.CodecParameters.PixelFormat()) { // and the colour tags, as Open writes them
			cs := outputColorspace(in.Video)
			av.SetStreamColor(e.vs, cs.space, cs.primaries, cs.trc, true)
		}
		return e.videoStreamMeta(in.Video)
	})
}

func open(o Options, in media.Input, w, h int, video func(*Encoder, *astiav.OutputFormat) error) (e *Encoder, err error) {
	if err := CheckOutput(o); err != nil {
		return nil, err
	}
	e = &Encoder{opts: o, w: w, h: h, streams: map[int]*astiav.Stream{}, inTB: map[int]astiav.Rational{},
		lastDTS: map[int]int64{}, subs: map[int]*av.SubtitleConverter{}}
	defer func() {
		if err != nil {
			e.Close(false)
			e = nil
		}
	}()
	url := o.Output
	if url == "-" {
		url = "pipe:1"
	} else if isPlainPath(url) && !strings.Contains(url, "%") {
		e.final = url
		e.temp = filepath.Join(filepath.Dir(url), fmt.Sprintf(".%s.ugcsr-%d.part", filepath.Base(url), os.Getpid()))
	}
	of, err := guessFormat(o.Format, o.Output)
	if err != nil {
		return nil, err
	}
	target := url
	if e.temp != "" {
		target = e.temp
	}
	if e.ofc, err = astiav.AllocOutputFormatContext(of, "", target); err != nil || e.ofc == nil {
		return nil, fmt.Errorf("encode: cannot open a %s muxer for %q", of.Name(), o.Output)
	}
	if err := video(e, of); err != nil {
		return nil, err
	}
	if err := e.addPassthrough(of, in.Passthrough); err != nil {
		return nil, err
	}
	if err := av.AddFormatTags(e.ofc, in.Metadata); err != nil {
		return nil, fmt.Errorf("encode: container tags: %w", err)
	}
	if err := av.DeleteFormatTag(e.ofc, "encoder"); err != nil {
		return nil, fmt.Errorf("encode: container tags: %w", err)
	}

	if of.Flags()&astiav.IOFormatFlags(astiav.IOFormatFlagNofile) == 0 {
		if e.pb, err = astiav.OpenIOContext(target, astiav.NewIOContextFlags(astiav.IOContextFlagWrite)); err != nil {
			return nil, fmt.Errorf("encode: open %q: %w", o.Output, err)
		}
		e.ofc.SetPb(e.pb)
	}
	hdr := astiav.NewDictionary()
	defer hdr.Free()
	switch of.Name() {
	case "mp4", "mov", "ipod", "ismv":
		if e.final != "" {
			hdr.Set("movflags", "+faststart", 0)
		} else {
			hdr.Set("movflags", "+frag_keyframe+empty_moov+default_base_moof", 0)
		}
	case "image2":
		if !strings.Contains(o.Output, "%") {
			hdr.Set("update", "1", 0)
		}
	}
	if err := e.ofc.WriteHeader(hdr); err != nil {
		return nil, fmt.Errorf("encode: write %s header: %w", of.Name(), err)
	}
	e.started = true
	return e, nil
}

// guessFormat picks the muxer: the one named, else a guess from the output name.
func guessFormat(name, output string) (*astiav.OutputFormat, error) {
	if name != "" {
		of := astiav.FindOutputFormat(name)
		if of == nil {
			return nil, fmt.Errorf("encode: unknown output format %q", name)
		}
		return of, nil
	}
	fc, err := astiav.AllocOutputFormatContext(nil, "", output)
	if err != nil || fc == nil {
		return nil, fmt.Errorf("encode: cannot tell the container of %q from its name (name one with -f)", output)
	}
	defer fc.Free()
	return fc.OutputFormat(), nil
}

func isPlainPath(s string) bool {
	i := strings.Index(s, ":")
	return i < 0 || strings.ContainsAny(s[:i], "/.")
}

// qp2Lambda is FFmpeg's FF_QP2LAMBDA: global_quality is a quantiser times this.
const qp2Lambda = 118

// frameRateTB are the encoders that need a time base of one frame; the others get the input
// stream's own, which keeps variable frame rates exact.
var frameRateTB = map[string]bool{"mpeg1video": true, "mpeg2video": true, "mpeg4": true, "h263": true, "h263p": true,
	"flv": true, "msmpeg4": true, "msmpeg4v2": true, "wmv1": true, "wmv2": true,
	"wrapped_avframe": true} // y4m: its header's frame rate is the time base

// unlisted reports the muxers FFmpeg keeps no codec list for that take most codecs anyway:
// MPEG-TS (and M2TS, the same muxer) holds H.264, HEVC, AAC, AC-3, Opus, ... though
// avformat_query_codec knows only its defaults. Others without a list (MXF) are not trusted.
func unlisted(of *astiav.OutputFormat) bool { return of.Name() == "mpegts" }

// pickCodec resolves -c:v against the container. Without -c:v it is the encoder ffmpeg picks: the
// codec the muxer (or an image's extension) defaults to (av_guess_codec), and the first encoder of
// it (avcodec_find_encoder): libx264 for mp4, mov and mkv, libvpx-vp9 for webm, gif for .gif,
// mpeg2video for .ts, .m2ts and .mxf, png for .png.
func pickCodec(o Options, of *astiav.OutputFormat) (*astiav.Codec, error) {
	var c *astiav.Codec
	if o.Codec != "" {
		if c = astiav.FindEncoderByName(o.Codec); c == nil {
			return nil, fmt.Errorf("encode: this FFmpeg has no video encoder %q", o.Codec)
		}
	} else {
		id := av.GuessVideoCodec(of, o.Output)
		if id == astiav.CodecIDNone {
			return nil, fmt.Errorf("encode: container %s has no video codec of its own: name an encoder", of.Name())
		}
		if c = astiav.FindEncoder(id); c == nil {
			return nil, fmt.Errorf("encode: this FFmpeg has no encoder for %s, container %s's video codec: name another", id, of.Name())
		}
	}
	if c.ID() != astiav.CodecIDNone && !av.CanMux(of, c.ID(), unlisted(of)) {
		return nil, fmt.Errorf("encode: container %s cannot hold %s video", of.Name(), c.Name())
	}
	return c, nil
}

func (e *Encoder) openVideo(of *astiav.OutputFormat, in media.Video) error {
	o := e.opts
	codec, err := pickCodec(o, of)
	if err != nil {
		return err
	}
	pf, err := pickPixFmt(o.PixFmt, codec, in.PixelFormat, in.Alpha)
	if o.SourceFormat {
		pf, err = sourcePixFmt(o, in, codec)
	}
	if err != nil {
		return err
	}
	if e.cc = astiav.AllocCodecContext(codec); e.cc == nil {
		return errors.New("encode: cannot allocate codec context")
	}
	cc := e.cc
	cc.SetWidth(e.w)
	cc.SetHeight(e.h)
	cc.SetPixelFormat(pf)
	e.inTBVideo = av.ToRational(in.TimeBase)
	cc.SetTimeBase(e.inTBVideo)
	if fr := in.FrameRate; fr.Valid() {
		cc.SetFramerate(av.ToRational(fr))
		if frameRateTB[codec.Name()] {
			// These encoders take only a time base of one frame (MPEG-1/2 only standard rates), so
			// they get the one ffmpeg gives every encoder: 1/frame rate, the nearest they support.
			rate := av.NearestFrameRate(codec, av.ToRational(fr))
			cc.SetFramerate(rate)
			cc.SetTimeBase(astiav.NewRational(rate.Den(), rate.Num()))
		}
	}
	cc.SetSampleAspectRatio(av.ToRational(scaledSAR(in, e.w, e.h)))
	if o.Bitrate > 0 {
		cc.SetBitRate(o.Bitrate)
	}
	cc.SetThreadCount(o.Threads)
	if o.GlobalHeader || of.Flags()&astiav.IOFormatFlags(astiav.IOFormatFlagGlobalheader) != 0 {
		cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	// Packed rgb24/rgb48le are written in Go with exact rounding; every other format, RGB ones
	// such as bgr0 or gbrp included, goes through swscale.
	e.rgb = pf == astiav.PixelFormatRgb24 || pf == astiav.PixelFormatRgb48Le || pf == astiav.PixelFormatRgba
	opts := astiav.NewDictionary()
	defer opts.Free()
	if !av.IsRGB(pf) {
		cs := outputColorspace(in)
		opts.Set("colorspace", strconv.Itoa(int(cs.space)), 0)
		opts.Set("color_primaries", strconv.Itoa(int(cs.primaries)), 0)
		opts.Set("color_trc", strconv.Itoa(int(cs.trc)), 0)
		if isJPEGRange(pf) {
			opts.Set("color_range", "2", 0) // the J formats are full range by definition
		} else {
			opts.Set("color_range", "1", 0) // limited ("tv") range, as phones and players expect
		}
	}
	name := codec.Name()
	crf := o.CRF
	_, takesCRF := crfMax[name]
	if err := checkCRF(name, o.CRF); err != nil {
		return err
	}
	if crf == 0 && o.Bitrate == 0 && takesCRF {
		crf = 18
	}
	if crf == 0 && o.Bitrate == 0 && (frameRateTB[name] || name == "mjpeg") && name != "wrapped_avframe" {
		// ffmpeg's default for these is 200 kbit/s, a placeholder that would blur away what the
		// model added; a constant quantiser of 2 (ffmpeg's -q:v 2) keeps it.
		opts.Set("flags", "+qscale", 0)
		opts.Set("global_quality", strconv.Itoa(2*qp2Lambda), 0)
	}
	if crf > 0 {
		if !takesCRF {
			return fmt.Errorf("encode: %s has no -crf", name)
		}
		opts.Set("crf", strconv.Itoa(crf), 0)
		if name == "libvpx-vp9" && o.Bitrate == 0 {
			opts.Set("b", "0", 0)
		}
	}
	preset := o.Preset
	if preset == "" && (name == "libx264" || name == "libx265") {
		preset = "medium"
	}
	if preset != "" {
		switch name {
		case "libx264", "libx265", "libsvtav1":
			opts.Set("preset", preset, 0)
		default:
			return fmt.Errorf("encode: %s has no -preset", name)
		}
	}
	if name == "libx265" {
		opts.Set("x265-params", "log-level=error", 0)
	}
	if err := cc.Open(codec, opts); err != nil {
		return fmt.Errorf("encode: open %s (%s %dx%d): %w", name, pf, e.w, e.h, err)
	}
	if e.vs = e.ofc.NewStream(nil); e.vs == nil {
		return errors.New("encode: cannot add video stream")
	}
	if err := e.vs.CodecParameters().FromCodecContext(cc); err != nil {
		return fmt.Errorf("encode: video stream parameters: %w", err)
	}
	e.vs.SetTimeBase(cc.TimeBase())
	e.vs.SetSampleAspectRatio(cc.SampleAspectRatio())
	if err := e.videoStreamMeta(in); err != nil {
		return err
	}
	if src := astiav.FindPixelFormatByName(in.PixelFormat); !in.Alpha && src != astiav.PixelFormatNone && av.HasAlpha(src) {
		e.notes = append(e.notes, fmt.Sprintf("the input's alpha (transparency, %s) is dropped: only 8-bit RGBA input keeps it so far", in.PixelFormat))
	}
	if in.Alpha && !av.HasAlpha(pf) {
		e.notes = append(e.notes, fmt.Sprintf("the input's alpha (transparency) is dropped: %s %s has none (PNG keeps it)", name, pf))
	}
	if in.Alpha && av.HasAlpha(pf) && !e.rgb {
		e.notes = append(e.notes, fmt.Sprintf("the input's alpha (transparency) is written opaque: only PNG (rgba) keeps it so far, not %s %s", name, pf))
	}
	if isHDR(in.Color.Transfer) && av.BitDepth(pf) <= 8 {
		e.notes = append(e.notes, fmt.Sprintf("%s (HDR) video written in 8 bits (%s) will show banding; a 10-bit format such as yuv420p10le would not", transferName(in.Color.Transfer), pf))
	}
	if e.avf = astiav.AllocFrame(); e.avf == nil {
		return errors.New("encode: cannot allocate frame")
	}
	e.avf.SetWidth(e.w)
	e.avf.SetHeight(e.h)
	e.avf.SetPixelFormat(pf)
	if err := e.avf.AllocBuffer(0); err != nil {
		return fmt.Errorf("encode: frame buffer: %w", err)
	}
	e.pkt = astiav.AllocPacket()
	if !e.rgb && !o.SourceFormat {
		if e.sws, err = av.NewFromFloat(e.w, e.h, pf, outputColorspace(in).sws, isJPEGRange(pf)); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
	}
	return nil
}

// videoStreamMeta gives the video stream the input's frame rate, tags, disposition and rotation.
func (e *Encoder) videoStreamMeta(in media.Video) error {
	if fr := in.FrameRate; fr.Num > 0 {
		e.vs.SetAvgFrameRate(av.ToRational(fr))
	}
	if err := copyStreamMeta(e.vs, in.Metadata, in.Disposition); err != nil {
		return err
	}
	if err := av.DeleteStreamTag(e.vs, "encoder"); err != nil {
		return fmt.Errorf("encode: video stream tags: %w", err)
	}
	if len(in.DisplayMatrix) == 36 {
		if err := e.vs.AddSideData(astiav.PacketSideDataTypeDisplaymatrix, in.DisplayMatrix); err != nil {
			return fmt.Errorf("encode: keep rotation: %w", err)
		}
	}
	// HDR metadata goes with the stream, as ffmpeg copies an input stream's side data.
	for _, sd := range []struct {
		t astiav.PacketSideDataType
		b []byte
	}{{astiav.PacketSideDataTypeMasteringDisplayMetadata, in.MasteringDisplay}, {astiav.PacketSideDataTypeContentLightLevel, in.ContentLight}} {
		if len(sd.b) > 0 {
			if err := e.vs.AddSideData(sd.t, sd.b); err != nil {
				return fmt.Errorf("encode: keep HDR metadata: %w", err)
			}
		}
	}
	return nil
}

// WriteCopy muxes a packet of the video stream OpenCopy was given, in the input video's time base.
func (e *Encoder) WriteCopy(pkt *astiav.Packet) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.cc != nil || e.closed {
		return errors.New("encode: WriteCopy needs an encoder made by OpenCopy")
	}
	pkt.RescaleTs(e.copyTB, e.vs.TimeBase())
	pkt.SetStreamIndex(e.vs.Index())
	pkt.SetPos(-1)
	e.monotonic(pkt)
	if err := e.ofc.WriteInterleavedFrame(pkt); err != nil {
		return fmt.Errorf("encode: write video packet: %w", err)
	}
	e.frames++
	return nil
}

// addPassthrough creates an output stream for every input stream the container can hold; streams
// it cannot (an mp4 timecode track going to webm, say) are skipped.
func (e *Encoder) addPassthrough(of *astiav.OutputFormat, streams []media.Stream) error {
	for _, is := range streams {
		p, ok := is.CodecParameters.(av.CodecParameters)
		if !ok || p.CodecParameters == nil {
			return fmt.Errorf("encode: stream %d to copy has no codec parameters from decode", is.Index)
		}
		cp := p.CodecParameters
		// A stream the muxer holds is kept; where it keeps no list (MPEG-TS), audio and
		// subtitles are, as ffmpeg maps them, and data is not.
		mt := cp.MediaType()
		conv := false
		if !av.CanMux(of, cp.CodecID(), unlisted(of) && (mt == astiav.MediaTypeAudio || mt == astiav.MediaTypeSubtitle)) {
			// Text subtitles the container cannot hold as they are are converted into a text
			// codec it holds (SubRip to mov_text for mp4, WebVTT for webm); the rest is left
			// out and named. ffmpeg 5.1 drops them from mp4 without a word.
			to := textSubtitleCodec(of)
			if mt != astiav.MediaTypeSubtitle || !av.IsTextSubtitle(cp.CodecID()) || to == astiav.CodecIDNone {
				e.skipped = append(e.skipped, is)
				continue
			}
			conv = true
		}
		out := e.ofc.NewStream(nil)
		if out == nil {
			continue
		}
		if conv {
			c, err := av.NewSubtitleConverter(cp, av.ToRational(is.TimeBase), textSubtitleCodec(of), out.CodecParameters())
			if err != nil {
				return fmt.Errorf("encode: convert subtitle stream %d: %w", is.Index, err)
			}
			e.subs[is.Index] = c
		} else if err := cp.Copy(out.CodecParameters()); err != nil {
			continue
		}
		if err := copyStreamMeta(out, is.Metadata, is.Disposition); err != nil {
			return err
		}
		tb := av.ToRational(is.TimeBase)
		out.SetTimeBase(tb)
		e.streams[is.Index] = out
		e.inTB[is.Index] = tb
	}
	return nil
}

// copyStreamMeta gives an output stream the input stream's tags and disposition, and lets the muxer
// pick the codec tag.
func copyStreamMeta(s *astiav.Stream, tags []media.Tag, d media.Disposition) error {
	if err := av.AddStreamTags(s, tags); err != nil {
		return fmt.Errorf("encode: stream %d tags: %w", s.Index(), err)
	}
	av.SetDisposition(s, d)
	s.CodecParameters().SetCodecTag(0)
	return nil
}

// WritePacket muxes a passthrough packet from the input (decode.Options.OnPacket). Packets of
// streams that were not kept are ignored. Safe for use beside Encode from another goroutine.
func (e *Encoder) WritePacket(pkt *astiav.Packet) error {
	out, ok := e.streams[pkt.StreamIndex()]
	if !ok {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	if c := e.subs[pkt.StreamIndex()]; c != nil {
		return e.writeSubtitle(c, pkt, out)
	}
	pkt.RescaleTs(e.inTB[pkt.StreamIndex()], out.TimeBase())
	pkt.SetStreamIndex(out.Index())
	pkt.SetPos(-1)
	e.monotonic(pkt)
	if err := e.ofc.WriteInterleavedFrame(pkt); err != nil {
		if errors.Is(err, astiav.ErrInvaliddata) {
			// A damaged packet the muxer's bitstream filter refuses (an ADTS header cut short):
			// ffmpeg would stop here; it is left out and counted, like damage at the input.
			e.refused.Add(1)
			return nil
		}
		return fmt.Errorf("encode: write packet: %w", err)
	}
	return nil
}

// textSubtitleCodec is the text subtitle codec subtitles are converted to for a container: its
// own default, else the first it holds of mov_text, WebVTT, ASS and SubRip; none if it holds none.
func textSubtitleCodec(of *astiav.OutputFormat) astiav.CodecID {
	if id := av.DefaultSubtitleCodec(of); av.IsTextSubtitle(id) && av.CanMux(of, id, false) {
		return id
	}
	for _, id := range []astiav.CodecID{astiav.CodecIDMovText, astiav.CodecIDWebvtt, astiav.CodecIDAss, astiav.CodecIDSubrip} {
		if av.CanMux(of, id, false) && astiav.FindEncoder(id) != nil {
			return id
		}
	}
	return astiav.CodecIDNone
}

// writeSubtitle converts a subtitle packet (e.subs) and muxes the result. The caller holds mu.
func (e *Encoder) writeSubtitle(c *av.SubtitleConverter, in *astiav.Packet, out *astiav.Stream) error {
	data, start, dur, err := c.Convert(in)
	if err != nil {
		e.refused.Add(1) // a damaged subtitle: left out and counted
		return nil
	}
	if data == nil {
		return nil
	}
	pkt := astiav.AllocPacket()
	defer pkt.Free()
	if err := pkt.FromData(data); err != nil {
		return fmt.Errorf("encode: subtitle packet: %w", err)
	}
	us := astiav.NewRational(1, 1000000)
	pkt.SetPts(astiav.RescaleQ(start, us, out.TimeBase()))
	pkt.SetDts(pkt.Pts())
	pkt.SetDuration(astiav.RescaleQ(dur, us, out.TimeBase()))
	pkt.SetStreamIndex(out.Index())
	e.monotonic(pkt)
	if err := e.ofc.WriteInterleavedFrame(pkt); err != nil {
		return fmt.Errorf("encode: write subtitle packet: %w", err)
	}
	return nil
}

// Encode encodes one frame; its PTS (input stream time base) is kept.
func (e *Encoder) Encode(f *frame.Frame) error {
	if e.cc == nil {
		return errors.New("encode: an encoder made by OpenCopy takes packets (WriteCopy), not frames")
	}
	if f.W != e.w || f.H != e.h {
		return fmt.Errorf("encode: frame is %dx%d, encoder %dx%d", f.W, f.H, e.w, e.h)
	}
	switch {
	case f.YUV != nil:
		if err := av.MakeWritable(e.avf); err != nil {
			return fmt.Errorf("encode: frame buffer: %w", err)
		}
		if err := av.WritePlanes(e.avf, f.YUV); err != nil {
			return fmt.Errorf("encode: %w", err)
		}
	case e.sws == nil && !e.rgb:
		return errors.New("encode: a float RGB frame for an encoder opened for the source's format")
	case e.rgb:
		if err := av.MakeWritable(e.avf); err != nil {
			return fmt.Errorf("encode: frame buffer: %w", err)
		}
		writeRGB(e.avf, f)
	default:
		if err := e.sws.FromFloat(e.avf, f.Plane(0), f.Plane(1), f.Plane(2), f.W, f.H); err != nil {
			return fmt.Errorf("encode: convert frame: %w", err)
		}
	}
	pts := f.PTS
	if tb := e.cc.TimeBase(); tb != e.inTBVideo {
		// A time base of one frame (frameRateTB): frames that land on the same tick go one on.
		pts = astiav.RescaleQ(pts, e.inTBVideo, tb)
		if e.frames > 0 && pts <= e.lastPTS {
			pts = e.lastPTS + 1
		}
	}
	e.lastPTS = pts
	e.avf.SetPts(pts)
	if err := e.cc.SendFrame(e.avf); err != nil {
		return fmt.Errorf("encode: %s: %w", e.cc.String(), err)
	}
	e.frames++
	return e.drain()
}

// drain writes every packet the encoder has ready.
func (e *Encoder) drain() error {
	for {
		if e.finish != nil && e.finish.Err() != nil {
			return e.finish.Err()
		}
		if err := e.cc.ReceivePacket(e.pkt); err != nil {
			if errors.Is(err, astiav.ErrEagain) || errors.Is(err, astiav.ErrEof) {
				return nil
			}
			return fmt.Errorf("encode: receive packet: %w", err)
		}
		e.mu.Lock()
		e.pkt.RescaleTs(e.cc.TimeBase(), e.vs.TimeBase())
		e.pkt.SetStreamIndex(e.vs.Index())
		e.monotonic(e.pkt)
		err := e.ofc.WriteInterleavedFrame(e.pkt)
		e.mu.Unlock()
		if err != nil {
			return fmt.Errorf("encode: write video packet: %w", err)
		}
	}
}

// monotonic repairs a DTS that does not go forward, as ffmpeg does before its muxer
// (fftools/ffmpeg_mux.c): it becomes the last one written plus one (or the last one, for formats
// that allow equal DTS), and the PTS is moved no earlier than it. The caller holds mu.
func (e *Encoder) monotonic(pkt *astiav.Packet) {
	i, dts := pkt.StreamIndex(), pkt.Dts()
	if dts == astiav.NoPtsValue || e.ofc.OutputFormat().Flags()&astiav.IOFormatFlags(astiav.IOFormatFlagNotimestamps) != 0 {
		return
	}
	if last, ok := e.lastDTS[i]; ok {
		least := last + 1
		if e.ofc.OutputFormat().Flags()&astiav.IOFormatFlags(astiav.IOFormatFlagTsNonstrict) != 0 {
			least = last
		}
		if dts < least {
			if pts := pkt.Pts(); pts != astiav.NoPtsValue && pts >= dts {
				pkt.SetPts(max(pts, least))
			}
			pkt.SetDts(least)
			e.fixes.Add(1)
		}
	}
	e.lastDTS[i] = pkt.Dts()
}

// Counters reports the DTS repaired for the muxer and the damaged packets it refused as -progress
// keys (sr.Counter).
func (e *Encoder) Counters(fn func(key string, v int64)) {
	fn("ts_fixes", e.fixes.Load())
	fn("refused_packets", e.refused.Load())
}

// Notes lists, in words, what the output loses of the input (8-bit PQ or HLG).
func (e *Encoder) Notes() []string { return e.notes }

// Skipped lists the input streams not copied because the container cannot hold them.
func (e *Encoder) Skipped() []media.Stream { return e.skipped }

// Frames is the number of frames encoded so far.
func (e *Encoder) Frames() int64 { return e.frames }

// Finish is Close(true), abandoned as Close(false) is when ctx ends before the output is in
// place: flushing an encoder's delayed frames can take seconds, and a second Ctrl-C must abort
// then too.
func (e *Encoder) Finish(ctx context.Context) error {
	if e == nil || e.closed {
		return nil
	}
	e.finish = ctx
	return e.Close(true)
}

// Close finishes the output. With commit it flushes the encoder, writes the trailer and renames
// the temporary file into place; without, it discards the temporary file. It is nil-safe and
// idempotent; the first error wins.
func (e *Encoder) Close(commit bool) (err error) {
	if e == nil || e.closed {
		return nil
	}
	e.closed = true
	if commit && e.started {
		if e.cc != nil {
			if err = e.cc.SendFrame(nil); err == nil || errors.Is(err, astiav.ErrEof) {
				err = e.drain()
			}
		}
		if err == nil {
			if werr := e.ofc.WriteTrailer(); werr != nil {
				err = fmt.Errorf("encode: write trailer: %w", werr)
			}
		}
	}
	if e.pb != nil {
		if cerr := e.pb.Close(); cerr != nil && err == nil && commit {
			err = fmt.Errorf("encode: close %q: %w", e.opts.Output, cerr)
		}
		e.pb = nil
	}
	e.sws.Free()
	for _, c := range e.subs {
		c.Free()
	}
	if e.avf != nil {
		e.avf.Free()
	}
	if e.pkt != nil {
		e.pkt.Free()
	}
	if e.cc != nil {
		e.cc.Free()
	}
	if e.ofc != nil {
		e.ofc.Free()
	}
	if err == nil && commit && e.finish != nil {
		err = e.finish.Err()
	}
	if e.temp != "" {
		if commit && err == nil {
			if rerr := os.Rename(e.temp, e.final); rerr != nil {
				err = fmt.Errorf("encode: move output into place: %w", rerr)
			}
		}
		if !commit || err != nil {
			os.Remove(e.temp)
		}
	}
	return err
}

// ManyEncoders prepares the process for opening many encoders one after another (a resumable
// job's segments): their freed buffers are returned to the system, so memory does not grow with
// their number (see av.FixMmapThreshold). It changes the C allocator's policy for the whole
// process.
func ManyEncoders() { av.FixMmapThreshold() }

// StaleParts lists the temporary files that runs writing output left behind when they were
// killed (SIGKILL, a power cut): .NAME.ugcsr-PID.part beside it, whose process is gone. Files of
// a run still going are not listed.
func StaleParts(output string) []string {
	if !isPlainPath(output) || output == "-" {
		return nil
	}
	prefix := fmt.Sprintf(".%s.ugcsr-", filepath.Base(output))
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(output), prefix+"*.part"))
	var stale []string
	for _, m := range matches {
		pid, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(m), prefix), ".part"))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			stale = append(stale, m)
		}
	}
	return stale
}
