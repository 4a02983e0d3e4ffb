package decode

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/asticode/go-astiav"
)

// ErrDamaged is returned by Read, with Options.Strict, at the first sign of damage.
var ErrDamaged = errors.New("input is damaged")

// Damage counts what a damaged input lost. Where FFmpeg's own tools go on decoding (a truncated
// file, a zeroed range, lost transport-stream packets, timestamps that jump), the decoder does too
// and counts here what it could not save.
type Damage struct {
	// LostFrames are video frames that never decoded: the container's index lists more than
	// decoded, or packets the decoder refused held frames.
	LostFrames int64
	// BadPackets are packets the demuxer flagged corrupt or the decoder refused, of any stream.
	BadPackets int64
	// LostPackets are MPEG-TS packets missing by their continuity counters (a transport-stream
	// file read whole; a pipe or a part of a file is not counted).
	LostPackets int64
	// ConcealedFrames decoded with errors the decoder concealed; they are written, as ffmpeg does.
	ConcealedFrames int64
	// DroppedFrames had a timestamp 0.6 frame or more before the previous frame's even after
	// repair; they are dropped, as ffmpeg's variable-frame-rate sync drops them (its drop_frames).
	// RetimedFrames were less early, and are moved one frame after the previous, as ffmpeg does.
	DroppedFrames, RetimedFrames int64
	// TimestampJumps are discontinuities repaired in a format that allows them (MPEG-TS): a jump
	// back, or more than 10 s forward, shifts every later timestamp so the timeline goes on, as
	// ffmpeg does (its -dts_delta_threshold).
	TimestampJumps int64
	// ReadError is the demuxer error that ended the input early, as ffmpeg ends an input at one.
	ReadError string
	// Lost are the spans of input time with no frame, at most maxRanges of them.
	Lost []TimeRange
	// LostRanges counts all such spans.
	LostRanges int64
}

// TimeRange is a span of the input's timeline, from Start to End.
type TimeRange struct{ Start, End time.Duration }

// maxRanges bounds Damage.Lost: a badly damaged file must not grow the report without end.
const maxRanges = 8

// Any reports whether anything was lost or repaired.
func (g Damage) Any() bool {
	return g.LostFrames > 0 || g.BadPackets > 0 || g.LostPackets > 0 || g.ConcealedFrames > 0 || g.DroppedFrames > 0 || g.RetimedFrames > 0 ||
		g.TimestampJumps > 0 || g.ReadError != "" || g.LostRanges > 0
}

// String is the damage in one line, e.g. "12 frames lost (5.97s-9.64s), 3 bad packets".
func (g Damage) String() string {
	var parts []string
	add := func(n int64, what string) {
		if n > 0 {
			s := "s"
			if n == 1 {
				s = ""
			}
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.Replace(what, "%s", s, 1)))
		}
	}
	add(g.LostFrames, "frame%s lost")
	if g.LostRanges > 0 {
		var r []string
		for _, l := range g.Lost {
			r = append(r, fmt.Sprintf("%.2fs-%.2fs", l.Start.Seconds(), l.End.Seconds()))
		}
		if g.LostRanges > int64(len(g.Lost)) {
			r = append(r, "...")
		}
		add(g.LostRanges, "time range%s with no frames ("+strings.Join(r, ", ")+")")
	}
	add(g.LostPackets, "transport-stream packet%s lost")
	add(g.BadPackets, "bad packet%s")
	add(g.ConcealedFrames, "frame%s with errors concealed")
	add(g.DroppedFrames, "frame%s dropped (timestamp before the previous frame's)")
	add(g.RetimedFrames, "frame%s moved after the previous one")
	add(g.TimestampJumps, "timestamp jump%s repaired")
	if g.ReadError != "" {
		parts = append(parts, "reading stopped early: "+g.ReadError)
	}
	return strings.Join(parts, ", ")
}

// damage is the decoder's running count; the counters are atomic because progress reads them
// from another goroutine (Counters).
type damage struct {
	lost, bad, tsLost, concealed, dropped, retimed, jumps, ranges atomic.Int64

	readErr string
	lostAt  []TimeRange
	gaps    []TimeRange // candidate spans: a gap is damage only where other damage shows

	// Timestamp repair (MPEG-TS): offset is added to every stream's timestamps, in microseconds;
	// per stream, next is where its DTS should go on and last the highest DTS seen, after offset.
	offset int64
	next   map[int]int64
	last   map[int]int64
}

// Damage reports what was lost so far; complete once Read has returned io.EOF.
func (d *Decoder) Damage() Damage {
	g := &d.dmg
	out := Damage{LostFrames: g.lost.Load(), BadPackets: g.bad.Load(), LostPackets: g.tsLost.Load(), ConcealedFrames: g.concealed.Load(),
		DroppedFrames: g.dropped.Load(), RetimedFrames: g.retimed.Load(), TimestampJumps: g.jumps.Load(), ReadError: g.readErr}
	if out.Any() || g.ranges.Load() > 0 {
		out.Lost = append(append([]TimeRange(nil), g.lostAt...), g.gaps...)
		out.LostRanges = g.ranges.Load() + int64(len(g.gaps))
		if len(out.Lost) > maxRanges {
			out.Lost = out.Lost[:maxRanges]
		}
	}
	return out
}

