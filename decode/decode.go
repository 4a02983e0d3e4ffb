// Package decode reads video with FFmpeg (go-astiav) and hands out frames as planar float32 RGB
// (package frame), converted once with swscale using the stream's own colour matrix and range, or,
// for backends that take it (Options.SourceFormat), in the source's own planar YUV format, copied.
//
// Any container and codec this FFmpeg reads works: mp4, mov, mkv, webm, y4m, nut, single images and
// image sequences (name%03d.png), from a path or from standard input ("-"). Every frame keeps its own
// presentation timestamp, so variable-frame-rate input stays variable. What was found is described
// in plain values (media.Input) for the encoder: rotation stays metadata (the display matrix goes to
// the muxer), never applied to pixels, and the sample aspect ratio, colour and tags are kept.
// Packets of every other stream (audio, subtitles, data) are handed to Options.OnPacket untouched,
// for copying.
package decode

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/asticode/go-astiav"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/av"
	"github.com/ugcsr/ugcsr/media"
)

// ErrNoVideo is returned by Open when the input has no video stream.
var ErrNoVideo = errors.New("no video stream")

// ErrIndexAtEnd is returned by Read when an mp4 or mov read from a pipe has its index (the moov
// box) after its media data: the demuxer would have to go back, which a pipe cannot.
var ErrIndexAtEnd = errors.New("the mp4's index (moov) comes after its media data, which a pipe cannot go back to")

// Options selects the input and the part of it to read.
type Options struct {
	// Input is a path, an FFmpeg URL, an image-sequence pattern, or "-" for standard input.
	Input string `json:"-"`
	// Format forces the input format (ffmpeg's -f before -i) (optional).
	Format string
	// Start skips to this time before the first frame (ffmpeg's -ss) (optional). Timestamps of every
	// stream are then shifted so the output starts at 0.
	Start time.Duration
	// Duration limits how much is read after Start (ffmpeg's -t) (optional). 0 means all.
	Duration time.Duration
	// MaxFrames limits the number of video frames (ffmpeg's -frames:v) (optional). 0 means all.
	MaxFrames int64
	// OnPacket receives each packet of the streams in media.Input.Passthrough, timestamps already
	// shifted for Start, in their own stream's time base (optional). pkt is the decoder's and is
	// reused: it must not be kept after returning.
	OnPacket func(pkt *astiav.Packet) error `json:"-"`
	// Stop, when closed, ends reading as at end of input (optional): frames already read are kept.
	Stop <-chan struct{} `json:"-"`
	// Strict makes damage an error (ErrDamaged) instead of something counted (Damage) (optional).
	Strict bool
	// SourceFormat hands out frames in the source's own planar YUV format (frame.Frame.YUV) instead
	// of float RGB, when media.Video.Planes describes it (optional).
	SourceFormat bool `json:"-"`
	// Range, when set, reads only part of what the options above select: a segment of a resumed or
	// scaled-out job (optional). Passthrough packets are not forwarded then.
	Range *Range `json:"-"`
}

// Range is a run of consecutive frames of the selection: Frames frames from the one whose
// timestamp (shifted for Start, as Frame.PTS is) is FromPTS, which is frame number First. The
// decoder seeks to the keyframe at or before it and decodes from there, so a range may start at
// any frame; frames before FromPTS are decoded and dropped.
type Range struct {
	FromPTS, First, Frames int64
}

// Decoder reads frames from one input. It owns its FFmpeg state (demuxer, decoder, packet, frame,
// swscale context) until Close; the CodecParameters in its Info point into the demuxer and die
// with it. It is not safe for concurrent use.
type Decoder struct {
	opts Options
	info media.Input

	fc          *astiav.FormatContext
	vs          *astiav.Stream // the video stream, owned by fc
	cc          *astiav.CodecContext
	pkt         *astiav.Packet
	avf         *astiav.Frame
	conv        toFloat
	planes      *toPlanes     // set when frames go out in the source's format
	deint       *deinterlacer // set for interlaced video
	pool        *frame.Pool
	interrupter astiav.IOInterrupter
	stopWatch   func() bool

	videoIndex  int
	passthrough map[int]*astiav.Stream
	startPTS    map[int]int64 // per stream: timestamp offset applied for Options.Start
	endPTS      int64         // video stream time base; math.MaxInt64 when unlimited
	minPTS      int64         // video stream time base: frames before it are dropped
	maxFrames   int64         // frames to read; 0 when unlimited
	firstIndex  int64         // Index of the first frame read
	colorspace  int
	fullRange   bool
	frames      int64
	demuxEOF    bool
	flushed     bool
	videoDone   bool
	stopped     bool
	limited     bool

	dmg     damage
	sent    int64 // video packets the decoder took
	decoded int64 // frames the decoder returned, kept or not
	lastPTS int64 // of the last frame handed out; NoPtsValue before the first
	lastEnd int64 // lastPTS plus its duration
}

