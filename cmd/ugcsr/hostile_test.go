package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

var updateTesting = flag.Bool("update-testing", false, "rewrite TESTING.md from the hostile case table")

// hostileCase is one input or command line a hostile but realistic user tries, and what ugcsr must
// do. TestHostile runs them all; TESTING.md is this table (TestTestingTable).
type hostileCase struct {
	kind string   // the table's section
	what string   // what is tried, in words
	args []string // ugcsr's arguments; fixture names (upper case) become files, OUT a fresh output
	in   string   // a fixture fed on standard input (optional)
	code int      // the exit code
	// says is in the one line on stderr when code != 0; with code 0 it is in the one "damaged
	// input:" line, or on standard output when stdout is set, or on stderr when warning is set.
	says    string
	warning bool
	stdout  bool
	// notSaid must not appear where says is looked for (optional).
	notSaid string
	// asFFmpeg: the output holds at least the video frames ffmpeg writes from the same input (a
	// damaged input's frames that decode).
	asFFmpeg bool
	// progress names -progress keys that must end above 0 (the test adds -progress).
	progress []string
	// codecAsFFmpeg: the output's video codec is the one ffmpeg picks for the same output name.
	codecAsFFmpeg bool
	// codec is the output's video codec, as ffprobe names it (optional).
	codec string
	// rateAsInput: the output's frame rate (r_frame_rate) is the input's.
	rateAsInput bool
	// sameFramesAs: the output's frames are, pixel for pixel, those ffmpeg writes from the same
	// input with these arguments (video only, ffv1).
	sameFramesAs []string
	// subtitles is the output's first subtitle stream written out as SubRip by ffmpeg: the same
	// text, each time within 30 ms (a container may shift every stream by AAC's 21 ms priming).
	subtitles string
	// alphaAsLanczos: the output's alpha plane is within one level of ffmpeg's Lanczos resize of
	// the input's to the output's size.
	alphaAsLanczos bool
	// probeHas are in ffprobe's description of the output's video stream (-show_streams).
	probeHas []string
	// nobody runs the binary as user nobody when the tests run as root, so that file permissions
	// apply as they do to a user.
	nobody bool
}

// fixture is an input file a case names, made once per test binary.
type fixture struct {
	name, how string
	make      func(t *testing.T, dir, path string)
}

