// Package mediatest holds test helpers: where ../shared is, generating small clips with the ffmpeg
// tool, and reading streams, frames and packets back with ffprobe.
package mediatest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// RepoRoot walks up from the working directory to the directory holding go.mod.
func RepoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the working directory")
		}
		dir = parent
	}
}

// Shared returns the path of a file under ../shared beside the repository, skipping the test when
// it is absent, or failing it under $UGCSR_REQUIRE_ORT=1 (CI, where ../shared is present).
func Shared(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(RepoRoot(t), "..", "shared", rel)
	if _, err := os.Stat(p); err != nil {
		Skip(t, "%s not found (../shared is beside the repository in CI)", p)
	}
	return p
}

// Clip returns one of the shared 1280x720 clips, e.g. Clip(t, "01_dog").
func Clip(t testing.TB, name string) string {
	return Shared(t, filepath.Join("clips", name+".mp4"))
}

// Tool returns the path of an FFmpeg command-line tool, failing the test when it is missing.
func Tool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: run scripts/setup.sh", name)
	}
	return p
}

// FFmpeg runs the ffmpeg tool with args (after -v error -y) and fails the test on error.
func FFmpeg(t testing.TB, args ...string) {
	t.Helper()
	cmd := exec.Command(Tool(t, "ffmpeg"), append([]string{"-v", "error", "-nostdin", "-y"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
}

// Probe is the subset of ffprobe's JSON the tests read.
type Probe struct {
	Streams []struct {
		Index        int               `json:"index"`
		CodecType    string            `json:"codec_type"`
		CodecName    string            `json:"codec_name"`
		Width        int               `json:"width"`
		Height       int               `json:"height"`
		PixFmt       string            `json:"pix_fmt"`
		SAR          string            `json:"sample_aspect_ratio"`
		NbFrames     string            `json:"nb_frames"`
		NbReadFrames string            `json:"nb_read_frames"`
		ColorSpace   string            `json:"color_space"`
		Tags         map[string]string `json:"tags"`
		SideDataList []struct {
			Type     string `json:"side_data_type"`
			Rotation int    `json:"rotation"`
		} `json:"side_data_list"`
	} `json:"streams"`
	Format struct {
		FormatName string            `json:"format_name"`
		Tags       map[string]string `json:"tags"`
	} `json:"format"`
	Frames  []ProbeFrame  `json:"frames"`
	Packets []ProbePacket `json:"packets"`
}

// ProbeFrame is one frame of ffprobe -show_frames.
type ProbeFrame struct {
	MediaType string `json:"media_type"`
	PTS       int64  `json:"best_effort_timestamp"`
	PTSTime   string `json:"best_effort_timestamp_time"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
}

// ProbePacket is one packet of ffprobe -show_packets -show_data_hash.
type ProbePacket struct {
	CodecType   string `json:"codec_type"`
	StreamIndex int    `json:"stream_index"`
	PTS         int64  `json:"pts"`
	Size        string `json:"size"`
	DataHash    string `json:"data_hash"`
}

// FFprobe runs ffprobe with extra args on path (or "-" with stdin) and decodes its JSON.
func FFprobe(t testing.TB, path string, stdin []byte, args ...string) Probe {
	t.Helper()
	a := append([]string{"-v", "error", "-of", "json", "-show_streams", "-show_format"}, args...)
	a = append(a, path)
	cmd := exec.Command(Tool(t, "ffprobe"), a...)
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("ffprobe %s: %v\n%s", path, err, stderr.String())
	}
	var p Probe
	if err := json.Unmarshal(out, &p); err != nil {
		t.Fatalf("ffprobe json: %v", err)
	}
	return p
}

// VideoFrames returns the video frames' timestamps (in seconds, as ffprobe prints them).
func VideoFrames(t testing.TB, path string) []ProbeFrame {
	t.Helper()
	p := FFprobe(t, path, nil, "-select_streams", "v:0", "-show_frames", "-show_entries",
		"frame=media_type,best_effort_timestamp,best_effort_timestamp_time,width,height")
	return p.Frames
}

// AudioPackets returns every audio packet with an MD5 of its payload.
func AudioPackets(t testing.TB, path string) []ProbePacket {
	t.Helper()
	p := FFprobe(t, path, nil, "-select_streams", "a", "-show_packets", "-show_data_hash", "MD5",
		"-show_entries", "packet=codec_type,stream_index,pts,size,data_hash")
	return p.Packets
}

// Float parses an ffprobe number string (0 when empty).
func Float(s string) float64 {
	v, _ := strconv.ParseFloat(s, 64)
	return v
}

// SetMP4Rotation rewrites the matrix of the first video track header (tkhd) of an mp4 in place so
// players rotate it by deg (90, 180 or 270) clockwise, as a phone's file says.
func SetMP4Rotation(t testing.TB, path string, deg int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// 16.16 fixed point a, b, c, d; the order in the file is a b u c d v x y w.
	var a, b, c, d int32
	switch deg {
	case 90:
		a, b, c, d = 0, 1<<16, -(1 << 16), 0
	case 180:
		a, b, c, d = -(1 << 16), 0, 0, -(1 << 16)
	case 270:
		a, b, c, d = 0, -(1 << 16), 1<<16, 0
	default:
		t.Fatalf("rotation %d not supported", deg)
	}
	i := bytes.Index(data, []byte("tkhd"))
	if i < 4 || data[i+4] != 0 {
		t.Fatal("no version-0 tkhd box found")
	}
	m := i + 4 + 4 + 4*5 + 8 + 2*4 // after version/flags, 5 words, reserved, layer..reserved
	put := func(off int, v int32) {
		data[off], data[off+1], data[off+2], data[off+3] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
	}
	put(m, a)
	put(m+4, b)
	put(m+12, c)
	put(m+16, d)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