// Open opens the input, finds its best video stream and prepares its decoder. Blocking I/O is
// interrupted when ctx ends.
func Open(ctx context.Context, opts Options) (d *Decoder, err error) {
	d = &Decoder{opts: opts, videoIndex: -1, passthrough: map[int]*astiav.Stream{}, startPTS: map[int]int64{}, endPTS: math.MaxInt64,
		minPTS: math.MinInt64, maxFrames: opts.MaxFrames, lastPTS: astiav.NoPtsValue}
	defer func() {
		if err != nil {
			d.Close()
			d = nil
		}
	}()
	name := opts.Input
	if name == "" {
		return nil, errors.New("decode: no input given")
	}
	if name == "-" {
		name = "pipe:0"
	}
	if d.fc = astiav.AllocFormatContext(); d.fc == nil {
		return nil, errors.New("decode: cannot allocate format context")
	}
	d.interrupter = d.fc.SetInterruptCallback()
	d.stopWatch = context.AfterFunc(ctx, d.interrupter.Interrupt)

	var inFmt *astiav.InputFormat
	if opts.Format != "" {
		if inFmt = astiav.FindInputFormat(opts.Format); inFmt == nil {
			return nil, fmt.Errorf("decode: unknown input format %q", opts.Format)
		}
	}
	if err := d.fc.OpenInput(name, inFmt, nil); err != nil {
		d.fc.Free()
		d.fc = nil
		return nil, fmt.Errorf("decode: open %q: %w", opts.Input, err)
	}
	if err := d.fc.FindStreamInfo(nil); err != nil {
		return nil, fmt.Errorf("decode: read stream info of %q: %w", opts.Input, err)
	}
	var vs *astiav.Stream
	for _, s := range d.fc.Streams() {
		cp := s.CodecParameters()
		switch cp.MediaType() {
		case astiav.MediaTypeVideo:
			if av.IsAttachedPicture(s) {
				continue
			}
			if vs == nil || (cp.Width()*cp.Height() > vs.CodecParameters().Width()*vs.CodecParameters().Height()) {
				vs = s
			}
		}
	}
	if vs == nil {
		return nil, fmt.Errorf("decode: %q: %w", opts.Input, ErrNoVideo)
	}
	d.videoIndex = vs.Index()
	for _, s := range d.fc.Streams() {
		switch s.CodecParameters().MediaType() {
		case astiav.MediaTypeAudio, astiav.MediaTypeSubtitle, astiav.MediaTypeData:
			d.passthrough[s.Index()] = s
			d.info.Passthrough = append(d.info.Passthrough, describeStream(s))
		}
	}

	cp := vs.CodecParameters()
	codec := astiav.FindDecoder(cp.CodecID())
	if codec == nil {
		return nil, fmt.Errorf("decode: %q: no decoder for codec %s", opts.Input, cp.CodecID())
	}
	if d.cc = astiav.AllocCodecContext(codec); d.cc == nil {
		return nil, errors.New("decode: cannot allocate codec context")
	}
	if err := cp.ToCodecContext(d.cc); err != nil {
		return nil, fmt.Errorf("decode: codec parameters: %w", err)
	}
	d.cc.SetTimeBase(vs.TimeBase())
	d.cc.SetThreadCount(0)
	d.cc.SetThreadType(astiav.ThreadTypeFrame | astiav.ThreadTypeSlice)
	if err := d.cc.Open(codec, nil); err != nil {
		return nil, fmt.Errorf("decode: open %s decoder: %w", codec.Name(), err)
	}
	if cp.Width() <= 0 || cp.Height() <= 0 {
		return nil, fmt.Errorf("decode: %q: video stream has no size", opts.Input)
	}
	d.pkt = astiav.AllocPacket()
	d.avf = astiav.AllocFrame()
	if fo := av.FieldOrder(cp); fo != "" && fo != "progressive" && fo != "unknown" {
		if d.deint, err = newDeinterlacer(d.cc, vs.TimeBase()); err != nil {
			return nil, err
		}
		d.info.Video.FieldOrder = fo
	}

	d.vs = vs
	d.info.Format = d.fc.InputFormat().Name()
	d.info.Metadata = av.FormatTags(d.fc)
	v := &d.info.Video
	v.Index = vs.Index()
	v.Width, v.Height = cp.Width(), cp.Height()
	v.PixelFormat = cp.PixelFormat().String()
	v.Alpha = carriesAlpha(cp.PixelFormat())
	v.Codec = codec.Name()
	v.TimeBase = av.FromRational(vs.TimeBase())
	v.FrameRate = av.FromRational(d.fc.GuessFrameRate(vs, nil))
	v.SampleAspectRatio = av.FromRational(d.fc.GuessSampleAspectRatio(vs, nil))
	v.Color = av.ColorOf(cp)
	if dm := vs.SideData(astiav.PacketSideDataTypeDisplaymatrix); len(dm) == 36 {
		v.DisplayMatrix = append([]byte(nil), dm...)
		if m, err := astiav.NewDisplayMatrixFromBytes(dm); err == nil {
			v.Rotation = m.Rotation()
		}
	}
	v.MasteringDisplay = clone(vs.SideData(astiav.PacketSideDataTypeMasteringDisplayMetadata))
	v.ContentLight = clone(vs.SideData(astiav.PacketSideDataTypeContentLightLevel))
	v.Metadata, v.Disposition = av.StreamTags(vs), av.Disposition(vs)
	d.colorspace, d.fullRange = swsColorspace(*v), isFullRange(v.Color.Range, cp.PixelFormat())
	if !d.fullRange { // the encoder writes limited range
		v.Planes = av.PlanesOf(cp.PixelFormat())
	}
	d.pool = frame.NewPool(v.Width, v.Height)
	if opts.SourceFormat {
		d.UseSourceFormat()
	}

	if err := d.applyLimits(vs); err != nil {
		return nil, err
	}
	return d, nil
}