// The damaged inputs start from shared clip 01_dog (1280x720 H.264 + AAC, 289 frames), made small
// (320x180, keyframe every 30 frames) so the cases stay fast, then damaged the way files are.
var fixtures = []fixture{
	{"SMALL.mp4", "2 s of testsrc2 160x90 H.264 + AAC, index first", func(t *testing.T, dir, p string) {
		copyFile(t, smallClip(t), p)
	}},
	{"COPY.mp4", "a copy of SMALL.mp4 (a link to it is LINK.mp4)", func(t *testing.T, dir, p string) {
		copyFile(t, fixturePath(t, "SMALL.mp4"), p)
		os.Symlink(p, filepath.Join(dir, "LINK.mp4"))
	}},
	{"DOG.mp4", "shared clip 01_dog at 320x180, H.264 with B-frames + AAC, index first", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-i", mediatest.Clip(t, "01_dog"), "-vf", "scale=320:180", "-c:v", "libx264", "-preset", "veryfast",
			"-g", "30", "-c:a", "copy", "-movflags", "+faststart", p)
	}},
	{"HALF.mp4", "SMALL.mp4 cut in half", func(t *testing.T, dir, p string) {
		cut(t, fixturePath(t, "SMALL.mp4"), p, 0.5)
	}},
	{"TRUNC.mp4", "DOG.mp4 cut at 60%: its index lists 289 frames, the data holds fewer", func(t *testing.T, dir, p string) {
		cut(t, fixturePath(t, "DOG.mp4"), p, 0.6)
	}},
	{"ZEROED.mp4", "DOG.mp4 with 32 KiB of media data zeroed at 40%", func(t *testing.T, dir, p string) {
		b := readFile(t, fixturePath(t, "DOG.mp4"))
		at := len(b) * 4 / 10
		copy(b[at:at+32<<10], make([]byte, 32<<10))
		writeFile(t, p, b)
	}},
	{"DOG.ts", "DOG.mp4 remuxed to MPEG-TS", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-i", fixturePath(t, "DOG.mp4"), "-c", "copy", p)
	}},
	{"LOST.ts", "DOG.ts without every 7th 188-byte packet from packet 300 to 700 (57 lost)", func(t *testing.T, dir, p string) {
		b := readFile(t, fixturePath(t, "DOG.ts"))
		var out []byte
		for i := 0; i*188 < len(b); i++ {
			if i >= 300 && i < 700 && i%7 == 0 {
				continue
			}
			out = append(out, b[i*188:min(len(b), (i+1)*188)]...)
		}
		writeFile(t, p, out)
	}},
	{"REPEAT.ts", "DOG.ts twice in a row: every timestamp repeats", func(t *testing.T, dir, p string) {
		b := readFile(t, fixturePath(t, "DOG.ts"))
		writeFile(t, p, append(append([]byte(nil), b...), b...))
	}},
	{"BACK.ts", "3 s of DOG.ts with timestamps 20 s on, then DOG.ts: timestamps jump 20 s back", func(t *testing.T, dir, p string) {
		later := filepath.Join(dir, "later.ts")
		mediatest.FFmpeg(t, "-i", fixturePath(t, "DOG.mp4"), "-t", "3", "-c", "copy", "-output_ts_offset", "20", later)
		writeFile(t, p, append(readFile(t, later), readFile(t, fixturePath(t, "DOG.ts"))...))
	}},
	{"MOOVLAST.mp4", "shared clip 02_cups remuxed with its index (moov) after the media data", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-i", mediatest.Clip(t, "02_cups"), "-c", "copy", p)
	}},
	{"EMPTY.mp4", "a zero-byte file", func(t *testing.T, dir, p string) { writeFile(t, p, nil) }},
	{"TEXT.mp4", "a text file named .mp4", func(t *testing.T, dir, p string) {
		writeFile(t, p, []byte("just some text, not a video\n"))
	}},
	{"AUDIO.m4a", "1 s of AAC, no video", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "sine=f=440", "-t", "1", "-c:a", "aac", p)
	}},
	{"EXISTING.mp4", "a file that exists", func(t *testing.T, dir, p string) { writeFile(t, p, []byte("keep me")) }},
	{"READONLY.mp4", "a file its user may not write (as root, the case runs as nobody)", func(t *testing.T, dir, p string) {
		writeFile(t, p, []byte("keep me"))
		if os.Geteuid() == 0 {
			os.Chmod(dir, 0o777) // nobody may create the temporary file beside it, as a user could
		} else {
			os.Chmod(p, 0o444)
		}
	}},
	{"HLG.mp4", "0.2 s HEVC 10-bit tagged BT.2020 / HLG, limited range", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-t", "0.2", "-c:v", "libx265", "-x265-params", "log-level=error",
			"-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "arib-std-b67", "-colorspace", "bt2020nc", "-color_range", "tv", p)
	}},
	{"PQ.mkv", "0.2 s HEVC 10-bit tagged BT.2020 / PQ with HDR10 mastering-display and content-light metadata on the stream", func(t *testing.T, dir, p string) {
		pq := filepath.Join(dir, "pq.mp4")
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-t", "0.2", "-c:v", "libx265", "-x265-params", "log-level=error",
			"-pix_fmt", "yuv420p10le", "-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc", "-color_range", "tv", pq)
		remuxWithHDR(t, pq, p)
	}},
	{"YUV422.mp4", "0.2 s H.264 4:2:2", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-t", "0.2", "-c:v", "libx264", "-pix_fmt", "yuv422p", p)
	}},
	{"RGB48.png", "a 16-bit RGB PNG", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", "-pix_fmt", "rgb48be", p)
	}},
	{"INTERLACED.mp4", "0.4 s testsrc2 at 50 fps woven into 25 fps top-field-first H.264 (field_order tt)", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x96:r=50", "-t", "0.4", "-vf", "interlace=scan=tff", "-c:v", "libx264",
			"-preset", "ultrafast", "-flags", "+ildct+ilme", "-x264-params", "tff=1", p)
	}},
	{"SRT.mkv", "SMALL.mp4 with a SubRip track of two cues (0.2-0.9 s \"Hello there\", 1.0-1.8 s \"Second <i>line</i>\")", func(t *testing.T, dir, p string) {
		srt := filepath.Join(dir, "cues.srt")
		writeFile(t, srt, []byte(srtCues))
		mediatest.FFmpeg(t, "-i", fixturePath(t, "SMALL.mp4"), "-i", srt, "-map", "0", "-map", "1", "-c", "copy", "-c:s", "srt", p)
	}},
	{"RGBA.png", "a 64x48 RGBA PNG whose alpha ramps from 0 (left) to 251 (right)", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", "-vf", "format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='X*255/W'", p)
	}},
	{"RGBA64.png", "a 16-bit RGBA PNG", func(t *testing.T, dir, p string) {
		mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=64x48", "-frames:v", "1", "-pix_fmt", "rgba64be", p)
	}},
	{"DIR", "a directory", func(t *testing.T, dir, p string) { os.Mkdir(p, 0o755) }},
}

// srtCues is SRT.mkv's subtitle track, as SubRip.
const srtCues = "1\n00:00:00,200 --> 00:00:00,900\nHello there\n\n2\n00:00:01,000 --> 00:00:01,800\nSecond <i>line</i>\n\n"