// Counters reports the damage counts as -progress keys (sr.Counter). drop_frames is ffmpeg's key.
func (d *Decoder) Counters(fn func(key string, v int64)) {
	g := &d.dmg
	fn("drop_frames", g.dropped.Load())
	fn("retimed_frames", g.retimed.Load())
	fn("lost_frames", g.lost.Load())
	fn("lost_packets", g.tsLost.Load())
	fn("bad_packets", g.bad.Load())
	fn("concealed_frames", g.concealed.Load())
	fn("ts_jumps", g.jumps.Load())
}

// strictErr is the error Read returns with Options.Strict once damage shows.
func (d *Decoder) strictErr() error {
	if !d.opts.Strict {
		return nil
	}
	if g := d.Damage(); g.Any() {
		return fmt.Errorf("decode: %q: %w: %s", d.opts.Input, ErrDamaged, g)
	}
	return nil
}

// noteGap records a span of input time without frames between two frames (video time base).
// Gaps longer than three frame durations are candidates; they are reported only where other
// damage shows, since variable-frame-rate video (a still screen recording) has gaps by design.
func (d *Decoder) noteGap(prevEnd, pts int64) {
	fd := d.nominalDuration()
	if fd <= 0 || pts-prevEnd <= 3*fd {
		return
	}
	tb := d.vs.TimeBase()
	r := TimeRange{tsToDuration(prevEnd-d.startPTS[d.videoIndex], tb), tsToDuration(pts-d.startPTS[d.videoIndex], tb)}
	d.dmg.gaps = append(d.dmg.gaps, r)
}

// nominalDuration is one frame at the stream's frame rate, in the video time base (0 if unknown).
func (d *Decoder) nominalDuration() int64 {
	fr := d.info.Video.FrameRate
	if !fr.Valid() {
		return 0
	}
	return astiav.RescaleQ(int64(fr.Den), astiav.NewRational(1, fr.Num), d.vs.TimeBase())
}

// repairTimestamps shifts a packet of a format that allows discontinuities (MPEG-TS) so its
// timeline goes on, as ffmpeg does: when a video or audio packet's DTS jumps more than 10 s from
// where the stream was expected to go on, or goes more than 0.1 s back, every later timestamp of
// the input is offset by that jump.
func (d *Decoder) repairTimestamps(pkt *astiav.Packet) {
	if d.fc.InputFormat().Flags()&astiav.IOFormatFlags(astiav.IOFormatFlagTsDiscont) == 0 {
		return
	}
	s := d.fc.Streams()[pkt.StreamIndex()]
	mt := s.CodecParameters().MediaType()
	if pkt.Dts() == astiav.NoPtsValue || (mt != astiav.MediaTypeVideo && mt != astiav.MediaTypeAudio) {
		return
	}
	g := &d.dmg
	if g.next == nil {
		g.next, g.last = map[int]int64{}, map[int]int64{}
	}
	tb, us := s.TimeBase(), astiav.NewRational(1, 1000000)
	shift := func(by int64) {
		off := astiav.RescaleQ(by, us, tb)
		pkt.SetDts(pkt.Dts() + off)
		if pkt.Pts() != astiav.NoPtsValue {
			pkt.SetPts(pkt.Pts() + off)
		}
	}
	shift(g.offset)
	i := pkt.StreamIndex()
	dts := astiav.RescaleQ(pkt.Dts(), tb, us)
	if next, ok := g.next[i]; ok {
		delta := dts - next
		if delta < -10e6 || delta > 10e6 || dts+100000 < g.last[i] {
			g.offset -= delta
			shift(-delta)
			dts -= delta
			g.jumps.Add(1)
		}
	}
	dur := astiav.RescaleQ(pkt.Duration(), tb, us)
	if dur <= 0 && mt == astiav.MediaTypeVideo {
		if fr := d.info.Video.FrameRate; fr.Valid() && i == d.videoIndex {
			dur = int64(fr.Den) * 1000000 / int64(fr.Num)
		}
	}
	g.next[i] = dts + dur
	g.last[i] = max(g.last[i], dts)
}

// checkTS counts the transport-stream packets lost in a TS file read whole (tsLoss).
func (d *Decoder) checkTS() {
	if d.limited || d.stopped || d.fc.InputFormat().Name() != "mpegts" {
		return
	}
	f, err := os.Open(d.opts.Input)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return // a pipe or device: its bytes went to the demuxer
	}
	var l tsLoss
	if l.scan(f) == nil {
		d.dmg.tsLost.Store(l.lost)
	}
}