// applyLimits seeks for Start and works out the end timestamp and the expected frame count.
func (d *Decoder) applyLimits(vs *astiav.Stream) error {
	o := d.opts
	d.limited = o.Start > 0 || o.Duration > 0 || o.MaxFrames > 0
	tb := vs.TimeBase()
	if o.Start > 0 {
		ts := int64(o.Start / time.Microsecond) // AV_TIME_BASE is microseconds
		if err := d.fc.SeekFrame(-1, ts, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
			return fmt.Errorf("decode: seek to %v: %w", o.Start, err)
		}
		for _, s := range d.fc.Streams() {
			d.startPTS[s.Index()] = durationToTS(o.Start, s.TimeBase())
		}
		d.minPTS = d.startPTS[d.videoIndex]
	}
	if o.Duration > 0 {
		d.endPTS = d.startPTS[d.videoIndex] + durationToTS(o.Duration, tb)
	}
	if r := o.Range; r != nil {
		if r.Frames <= 0 || r.First < 0 {
			return fmt.Errorf("decode: bad range of %d frames from frame %d", r.Frames, r.First)
		}
		d.limited, d.maxFrames, d.firstIndex = true, r.Frames, r.First
		d.minPTS = r.FromPTS + d.startPTS[d.videoIndex]
		if r.First > 0 {
			if err := d.fc.SeekFrame(d.videoIndex, d.minPTS, astiav.NewSeekFlags(astiav.SeekFlagBackward)); err != nil {
				return fmt.Errorf("decode: seek to frame %d: %w", r.First, err)
			}
		}
	}
	total := time.Duration(0)
	if fd := d.fc.Duration(); fd > 0 {
		total = time.Duration(fd) * time.Microsecond
	} else if sd := vs.Duration(); sd > 0 {
		total = tsToDuration(sd, tb)
	}
	dur := total - o.Start
	if o.Duration > 0 && (dur <= 0 || o.Duration < dur) {
		dur = o.Duration
	}
	if dur < 0 {
		dur = 0
	}
	v := &d.info.Video
	v.Duration = dur
	fr := v.FrameRate
	switch {
	case !d.limited && vs.NbFrames() > 0:
		v.Frames = vs.NbFrames()
	case dur > 0 && fr.Valid():
		v.Frames = int64(math.Round(dur.Seconds() * float64(fr.Num) / float64(fr.Den)))
	}
	if o.MaxFrames > 0 && (v.Frames == 0 || o.MaxFrames < v.Frames) {
		v.Frames = o.MaxFrames
	}
	if o.Range != nil {
		v.Frames = o.Range.Frames
	}
	return nil
}