var hostileCases = []hostileCase{
	{kind: "command line", what: "scale NaN", args: []string{"-i", "SMALL.mp4", "-s", "NaN", "OUT.mp4"}, code: 2, says: "-s NaN: want a scale factor above 0"},
	{kind: "command line", what: "scale 0", args: []string{"-i", "SMALL.mp4", "-s", "0", "OUT.mp4"}, code: 2, says: "-s 0: want a scale factor above 0"},
	{kind: "command line", what: "--resume from a pipe", args: []string{"-i", "-", "--resume", "OUT.mp4"}, in: "SMALL.mp4", code: 1, says: "a resumable job needs an input file"},
	{kind: "command line", what: "--segment-seconds too short", args: []string{"-i", "SMALL.mp4", "--resume", "--segment-seconds", "0.001", "OUT.mp4"}, code: 2, says: "--segment-seconds 0.001: want a length from 0.04 to 86400 seconds"},
	{kind: "command line", what: "batch without an output directory", args: []string{"batch", "-i", "SMALL.mp4"}, code: 2, says: "batch: give -i DIR and -o OUTDIR"},
	{kind: "command line", what: "scale above 8", args: []string{"-i", "SMALL.mp4", "-s", "9", "OUT.mp4"}, code: 1, says: "scale 9 is out of range (0.25 to 8)"},
	{kind: "command line", what: "duration 0", args: []string{"-i", "SMALL.mp4", "-t", "0", "OUT.mp4"}, code: 2, says: "-t 0: want a duration above 0"},
	{kind: "command line", what: "duration NaN", args: []string{"-i", "SMALL.mp4", "-t", "NaN", "OUT.mp4"}, code: 2, says: `-t: bad time "NaN"`},
	{kind: "command line", what: "start Inf", args: []string{"-i", "SMALL.mp4", "-ss", "Inf", "OUT.mp4"}, code: 2, says: `-ss: bad time "Inf"`},
	{kind: "command line", what: "no frames", args: []string{"-i", "SMALL.mp4", "-frames:v", "0", "OUT.mp4"}, code: 2, says: "-frames:v 0: want at least 1 frame"},
	{kind: "command line", what: "crf above x264's 51", args: []string{"-i", "SMALL.mp4", "-crf", "60", "OUT.mp4"}, code: 1, says: "libx264 takes a crf from 0 to 51, not 60"},
	{kind: "command line", what: "crf below 0", args: []string{"-i", "SMALL.mp4", "-crf", "-5", "OUT.mp4"}, code: 1, says: "libx264 takes a crf from 0 to 51, not -5"},
	{kind: "command line", what: "crf above VP9's 63", args: []string{"-i", "SMALL.mp4", "-c:v", "libvpx-vp9", "-crf", "64", "OUT.webm"}, code: 1, says: "libvpx-vp9 takes a crf from 0 to 63, not 64"},
	{kind: "command line", what: "bit rate NaN", args: []string{"-i", "SMALL.mp4", "-b:v", "NaN", "OUT.mp4"}, code: 2, says: `-b:v: bad bit rate "NaN"`},
	{kind: "command line", what: "output side 100000", args: []string{"-i", "SMALL.mp4", "-vf", "scale=100000:-1", "OUT.mp4"}, code: 2, says: `-vf: bad size "100000:-1"`},
	{kind: "command line", what: "tile reuse 0", args: []string{"-i", "SMALL.mp4", "--reuse-tiles", "0", "OUT.mp4"}, code: 2, says: "--reuse-tiles 0: want a threshold above 0"},
	{kind: "command line", what: "tile reuse negative", args: []string{"-i", "SMALL.mp4", "--reuse-tiles", "-1", "OUT.mp4"}, code: 2, says: "--reuse-tiles -1: want a threshold above 0"},
	{kind: "command line", what: "progress and video both on stdout", args: []string{"-i", "SMALL.mp4", "-progress", "pipe:1", "-f", "nut", "-"}, code: 2, says: "-progress pipe:1 and the video both go to standard output"},
	{kind: "command line", what: "-y and -n", args: []string{"-i", "SMALL.mp4", "-y", "-n", "OUT.mp4"}, code: 2, says: "-y and -n contradict each other"},
	{kind: "command line", what: "help shows flags as typed", args: []string{"--help"}, code: 0, stdout: true, says: "-c:v value, -vcodec value", notSaid: "--c:v"},
	{kind: "command line", what: "probe names colours as ffprobe", args: []string{"probe", "HLG.mp4"}, code: 0, stdout: true, says: "space bt2020nc, range tv, primaries bt2020, transfer arib-std-b67"},

	{kind: "output", what: "output is the input, with -y", args: []string{"-i", "COPY.mp4", "-y", "COPY.mp4"}, code: 1, says: `output is the input`},
	{kind: "output", what: "output is a link to the input, with -y", args: []string{"-i", "COPY.mp4", "-y", "LINK.mp4"}, code: 1, says: `output is the input`},
	{kind: "output", what: "existing output without -y", args: []string{"-i", "SMALL.mp4", "EXISTING.mp4"}, code: 1, says: "output exists (use -y to overwrite)"},
	{kind: "output", what: "-y over a file the user may not write", args: []string{"-i", "SMALL.mp4", "-y", "READONLY.mp4"}, code: 1, says: "cannot replace", nobody: true},
	{kind: "output", what: "output in a missing directory", args: []string{"-i", "SMALL.mp4", "no/such/dir/o.mp4"}, code: 1, says: `cannot write to "no/such/dir"`},
	{kind: "output", what: "output is a directory", args: []string{"-i", "SMALL.mp4", "DIR"}, code: 1, says: `output "DIR" is a directory`},
	{kind: "output", what: "progress file in a missing directory", args: []string{"-i", "SMALL.mp4", "-progress", "no/such/p.txt", "OUT.mp4"}, code: 1, says: "-progress: open no/such/p.txt"},

	{kind: "output", what: ".gif gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "-frames:v", "5", "OUT.gif"}, code: 0, codecAsFFmpeg: true, codec: "gif"},
	{kind: "output", what: ".ts gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.ts"}, code: 0, codecAsFFmpeg: true, codec: "mpeg2video", rateAsInput: true},
	{kind: "output", what: ".m2ts gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.m2ts"}, code: 0, codecAsFFmpeg: true, codec: "mpeg2video"},
	{kind: "output", what: ".mxf gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.mxf"}, code: 0, codecAsFFmpeg: true, codec: "mpeg2video"},
	{kind: "output", what: ".avi gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.avi"}, code: 0, codecAsFFmpeg: true, codec: "mpeg4"},
	{kind: "output", what: ".mkv gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.mkv"}, code: 0, codecAsFFmpeg: true, codec: "h264"},
	{kind: "output", what: ".webm gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "-frames:v", "5", "OUT.webm"}, code: 0, codecAsFFmpeg: true, codec: "vp9"},
	{kind: "output", what: ".jpg gets ffmpeg's encoder", args: []string{"-i", "SMALL.mp4", "OUT.jpg"}, code: 0, codecAsFFmpeg: true, codec: "mjpeg"},
	{kind: "output", what: "H.264 in MPEG-TS", args: []string{"-i", "SMALL.mp4", "-c:v", "libx264", "OUT.ts"}, code: 0, codec: "h264"},
	{kind: "output", what: "mpeg2video at 29.97 fps gets the frame rate, not the time base", args: []string{"-i", "DOG.mp4", "-frames:v", "10", "-c:v", "mpeg2video", "OUT.mp4"}, code: 0, codec: "mpeg2video", rateAsInput: true},

	{kind: "output", what: "10-bit HLG through the model stays 10-bit, tagged", args: []string{"-i", "HLG.mp4", "--model", "realesrgan-x4fast", "-frames:v", "2", "OUT.mkv"}, code: 0,
		probeHas: []string{"pix_fmt=yuv420p10le", "color_space=bt2020nc", "color_transfer=arib-std-b67", "color_primaries=bt2020", "color_range=tv"}},
	{kind: "output", what: "HLG forced to 8 bits is warned about", args: []string{"-i", "HLG.mp4", "-pix_fmt", "yuv420p", "OUT.mkv"}, code: 0, says: "arib-std-b67 (HDR) video written in 8 bits (yuv420p) will show banding", warning: true},
	{kind: "output", what: "HDR10 keeps its tags and metadata", args: []string{"-i", "PQ.mkv", "OUT.mkv"}, code: 0,
		probeHas: []string{"pix_fmt=yuv420p10le", "color_transfer=smpte2084", "side_data_type=Mastering display metadata", "red_x=17/25", "max_luminance=1000/1", "side_data_type=Content light level metadata", "max_content=1000", "max_average=400"}},
	{kind: "output", what: "HDR10 in mp4 keeps its metadata", args: []string{"-i", "PQ.mkv", "OUT.mp4"}, code: 0,
		probeHas: []string{"color_transfer=smpte2084", "side_data_type=Mastering display metadata", "max_content=1000"}},
	{kind: "output", what: "4:2:2 through the model stays 4:2:2", args: []string{"-i", "YUV422.mp4", "--model", "realesrgan-x4fast", "-frames:v", "2", "OUT.mp4"}, code: 0, probeHas: []string{"pix_fmt=yuv422p"}},
	{kind: "output", what: "16-bit PNG stays 16-bit", args: []string{"-i", "RGB48.png", "OUT.png"}, code: 0, probeHas: []string{"pix_fmt=rgb48be"}},
	{kind: "output", what: "a stream the container cannot hold is named", args: []string{"-i", "SMALL.mp4", "-frames:v", "5", "OUT.webm"}, code: 0, says: "not copied: stream #1 (audio aac)", warning: true},

	{kind: "output", what: "interlaced input is deinterlaced with bwdif, as ffmpeg's", args: []string{"-i", "INTERLACED.mp4", "-s", "1", "-c:v", "ffv1", "OUT.mkv"}, code: 0,
		says: "interlaced input (field order tt): deinterlaced with FFmpeg's bwdif", warning: true, sameFramesAs: []string{"-vf", "bwdif=mode=send_frame"}},

	{kind: "output", what: "SubRip into mp4 becomes mov_text", args: []string{"-i", "SRT.mkv", "OUT.mp4"}, code: 0, subtitles: srtCues},
	{kind: "output", what: "SubRip into webm becomes WebVTT", args: []string{"-i", "SRT.mkv", "-frames:v", "50", "OUT.webm"}, code: 0, subtitles: srtCues},

	{kind: "output", what: "PNG alpha kept: colour through the model, alpha resized with Lanczos", args: []string{"-i", "RGBA.png", "--model", "realesrgan-x4fast", "OUT.png"}, code: 0,
		probeHas: []string{"pix_fmt=rgba", "width=128"}, alphaAsLanczos: true},
	{kind: "output", what: "PNG alpha into mp4 is named as dropped", args: []string{"-i", "RGBA.png", "OUT.mp4"}, code: 0, says: "the input's alpha (transparency) is dropped: libx264 yuv420p has none", warning: true},

	{kind: "output", what: "16-bit RGBA PNG: the alpha not kept yet is named", args: []string{"-i", "RGBA64.png", "OUT.png"}, code: 0, says: "the input's alpha (transparency, rgba64be) is dropped", warning: true},

	{kind: "bad input", what: "missing file", args: []string{"-i", "nope.mp4", "OUT.mp4"}, code: 1, says: "No such file"},
	{kind: "bad input", what: "input is a directory", args: []string{"-i", "DIR", "OUT.mp4"}, code: 1, says: `open "DIR": Is a directory`},
	{kind: "bad input", what: "zero-byte file", args: []string{"-i", "EMPTY.mp4", "OUT.mp4"}, code: 1, says: "nvalid data"},
	{kind: "bad input", what: "text renamed .mp4", args: []string{"-i", "TEXT.mp4", "OUT.mp4"}, code: 1, says: "nvalid data"},
	{kind: "bad input", what: "audio only", args: []string{"-i", "AUDIO.m4a", "OUT.mp4"}, code: 1, says: "no video stream"},
	{kind: "bad input", what: "piped mp4 with its index at the end", args: []string{"-i", "-", "OUT.mp4"}, in: "MOOVLAST.mp4", code: 1, says: "the mp4's index (moov) comes after its media data, which a pipe cannot go back to"},

	{kind: "damaged input", what: "mp4 cut in half", args: []string{"-i", "HALF.mp4", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 0, says: "frames lost", asFFmpeg: true, progress: []string{"lost_frames"}},
	{kind: "damaged input", what: "mp4 whose index lists more frames than its data holds", args: []string{"-i", "TRUNC.mp4", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 0, says: "frames lost", asFFmpeg: true, progress: []string{"lost_frames"}},
	{kind: "damaged input", what: "the same, --strict", args: []string{"-i", "TRUNC.mp4", "--strict", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 1, says: "input is damaged: "},
	{kind: "damaged input", what: "mp4 with a zeroed range", args: []string{"-i", "ZEROED.mp4", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 0, says: "bad packet", asFFmpeg: true, progress: []string{"bad_packets"}},
	{kind: "damaged input", what: "MPEG-TS with lost packets", args: []string{"-i", "LOST.ts", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 0, says: "57 transport-stream packets lost", asFFmpeg: true, progress: []string{"lost_packets"}},
	{kind: "damaged input", what: "the same, --strict", args: []string{"-i", "LOST.ts", "--strict", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 1, says: "input is damaged: "},
	{kind: "damaged input", what: "MPEG-TS whose timestamps repeat", args: []string{"-i", "REPEAT.ts", "-s", "1", "-preset", "ultrafast", "OUT.mp4"}, code: 0, says: "1 timestamp jump repaired", asFFmpeg: true, progress: []string{"ts_jumps"}},
	{kind: "damaged input", what: "MPEG-TS whose timestamps jump back", args: []string{"-i", "BACK.ts", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, code: 0, says: "1 timestamp jump repaired", asFFmpeg: true, progress: []string{"ts_jumps", "drop_frames"}},
	{kind: "damaged input", what: "the same, piped", args: []string{"-i", "-", "-s", "1", "-preset", "ultrafast", "OUT.mkv"}, in: "BACK.ts", code: 0, says: "1 timestamp jump repaired", asFFmpeg: true},
}

var (
	fixtureOnce sync.Once
	fixtureDir  string
	fixtureMu   sync.Mutex
	fixtureMade = map[string]string{}
)

// fixturePath makes the fixture once (and what it is made from) and returns its path.
func fixturePath(t *testing.T, name string) string {
	t.Helper()
	fixtureOnce.Do(func() {
		dir, err := os.MkdirTemp("", "ugcsr-hostile")
		if err != nil {
			t.Fatal(err)
		}
		os.Chmod(dir, 0o755)
		fixtureDir = dir
	})
	if p, ok := fixtureMade[name]; ok {
		return p
	}
	f, ok := fixtureByName[name]
	if !ok {
		t.Fatalf("no fixture %s", name)
	}
	p := filepath.Join(fixtureDir, name)
	f.make(t, fixtureDir, p)
	fixtureMade[name] = p
	return p
}

// fixtureByName indexes fixtures (filled in init: the fixtures' makers call fixturePath).
var fixtureByName = map[string]fixture{}

func init() {
	for _, f := range fixtures {
		fixtureByName[f.name] = f
	}
}

func isFixture(s string) bool { _, ok := fixtureByName[s]; return ok }

// TestHostile runs the case table through the binary: the exit code, one line on stderr naming the
// problem, no output left behind by a failure, nothing existing changed, the input unchanged, and
// for damaged input the frames ffmpeg's own tool writes, a one-line report and -progress keys.
func TestHostile(t *testing.T) {
	t.Cleanup(func() {
		if fixtureDir != "" {
			os.RemoveAll(fixtureDir)
		}
	})
	fixtureMu.Lock()
	defer fixtureMu.Unlock()
	for _, c := range hostileCases {
		t.Run(c.kind+"/"+c.what, func(t *testing.T) { runHostile(t, c) })
	}
}

func runHostile(t *testing.T, c hostileCase) {
	dir := t.TempDir()
	os.Chmod(dir, 0o777)
	out := ""
	var args []string
	before := map[string][]byte{} // every named file, to check it is unchanged
	for _, a := range c.args {
		switch {
		case strings.HasPrefix(a, "OUT."):
			out = filepath.Join(dir, a)
			a = out
		case isFixture(a) || a == "LINK.mp4":
			p := filepath.Join(fixtureDir, a)
			if a == "LINK.mp4" {
				fixturePath(t, "COPY.mp4")
			} else {
				p = fixturePath(t, a)
			}
			if b, err := os.ReadFile(p); err == nil {
				before[p] = b
			}
			// a stays relative: the binary runs in the fixture directory, so messages name it as typed
		}
		args = append(args, a)
	}
	progress := filepath.Join(dir, "progress.txt")
	if len(c.progress) > 0 {
		args = append([]string{"-progress", progress}, args...)
	}
	if len(args) > 0 && args[0] != "probe" && args[0] != "--help" && !slices.Contains(args, "--model") {
		args = append([]string{"--model", "lanczos"}, args...)
	}
	cmd := exec.Command(binary, args...)
	cmd.Dir = fixtureDirFor(t)
	if c.in != "" {
		f, err := os.Open(fixturePath(t, c.in))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	if c.nobody && os.Geteuid() == 0 {
		os.Chmod(filepath.Dir(binary), 0o755)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != c.code {
		t.Fatalf("exit %d, want %d\nstderr: %s", code, c.code, stderr.String())
	}
	for p, b := range before {
		if now, err := os.ReadFile(p); err != nil || !bytes.Equal(now, b) {
			t.Errorf("%s was changed or removed", p)
		}
	}
	where := stderr.String()
	switch {
	case c.stdout:
		where = stdout.String()
	case code != 0:
		lines := strings.Split(strings.TrimRight(where, "\n"), "\n")
		if len(lines) != 1 {
			t.Errorf("stderr has %d lines, want 1:\n%s", len(lines), where)
		}
		if out != "" {
			if _, err := os.Stat(out); err == nil {
				t.Errorf("output %s was left behind", out)
			}
		}
		if parts, _ := filepath.Glob(filepath.Join(dir, ".*.part")); len(parts) > 0 {
			t.Errorf("temporary files left: %v", parts)
		}
	case c.says == "" || c.warning:
	default:
		var report []string
		for _, l := range strings.Split(where, "\n") {
			if strings.HasPrefix(l, "ugcsr: damaged input: ") {
				report = append(report, l)
			}
		}
		if len(report) != 1 {
			t.Fatalf("want one damage report line, got %d:\n%s", len(report), where)
		}
		where = report[0]
	}
	if !strings.Contains(where, c.says) {
		t.Errorf("want %q in:\n%s", c.says, where)
	}
	if c.notSaid != "" && strings.Contains(where, c.notSaid) {
		t.Errorf("%q should not be in:\n%s", c.notSaid, where)
	}
	if c.asFFmpeg {
		src := fixturePath(t, inputOf(c))
		got, want := countFrames(t, out), ffmpegFrames(t, src, filepath.Join(dir, "ffmpeg"+filepath.Ext(out)))
		if !(got >= want && want > 0) {
			t.Errorf("%d frames written, ffmpeg writes %d", got, want)
		}
	}
	if c.sameFramesAs != nil {
		ff := filepath.Join(dir, "ffmpeg.mkv")
		mediatest.FFmpeg(t, append(append([]string{"-i", fixturePath(t, inputOf(c))}, c.sameFramesAs...), "-map", "0:v", "-c:v", "ffv1", ff)...)
		got, want := frameHashes(t, out), frameHashes(t, ff)
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("frames differ from ffmpeg %v:\n%v\n%v", c.sameFramesAs, got, want)
		}
	}
	if c.subtitles != "" {
		got, err := exec.Command(mediatest.Tool(t, "ffmpeg"), "-v", "error", "-i", out, "-map", "0:s:0", "-f", "srt", "-").Output()
		if err != nil || !sameCues(string(got), c.subtitles) {
			t.Errorf("subtitles %q (%v), want %q", got, err, c.subtitles)
		}
	}
	if c.alphaAsLanczos {
		v := mediatest.FFprobe(t, out, nil).Streams[0]
		alpha := func(p, vf string) []byte {
			b, err := exec.Command(mediatest.Tool(t, "ffmpeg"), "-v", "error", "-i", p, "-vf", vf+"format=rgba,extractplanes=a", "-f", "rawvideo", "-pix_fmt", "gray", "-").Output()
			if err != nil {
				t.Fatalf("alpha of %s: %v", p, err)
			}
			return b
		}
		got, want := alpha(out, ""), alpha(fixturePath(t, inputOf(c)), fmt.Sprintf("scale=%d:%d:flags=lanczos,", v.Width, v.Height))
		worst := 256
		if len(got) == len(want) && len(got) > 0 {
			worst = 0
			for i := range got {
				worst = max(worst, int(abs(int64(got[i])-int64(want[i]))))
			}
		}
		if !(worst <= 1) {
			t.Errorf("alpha differs from ffmpeg's Lanczos by up to %d levels (%d vs %d bytes)", worst, len(got), len(want))
		}
	}
	if len(c.probeHas) > 0 {
		out, err := exec.Command(mediatest.Tool(t, "ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_streams", out).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range c.probeHas {
			if !strings.Contains(string(out), w) {
				t.Errorf("ffprobe of the output lacks %q:\n%s", w, out)
			}
		}
	}
	if c.codecAsFFmpeg || c.codec != "" || c.rateAsInput {
		got := probeVideo(t, out)
		if c.codec != "" && got.codec != c.codec {
			t.Errorf("video codec %s, want %s", got.codec, c.codec)
		}
		if c.codecAsFFmpeg {
			ff := filepath.Join(dir, "ffmpeg"+filepath.Ext(out))
			mediatest.FFmpeg(t, "-i", fixturePath(t, inputOf(c)), "-frames:v", "1", ff)
			if want := probeVideo(t, ff).codec; got.codec != want {
				t.Errorf("video codec %s, ffmpeg picks %s", got.codec, want)
			}
		}
		if want := probeVideo(t, fixturePath(t, inputOf(c))).rate; c.rateAsInput && got.rate != want {
			t.Errorf("frame rate %s, the input's is %s", got.rate, want)
		}
	}
	if len(c.progress) > 0 {
		last := lastProgress(t, progress)
		for _, k := range c.progress {
			if v, err := strconv.ParseInt(last[k], 10, 64); err != nil || v <= 0 {
				t.Errorf("-progress %s=%q, want above 0", k, last[k])
			}
		}
	}
}

// inputOf is the fixture a case reads: the one after -i, or the one on standard input.
func inputOf(c hostileCase) string {
	for i, a := range c.args {
		if a == "-i" && i+1 < len(c.args) && c.args[i+1] != "-" {
			return c.args[i+1]
		}
	}
	return c.in
}

type videoProbe struct{ codec, rate string }

// probeVideo is ffprobe's codec name and r_frame_rate of path's first video stream.
func probeVideo(t *testing.T, path string) videoProbe {
	t.Helper()
	out, err := exec.Command(mediatest.Tool(t, "ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries",
		"stream=codec_name,r_frame_rate", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v", path, err)
	}
	f := strings.Split(strings.TrimSpace(string(out))+",", ",")
	return videoProbe{f[0], f[1]}
}

// sameCues compares SubRip texts: the same lines, the times of each cue within 30 ms.
func sameCues(got, want string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	ms := func(s string) int64 { // 00:00:01,000
		var h, m, sec, milli int64
		fmt.Sscanf(s, "%d:%d:%d,%d", &h, &m, &sec, &milli)
		return ((h*60+m)*60+sec)*1000 + milli
	}
	for i := range g {
		gs, ge, gok := strings.Cut(g[i], " --> ")
		ws, we, wok := strings.Cut(w[i], " --> ")
		if gok != wok || !gok && g[i] != w[i] {
			return false
		}
		if gok && (abs(ms(gs)-ms(ws)) > 30 || abs(ms(ge)-ms(we)) > 30) {
			return false
		}
	}
	return true
}

func abs(v int64) int64 { return max(v, -v) }

// frameHashes are the MD5s of path's video frames, in order (ffmpeg -f framemd5), timestamps left out.
func frameHashes(t *testing.T, path string) []string {
	t.Helper()
	out, err := exec.Command(mediatest.Tool(t, "ffmpeg"), "-v", "error", "-i", path, "-map", "0:v", "-f", "framemd5", "-").Output()
	if err != nil {
		t.Fatalf("framemd5 %s: %v", path, err)
	}
	var h []string
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ","); len(f) == 6 && !strings.HasPrefix(l, "#") {
			h = append(h, strings.TrimSpace(f[5]))
		}
	}
	return h
}

// fixtureDirFor is where the binary runs: the fixture directory, so cases name fixtures and
// relative paths (no/such/dir) as a user types them.
func fixtureDirFor(t *testing.T) string {
	fixturePath(t, "DIR")
	return fixtureDir
}

// countFrames is ffprobe's count of the video frames in path.
func countFrames(t *testing.T, path string) int {
	t.Helper()
	p := mediatest.FFprobe(t, path, nil, "-count_frames", "-select_streams", "v:0")
	if len(p.Streams) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(p.Streams[0].NbReadFrames)
	return n
}

// ffmpegFrames is the number of video frames ffmpeg's own tool writes from in to out.
func ffmpegFrames(t *testing.T, in, out string) int {
	t.Helper()
	mediatest.FFmpeg(t, "-i", in, "-map", "0:v:0", "-c:v", "libx264", "-preset", "ultrafast", out)
	return countFrames(t, out)
}

// lastProgress is the last key=value block of a -progress file.
func lastProgress(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	last := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), "=")
		last[k] = v
	}
	return last
}

// TestTestingTable: TESTING.md is the case table above, written out (-update-testing rewrites it).
func TestTestingTable(t *testing.T) {
	path := filepath.Join(mediatest.RepoRoot(t), "TESTING.md")
	want := testingTable()
	if *updateTesting {
		if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("TESTING.md and the case table in cmd/ugcsr/hostile_test.go differ: run go test ./cmd/ugcsr -run TestTestingTable -update-testing")
	}
}

func testingTable() string {
	var b strings.Builder
	b.WriteString("# What ugcsr does with hostile input\n\n")
	b.WriteString("Every input and command line below is run through the real binary by `TestHostile`\n")
	b.WriteString("(cmd/ugcsr/hostile_test.go), which checks the exit code, that the text shown is on the one line\n")
	b.WriteString("of stderr (or in the one `damaged input:` report line, or on standard output), that a failure leaves\n")
	b.WriteString("no output and changes no file, and that a damaged input gives at least the video frames ffmpeg's own\n")
	b.WriteString("tool writes from it. This file is generated from that case table: `go test ./cmd/ugcsr -run\n")
	b.WriteString("TestTestingTable -update-testing` rewrites it, and `TestTestingTable` fails when the two differ.\n")
	b.WriteString("Every case without `--model` runs with `--model lanczos` added; OUT is a fresh output path.\n")
	kind := ""
	for _, c := range hostileCases {
		if c.kind != kind {
			kind = c.kind
			fmt.Fprintf(&b, "\n## %s\n\n| tried | command line | exit | says |\n|---|---|---|---|\n", kind)
		}
		cl := "ugcsr " + strings.Join(c.args, " ")
		if c.in != "" {
			cl += " < " + c.in
		}
		if len(c.progress) > 0 {
			cl += " (with -progress: " + strings.Join(c.progress, ", ") + " above 0)"
		}
		says := "`" + c.says + "`"
		if c.says == "" {
			says = ""
		}
		if c.codec != "" {
			says += "video " + c.codec
		}
		if c.codecAsFFmpeg {
			says += ", as ffmpeg picks"
		}
		if c.rateAsInput {
			says += ", the input's frame rate"
		}
		for _, p := range c.probeHas {
			if says != "" {
				says += ", "
			}
			says += "`" + p + "`"
		}
		if c.warning {
			says += " (a notice)"
		}
		if c.sameFramesAs != nil {
			says += "; the frames of ffmpeg " + strings.Join(c.sameFramesAs, " ")
		}
		if c.subtitles != "" {
			says += "; the subtitles' text, times within 30 ms"
		}
		if c.alphaAsLanczos {
			says += "; alpha within 1 level of ffmpeg's Lanczos resize"
		}
		if c.asFFmpeg {
			says += "; the frames ffmpeg writes"
		}
		if c.stdout {
			says += " (on stdout)"
		}
		if c.notSaid != "" {
			says += ", not `" + c.notSaid + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %d | %s |\n", c.what, cl, c.code, strings.ReplaceAll(says, "|", "\\|"))
	}
	b.WriteString("\n## Inputs\n\n| name | what |\n|---|---|\n")
	for _, f := range fixtures {
		fmt.Fprintf(&b, "| %s | %s |\n", f.name, f.how)
	}
	return b.String()
}

func copyFile(t *testing.T, from, to string) { writeFile(t, to, readFile(t, from)) }

func cut(t *testing.T, from, to string, frac float64) {
	b := readFile(t, from)
	writeFile(t, to, b[:int(float64(len(b))*frac)])
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t *testing.T, p string, b []byte) {
	t.Helper()
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
