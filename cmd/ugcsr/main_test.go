package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// binary is the ugcsr built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ugcsr-bin")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "ugcsr")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// ugcsr runs the binary and returns stdout, stderr and the exit code.
func ugcsr(t *testing.T, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	return runUgcsr(t, nil, stdin, args...)
}

// ugcsrEnv is ugcsr with env added to the environment.
func ugcsrEnv(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	return runUgcsr(t, env, nil, args...)
}

func runUgcsr(t *testing.T, env []string, stdin []byte, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	if len(env) > 0 {
		cmd.Env = append(os.Environ(), env...)
	}
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
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
	return stdout.String(), stderr.String(), code
}

func mustRun(t *testing.T, args ...string) string {
	t.Helper()
	_, stderr, code := ugcsr(t, nil, args...)
	if code != 0 {
		t.Fatalf("ugcsr %v: exit %d\n%s", args, code, stderr)
	}
	return stderr
}

// smallClip makes a 2-second 160x90 H.264+AAC mp4 with a title tag.
func smallClip(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "small.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-f", "lavfi", "-i", "sine=f=440:r=48000",
		"-t", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-metadata", "title=small", "-shortest",
		"-movflags", "+faststart", p) // index first, as phones write it: a cut file still opens
	return p
}

// TestClipKeepsFramesTimestampsAudio runs a whole shared clip: same frame count, the requested
// size, every video timestamp equal to its input frame's, every audio packet byte-identical, and
// the container's title kept.
func TestClipKeepsFramesTimestampsAudio(t *testing.T) {
	in := mediatest.Clip(t, "01_dog")
	out := filepath.Join(t.TempDir(), "out.mp4")
	mustRun(t, "-i", in, "--model", "lanczos", "-s", "2", "-preset", "ultrafast", out)

	inFrames, outFrames := mediatest.VideoFrames(t, in), mediatest.VideoFrames(t, out)
	if len(outFrames) != len(inFrames) || len(inFrames) == 0 {
		t.Fatalf("frames: got %d, want %d", len(outFrames), len(inFrames))
	}
	for i := range inFrames {
		if outFrames[i].PTSTime != inFrames[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, outFrames[i].PTSTime, inFrames[i].PTSTime)
		}
		if outFrames[i].Width != 2560 || outFrames[i].Height != 1440 {
			t.Fatalf("frame %d: %dx%d, want 2560x1440", i, outFrames[i].Width, outFrames[i].Height)
		}
	}
	inAudio, outAudio := mediatest.AudioPackets(t, in), mediatest.AudioPackets(t, out)
	if len(outAudio) != len(inAudio) || len(inAudio) == 0 {
		t.Fatalf("audio packets: got %d, want %d", len(outAudio), len(inAudio))
	}
	for i := range inAudio {
		if outAudio[i].DataHash != inAudio[i].DataHash || outAudio[i].PTS != inAudio[i].PTS {
			t.Fatalf("audio packet %d differs: %+v vs %+v", i, outAudio[i], inAudio[i])
		}
	}
	p := mediatest.FFprobe(t, out, nil)
	if p.Format.Tags["title"] != "My Movie 6" {
		t.Errorf("title tag not kept: %v", p.Format.Tags)
	}
	for _, s := range p.Streams {
		if s.CodecType == "audio" && s.Tags["language"] != "eng" {
			t.Errorf("audio language tag not kept: %v", s.Tags)
		}
	}
}

// TestVariableFrameRate keeps irregular timestamps as they are.
func TestVariableFrameRate(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "vfr.mkv")
	// Drop every third frame of a 30 fps source: gaps of 1/30 and 2/30 s alternate.
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=30", "-t", "2",
		"-vf", "select='not(eq(mod(n\\,3)\\,1))'", "-fps_mode", "vfr", "-c:v", "libx264", "-preset", "ultrafast", in)
	inFrames := mediatest.VideoFrames(t, in)
	gaps := map[string]bool{}
	for i := 1; i < len(inFrames); i++ {
		gaps[fmt.Sprintf("%.3f", mediatest.Float(inFrames[i].PTSTime)-mediatest.Float(inFrames[i-1].PTSTime))] = true
	}
	if len(gaps) < 2 {
		t.Fatalf("generated clip is not variable-frame-rate: gaps %v", gaps)
	}
	out := filepath.Join(dir, "out.mkv")
	mustRun(t, "-i", in, "--model", "bicubic", "-s", "2", out)
	outFrames := mediatest.VideoFrames(t, out)
	if len(outFrames) != len(inFrames) {
		t.Fatalf("frames: got %d, want %d", len(outFrames), len(inFrames))
	}
	for i := range inFrames {
		if outFrames[i].PTSTime != inFrames[i].PTSTime {
			t.Fatalf("frame %d: pts %s, want %s", i, outFrames[i].PTSTime, inFrames[i].PTSTime)
		}
	}
}