// describeStream describes a stream to copy; its CodecParameters are the demuxer's own.
func describeStream(s *astiav.Stream) media.Stream {
	cp := s.CodecParameters()
	return media.Stream{
		Index:           s.Index(),
		Type:            cp.MediaType().String(),
		Codec:           cp.CodecID().String(),
		TimeBase:        av.FromRational(s.TimeBase()),
		SampleRate:      cp.SampleRate(),
		Channels:        cp.Channels(),
		Metadata:        av.StreamTags(s),
		Disposition:     av.Disposition(s),
		CodecParameters: av.CodecParameters{CodecParameters: cp},
	}
}

// Info describes the input: its container, video stream and the streams to copy. Its
// CodecParameters are valid until Close.
func (d *Decoder) Info() media.Input { return d.info }

// FramesRead is the number of frames Read has returned.
func (d *Decoder) FramesRead() int64 { return d.frames }

// Stopped reports whether reading ended because Options.Stop was closed.
func (d *Decoder) Stopped() bool { return d.stopped }

// Read returns the next frame in presentation order, or io.EOF at the end. The frame comes from a
// pool: pass it on or Release it. It is float RGB, or in the source's own format with
// Options.SourceFormat where Info().Video.Planes is valid.
func (d *Decoder) Read(ctx context.Context) (*frame.Frame, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if d.videoDone {
			// Forward the remaining passthrough packets up to the end of the video, then stop.
			if err := d.drainPassthrough(); err != nil {
				return nil, err
			}
			return nil, io.EOF
		}
		if d.stopRequested() {
			d.stopped, d.videoDone = true, true
			return nil, io.EOF
		}
		f, err := d.receive()
		if err == nil {
			err = d.strictErr()
		}
		if err != nil {
			f.Release()
			return nil, err
		}
		if f != nil {
			return f, nil
		}
		if d.flushed {
			d.videoDone = true
			d.checkTruncated()
			d.checkTS()
			if err := d.strictErr(); err != nil {
				return nil, err
			}
			continue
		}
		if err := d.feed(); err != nil {
			return nil, err
		}
	}
}

func (d *Decoder) stopRequested() bool {
	if d.opts.Stop == nil {
		return false
	}
	select {
	case <-d.opts.Stop:
		return true
	default:
		return false
	}
}

// receive pulls one decoded frame, or returns nil when the decoder needs more input. Interlaced
// video goes through the deinterlacer between decoder and conversion.
func (d *Decoder) receive() (*frame.Frame, error) {
	for {
		if d.deint != nil {
			got, err := d.deint.pull(d.avf)
			if err != nil {
				return nil, err
			}
			if got {
				if f, keep, err := d.convertAndUnref(); err != nil || keep {
					return f, err
				}
				continue
			}
			if d.deint.done {
				d.flushed = true
				return nil, nil
			}
		}
		if err := d.cc.ReceiveFrame(d.avf); err != nil {
			if errors.Is(err, astiav.ErrEagain) {
				return nil, nil
			}
			if errors.Is(err, astiav.ErrEof) {
				if d.deint != nil && !d.deint.flushing {
					if err := d.deint.push(nil); err != nil {
						return nil, err
					}
					continue
				}
				d.flushed = true
				return nil, nil
			}
			if errors.Is(err, astiav.ErrInvaliddata) {
				d.dmg.bad.Add(1) // a damaged packet: the decoder goes on with the next, as ffmpeg does
				continue
			}
			return nil, fmt.Errorf("decode: %s: %w", d.info.Video.Codec, err)
		}
		d.decoded++
		if av.FrameDamaged(d.avf) {
			d.dmg.concealed.Add(1)
		}
		if d.deint != nil {
			d.avf.SetPts(av.BestEffortTimestamp(d.avf)) // the filter goes by pts
			if err := d.deint.push(d.avf); err != nil {
				return nil, err
			}
			continue
		}
		if f, keep, err := d.convertAndUnref(); err != nil || keep {
			return f, err
		}
	}
}