// TestRotationKept keeps a phone's rotation metadata (pixels stay as stored).
func TestRotationKept(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "rot.mp4")
	mediatest.FFmpeg(t, "-f", "lavfi", "-i", "testsrc2=s=160x90:r=25", "-t", "0.4", "-c:v", "libx264",
		"-preset", "ultrafast", in)
	mediatest.SetMP4Rotation(t, in, 90) // ffmpeg 5.1 has no option that writes a display matrix
	rotation := func(p string) int {
		for _, s := range mediatest.FFprobe(t, p, nil).Streams {
			for _, sd := range s.SideDataList {
				if sd.Type == "Display Matrix" {
					return sd.Rotation
				}
			}
		}
		return 0
	}
	if r := rotation(in); r == 0 {
		t.Fatal("generated clip has no rotation")
	}
	out := filepath.Join(dir, "out.mp4")
	mustRun(t, "-i", in, "--model", "lanczos", "-s", "2", out)
	if got, want := rotation(out), rotation(in); got != want {
		t.Fatalf("rotation %d, want %d", got, want)
	}
	if s := mediatest.FFprobe(t, out, nil).Streams[0]; s.Width != 320 || s.Height != 180 {
		t.Fatalf("stored size %dx%d, want 320x180 (rotation is metadata)", s.Width, s.Height)
	}
}

// TestPipeRoundTrip: ffmpeg ... -f nut - | ugcsr -i - ... -f nut - | ffprobe -
func TestPipeRoundTrip(t *testing.T) {
	in := mediatest.Clip(t, "02_cups")
	script := fmt.Sprintf(`set -o pipefail; %s -v error -nostdin -t 1 -i %q -vf scale=320:180 -c:v ffv1 -c:a copy -f nut - |
		%s -i - --model lanczos -s 2 -c:v libx264 -preset ultrafast -loglevel error -f nut - |
		%s -v error -of compact=p=0:nk=1 -count_frames -select_streams v:0 -show_entries stream=width,height,nb_read_frames -`,
		mediatest.Tool(t, "ffmpeg"), in, binary, mediatest.Tool(t, "ffprobe"))
	out, err := exec.Command("bash", "-c", script).CombinedOutput()
	if err != nil {
		t.Fatalf("pipe: %v\n%s", err, out)
	}
	if got := strings.TrimSpace(string(out)); got != "640|360|30" {
		t.Fatalf("ffprobe of the piped output: %q, want 640|360|30", got)
	}
}

// TestOverwrite: -y replaces, -n refuses.
func TestOverwrite(t *testing.T) {
	clip := smallClip(t)
	out := filepath.Join(t.TempDir(), "o.mp4")
	os.WriteFile(out, []byte("old"), 0o644)
	if _, _, code := ugcsr(t, nil, "-i", clip, "--model", "lanczos", "-n", out); code == 0 {
		t.Fatal("-n overwrote")
	}
	mustRun(t, "-i", clip, "--model", "lanczos", "-frames:v", "3", out, "-y")
	if n := len(mediatest.VideoFrames(t, out)); n != 3 {
		t.Fatalf("after -y: %d frames, want 3", n)
	}
}

// TestInterruptFinalisesPartialOutput stops a job mid-way with SIGINT, SIGTERM and SIGHUP: each
// finalises a playable partial file, says where it is, and exits 128 + the signal's number.
var framesWritten = regexp.MustCompile(`(?m)^frame=[1-9]`)

// startAfterFrames starts the binary with args, which send -progress to pipe:1, and returns once
// the progress shows a frame written (or a minute passed), with standard output kept drained and
// standard error collected.
func startAfterFrames(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	var seen strings.Builder
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); {
		n, err := stdout.Read(buf)
		seen.Write(buf[:n])
		// Any block reporting a frame written (the first block may say frame=0: keep reading).
		if framesWritten.MatchString(seen.String()) || err != nil {
			break
		}
	}
	go func() { // keep the pipe drained
		for {
			if _, err := stdout.Read(buf); err != nil {
				return
			}
		}
	}()
	return cmd, &stderr
}

func TestInterruptFinalisesPartialOutput(t *testing.T) {
	in := mediatest.Clip(t, "03_blocks")
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}, {syscall.SIGHUP, 129}} {
		t.Run(c.sig.String(), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "partial.mp4")
			cmd, stderr := startAfterFrames(t, "-i", in, "--model", "lanczos", "-s", "2", "-progress", "pipe:1", out)
			cmd.Process.Signal(c.sig)
			err := cmd.Wait()
			ee, ok := err.(*exec.ExitError)
			if !ok || ee.ExitCode() != c.code {
				t.Fatalf("exit: %v, want %d\n%s", err, c.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "partial output to "+out) {
				t.Errorf("stderr does not say where the partial output is: %q", stderr.String())
			}
			frames := mediatest.VideoFrames(t, out)
			if len(frames) == 0 || len(frames) >= 292 {
				t.Fatalf("partial output has %d frames", len(frames))
			}
		})
	}
}

// TestProgressOutput checks the ffmpeg-style key=value blocks.
func TestProgressOutput(t *testing.T) {
	clip := smallClip(t)
	out := filepath.Join(t.TempDir(), "o.mkv")
	stdout, _, code := ugcsr(t, nil, "-i", clip, "--model", "lanczos", "-progress", "pipe:1", out)
	if code != 0 {
		t.Fatal("exit", code)
	}
	for _, key := range []string{"frame=50\n", "fps=", "out_time=00:00:02", "speed=", "dup_frames=", "progress=end\n"} {
		if !strings.Contains(stdout, key) {
			t.Errorf("progress output lacks %q:\n%s", key, stdout)
		}
	}
}

func TestProbe(t *testing.T) {
	stdout, stderr, code := ugcsr(t, nil, "probe", mediatest.Clip(t, "01_dog"))
	if code != 0 {
		t.Fatal(stderr)
	}
	for _, want := range []string{"h264 1280x720", "30000/1001 fps", "audio aac 48000 Hz"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("probe output lacks %q:\n%s", want, stdout)
		}
	}
}