// convertAndUnref converts the current AVFrame (convert) and lets go of it.
func (d *Decoder) convertAndUnref() (*frame.Frame, bool, error) {
	f, keep, err := d.convert()
	d.avf.Unref()
	return f, keep, err
}

// convert turns the current AVFrame into a frame, or reports keep=false for frames outside the
// requested range.
func (d *Decoder) convert() (f *frame.Frame, keep bool, err error) {
	pts := av.BestEffortTimestamp(d.avf)
	if d.deint != nil {
		pts = d.avf.Pts() // a filtered frame's own
	}
	if pts == astiav.NoPtsValue {
		pts = d.frames // raw streams without timestamps: count frames
	}
	vi := d.videoIndex
	if pts < d.minPTS {
		return nil, false, nil
	}
	if pts >= d.endPTS || (d.maxFrames > 0 && d.frames >= d.maxFrames) {
		d.videoDone = true
		return nil, false, nil
	}
	if d.lastPTS != astiav.NoPtsValue && pts <= d.lastPTS {
		// Not after the previous frame: as ffmpeg's variable-frame-rate sync, drop it when it
		// is 0.6 frame or more before, else move it one frame after the previous.
		fd := max(d.nominalDuration(), 1)
		if pts <= d.lastPTS-fd*6/10 {
			d.dmg.dropped.Add(1)
			return nil, false, nil
		}
		pts = d.lastPTS + fd
		d.dmg.retimed.Add(1)
	}
	f = d.pool.Get()
	if d.planes != nil {
		err = d.planes.convert(f, d.avf)
	} else {
		err = d.conv.convert(f, d.avf, d.colorspace, d.fullRange)
	}
	if err != nil {
		f.Release()
		return nil, false, err
	}
	f.PTS = pts - d.startPTS[vi]
	f.Duration = av.FrameDuration(d.avf)
	if d.lastPTS != astiav.NoPtsValue {
		d.noteGap(d.lastEnd, pts)
	}
	d.lastPTS, d.lastEnd = pts, pts+max(f.Duration, d.nominalDuration(), 1)
	f.Index = d.firstIndex + d.frames
	f.Keyframe = d.avf.KeyFrame()
	d.frames++
	if d.maxFrames > 0 && d.frames >= d.maxFrames {
		d.endPTS = pts + max(f.Duration, 1)
		d.videoDone = true
	}
	return f, true, nil
}

// feed reads one packet: video goes to the decoder, other streams to OnPacket.
func (d *Decoder) feed() error {
	if d.demuxEOF {
		return nil
	}
	pkt := d.pkt
	if err := d.fc.ReadFrame(pkt); err != nil {
		if errors.Is(err, astiav.ErrEof) {
			d.demuxEOF = true
			if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
				return fmt.Errorf("decode: flush decoder: %w", err)
			}
			return nil
		}
		if errors.Is(err, astiav.ErrExit) {
			return context.Canceled
		}
		if d.frames == 0 && d.isPipedMP4() {
			return fmt.Errorf("decode: %q: %w (%w)", d.opts.Input, ErrIndexAtEnd, err)
		}
		if d.decoded == 0 {
			return fmt.Errorf("decode: read %q: %w", d.opts.Input, err)
		}
		// A read error after frames ends the input, as ffmpeg ends an input at one; what was
		// read is kept and the error is reported as damage.
		d.dmg.readErr = err.Error()
		d.demuxEOF = true
		if err := d.cc.SendPacket(nil); err != nil && !errors.Is(err, astiav.ErrEof) {
			return fmt.Errorf("decode: flush decoder: %w", err)
		}
		return nil
	}
	defer pkt.Unref()
	if pkt.Flags().Has(astiav.PacketFlagCorrupt) {
		d.dmg.bad.Add(1)
	}
	d.repairTimestamps(pkt)
	if pkt.StreamIndex() == d.videoIndex {
		if err := d.cc.SendPacket(pkt); err != nil && !errors.Is(err, astiav.ErrEagain) {
			if errors.Is(err, astiav.ErrInvaliddata) {
				d.dmg.bad.Add(1) // a damaged packet: the decoder conceals it, as ffmpeg does
				return nil
			}
			return fmt.Errorf("decode: %s packet: %w", d.info.Video.Codec, err)
		}
		d.sent++
		return nil
	}
	return d.forward(pkt)
}

// forward hands a passthrough packet to OnPacket after the Start shift; packets outside the range
// are dropped.
func (d *Decoder) forward(pkt *astiav.Packet) error {
	if d.opts.OnPacket == nil || d.opts.Range != nil || !d.accept(pkt) {
		return nil
	}
	return d.opts.OnPacket(pkt)
}

// accept reports whether a packet is one to copy, and shifts its timestamps for Start.
func (d *Decoder) accept(pkt *astiav.Packet) bool {
	s, ok := d.passthrough[pkt.StreamIndex()]
	if !ok {
		return false
	}
	off := d.startPTS[s.Index()]
	if d.limited {
		t := pkt.Pts()
		if t == astiav.NoPtsValue {
			t = pkt.Dts()
		}
		if t != astiav.NoPtsValue {
			if t+pkt.Duration() <= off && d.opts.Start > 0 {
				return false
			}
			if d.endPTS != math.MaxInt64 {
				end := astiav.RescaleQ(d.endPTS, d.vs.TimeBase(), s.TimeBase())
				if t >= end {
					return false
				}
			}
		}
	}
	if off != 0 {
		if pkt.Pts() != astiav.NoPtsValue {
			pkt.SetPts(pkt.Pts() - off)
		}
		if pkt.Dts() != astiav.NoPtsValue {
			pkt.SetDts(pkt.Dts() - off)
		}
	}
	return true
}

// drainPassthrough forwards packets after the last video frame until they pass the video's end.
func (d *Decoder) drainPassthrough() error {
	if d.demuxEOF || d.stopped || d.opts.OnPacket == nil {
		return nil
	}
	if !d.limited {
		// Whole input: copy every remaining packet.
		for {
			if err := d.fc.ReadFrame(d.pkt); err != nil {
				d.demuxEOF = true
				if !errors.Is(err, astiav.ErrEof) {
					d.dmg.readErr = err.Error() // the end of the input, as at a read error in feed
				}
				return nil
			}
			d.repairTimestamps(d.pkt)
			err := d.forward(d.pkt)
			d.pkt.Unref()
			if err != nil {
				return err
			}
		}
	}
	for {
		if err := d.fc.ReadFrame(d.pkt); err != nil {
			d.demuxEOF = true
			return nil
		}
		d.repairTimestamps(d.pkt)
		past := false
		if s, ok := d.passthrough[d.pkt.StreamIndex()]; ok && d.pkt.Dts() != astiav.NoPtsValue {
			end := astiav.RescaleQ(d.endPTS, d.vs.TimeBase(), s.TimeBase())
			past = d.pkt.Dts() > end+durationToTS(time.Second, s.TimeBase())
		}
		err := d.forward(d.pkt)
		d.pkt.Unref()
		if err != nil {
			return err
		}
		if past {
			d.demuxEOF = true
			return nil
		}
	}
}

// isPipedMP4 reports an mp4-family input read from a pipe, where an index at the end cannot be used.
func (d *Decoder) isPipedMP4() bool {
	in := d.opts.Input
	piped := in == "-" || strings.HasPrefix(in, "pipe:") || strings.HasPrefix(in, "/dev/stdin") || strings.HasPrefix(in, "/dev/fd/")
	return piped && strings.HasPrefix(d.info.Format, "mov,mp4")
}

// checkTruncated counts the frames that never decoded once the decoder is flushed: fewer than the
// container's index lists (FFmpeg's mp4 demuxer reports a file cut short as a normal end), or
// fewer than the packets the decoder took where it refused some. The span after the last frame,
// up to the duration the index gives, is a lost time range.
func (d *Decoder) checkTruncated() {
	if d.limited || d.stopped {
		return
	}
	lost := int64(0)
	if want := d.vs.NbFrames(); want > 0 && d.decoded+max(2, want/50) < want {
		lost = want - d.decoded // slack: some files index a frame or two that never decode
		if end := d.vs.Duration(); end > 0 && d.lastPTS != astiav.NoPtsValue {
			end += d.vs.StartTime() * boolInt(d.vs.StartTime() != astiav.NoPtsValue)
			tb := d.vs.TimeBase()
			d.dmg.lostAt = append(d.dmg.lostAt, TimeRange{tsToDuration(d.lastEnd, tb), tsToDuration(end, tb)})
			d.dmg.ranges.Add(1)
		}
	}
	if d.dmg.bad.Load() > 0 {
		lost = max(lost, d.sent-d.decoded)
	}
	d.dmg.lost.Store(max(lost, 0))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// Close frees everything, the demuxer's streams and so the CodecParameters Info handed out
// included. It is nil-safe and idempotent.
func (d *Decoder) Close() {
	if d == nil {
		return
	}
	if d.stopWatch != nil {
		d.stopWatch()
		d.stopWatch = nil
	}
	d.conv.free()
	d.deint.free()
	if d.planes != nil {
		d.planes.free()
	}
	if d.avf != nil {
		d.avf.Free()
		d.avf = nil
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
	if d.cc != nil {
		d.cc.Free()
		d.cc = nil
	}
	if d.fc != nil {
		d.fc.CloseInput()
		d.fc.Free()
		d.fc = nil
	}
}

// clone copies a Go view of C memory (nil stays nil).
func clone(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return append([]byte(nil), b...)
}

func durationToTS(d time.Duration, tb astiav.Rational) int64 {
	return astiav.RescaleQ(int64(d/time.Microsecond), astiav.NewRational(1, 1000000), tb)
}

func tsToDuration(ts int64, tb astiav.Rational) time.Duration {
	return time.Duration(astiav.RescaleQ(ts, tb, astiav.NewRational(1, 1000000))) * time.Microsecond
}

// swsColorspace picks swscale's YUV matrix: the stream's own, else BT.709 for HD and BT.601 below.
func swsColorspace(v media.Video) int {
	if cs, ok := av.SwsColorspace(v.Color.Space); ok {
		return cs
	}
	cs, _ := av.SwsColorspace(av.DefaultColorSpace(v.Width, v.Height))
	return cs
}

func isFullRange(r media.ColorRange, pf astiav.PixelFormat) bool {
	if r == media.ColorRangeFull {
		return true
	}
	switch pf {
	case astiav.PixelFormatYuvj420P, astiav.PixelFormatYuvj422P, astiav.PixelFormatYuvj444P, astiav.PixelFormatYuvj440P:
		return true
	}
	return false
}

// UseSourceFormat makes Read hand out frames in the source's own planar YUV format
// (Options.SourceFormat) and reports whether it can: only when Info().Video.Planes is valid. It
// must be called before the first Read.
func (d *Decoder) UseSourceFormat() bool {
	v := d.info.Video
	if !v.Planes.Valid() || d.frames > 0 {
		return false
	}
	if d.planes == nil {
		d.planes = &toPlanes{pf: d.vs.CodecParameters().PixelFormat(), w: v.Width, h: v.Height}
		d.pool = frame.NewYUVPool(v.Width, v.Height, v.Planes)
	}
	return true
}

// SetOnPacket replaces Options.OnPacket; the pipeline opens the encoder after the decoder, since
// the output size depends on the input's.
func (d *Decoder) SetOnPacket(fn func(pkt *astiav.Packet) error) { d.opts.OnPacket = fn }
