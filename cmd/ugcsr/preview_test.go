package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"image"
	"image/png"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
)

// previewRun is a running ugcsr whose stderr is watched for the preview's address.
type previewRun struct {
	cmd    *exec.Cmd
	url    string        // the page
	stderr *bytes.Buffer // read it once done is closed
	done   chan struct{} // stderr is read to its end
}

var previewURL = regexp.MustCompile(`preview: .*(http://[0-9.:]+/)`)

func startPreview(t *testing.T, stdin io.Reader, stdout io.Writer, args ...string) *previewRun {
	t.Helper()
	r := &previewRun{cmd: exec.Command(binary, args...), stderr: &bytes.Buffer{}, done: make(chan struct{})}
	url := make(chan string, 1)
	r.cmd.Stdin, r.cmd.Stdout = stdin, stdout
	pipe, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.cmd.Process.Kill(); <-r.done; r.cmd.Wait() })
	go func() {
		defer close(r.done)
		sc := bufio.NewScanner(pipe)
		for sc.Scan() {
			r.stderr.WriteString(sc.Text() + "\n")
			if m := previewURL.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case url <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case r.url = <-url:
	case <-r.done:
		r.cmd.Wait()
		t.Fatalf("ugcsr %v printed no preview address:\n%s", args, r.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("ugcsr %v printed no preview address", args)
	}
	return r
}

// wait returns the exit code and stderr.
func (r *previewRun) wait(t *testing.T) (int, string) {
	t.Helper()
	<-r.done
	err := r.cmd.Wait()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), r.stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, r.stderr.String()
}

// events subscribes to the preview's server-sent events and returns a function giving the next
// event's name and data.
func events(t *testing.T, url string) func() (string, string) {
	t.Helper()
	resp, err := http.Get(url + "events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	br := bufio.NewReader(resp.Body)
	return func() (string, string) {
		var name, data string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return "", ""
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "" && name != "":
				return name, data
			case strings.HasPrefix(line, "event: "):
				name = line[7:]
			case strings.HasPrefix(line, "data: "):
				data = line[6:]
			}
		}
	}
}

// TestPreviewJobToPipe: a job writing to a pipe serves its frames, and the page learns that it
// finished when the input ends.
func TestPreviewJobToPipe(t *testing.T) {
	nut := filepath.Join(t.TempDir(), "in.nut")
	mediatest.FFmpeg(t, "-i", smallClip(t), "-c:v", "ffv1", "-c:a", "copy", nut)
	data, err := os.ReadFile(nut)
	if err != nil {
		t.Fatal(err)
	}
	stdin, feed := io.Pipe()
	var out bytes.Buffer
	r := startPreview(t, stdin, &out, "-i", "-", "--model", "lanczos", "--preview", "127.0.0.1:0", "-f", "nut", "-")
	next := events(t, r.url)
	go func() {
		feed.Write(data)
		time.Sleep(100 * time.Millisecond)
		feed.Close()
	}()
	var frames, end string
	for end == "" {
		name, d := next()
		switch name {
		case "frames":
			frames = d
		case "end":
			end = d
		case "":
			t.Fatal("events ended without an end event")
		}
	}
	if code, stderr := r.wait(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if end != `{"state":"finished"}` || !strings.Contains(frames, `"w":320,"h":180`) {
		t.Errorf("end %s, frames %s", end, frames)
	}
	if out.Len() == 0 {
		t.Error("nothing written to the pipe")
	}
}

// TestPreviewInterrupted: Ctrl-C during a job ends the page with "interrupted".
func TestPreviewInterrupted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out.mp4")
	r := startPreview(t, nil, nil, "-i", mediatest.Clip(t, "03_blocks"), "--model", "lanczos", "--preview", "127.0.0.1:0", out)
	next := events(t, r.url)
	for name, _ := next(); name != "frames"; name, _ = next() {
		if name == "" {
			t.Fatal("events ended before a frame")
		}
	}
	r.cmd.Process.Signal(syscall.SIGINT)
	var end string
	for name, d := next(); name != ""; name, d = next() {
		if name == "end" {
			end = d
		}
	}
	if code, stderr := r.wait(t); code != 130 || end != `{"state":"interrupted"}` {
		t.Fatalf("exit %d, end event %q\n%s", code, end, stderr)
	}
}

// TestPreviewPortTaken: a taken port is a one-line error before any work.
func TestPreviewPortTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	out := filepath.Join(t.TempDir(), "out.mp4")
	_, stderr, code := ugcsr(t, nil, "-i", smallClip(t), "--model", "lanczos", "--preview", ln.Addr().String(), out)
	if code != 1 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "address already in use") {
		t.Fatalf("exit %d, stderr %q; want one line saying the address is in use", code, stderr)
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("output written although the preview could not start")
	}
}

func readPNG(t *testing.T, p string) *frame.Frame {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return frame.FromImage(img)
}

func crop(f *frame.Frame, r image.Rectangle) *frame.Frame {
	return frame.FromImage(f.ToRGBA().SubImage(r))
}

// TestPreviewCommandPNG: ugcsr preview -o writes the frame at --at (the middle of three) next to
// its output, found by seeking; --compare puts two outputs side by side.
func TestPreviewCommandPNG(t *testing.T) {
	clip := mediatest.Clip(t, "01_dog")
	dir := t.TempDir()
	side := filepath.Join(dir, "side.png")
	mustRun(t, "preview", "-i", clip, "--at", "3.5", "--frames", "3", "--model", "lanczos", "-s", "1", "-o", side)
	got := readPNG(t, side)
	if got.W != 2560 || got.H != 720 {
		t.Fatalf("side by side is %dx%d, want 2560x720", got.W, got.H)
	}
	at := func(sec string) *frame.Frame {
		p := filepath.Join(dir, "ref"+sec+".png")
		mediatest.FFmpeg(t, "-ss", sec, "-i", clip, "-frames:v", "1", p)
		return readPNG(t, p)
	}
	left := crop(got, image.Rect(0, 0, 1280, 720))
	want, _ := frame.PSNR(left, at("3.5"))
	other, _ := frame.PSNR(left, at("0"))
	if want < 35 || other > want-10 {
		t.Errorf("left half vs the frame at 3.5s: %.1f dB, vs the frame at 0s: %.1f dB", want, other)
	}
	if p, _ := frame.PSNR(left, crop(got, image.Rect(1280, 0, 2560, 720))); p < 30 {
		t.Errorf("output half differs from the input half: %.1f dB", p)
	}

	cmp := filepath.Join(dir, "cmp.png")
	mustRun(t, "preview", "-i", clip, "--at", "1", "--frames", "1", "--model", "lanczos", "-s", "0.5", "--compare", "--model bicubic -s 0.25", "-o", cmp)
	if got := readPNG(t, cmp); got.W != 640 || got.H != 180 {
		t.Fatalf("compare side by side is %dx%d, want 640x180 (B's size twice)", got.W, got.H)
	}
	_, stderr, code := ugcsr(t, nil, "preview", "-i", clip, "--at", "1", "--compare", "--bogus", "-o", cmp, "-y")
	if code != 2 || !strings.Contains(stderr, "--compare") {
		t.Errorf("bad --compare flags: exit %d, %q", code, stderr)
	}
}

// TestPreviewCommandServes: ugcsr preview serves the frames to step through until Ctrl-C.
func TestPreviewCommandServes(t *testing.T) {
	r := startPreview(t, nil, nil, "preview", "-i", mediatest.Clip(t, "02_cups"), "--at", "2", "--frames", "3",
		"--model", "lanczos", "-s", "0.5", "--preview", "127.0.0.1:0")
	next := events(t, r.url)
	var frames, stats string
	for name, d := next(); name != ""; name, d = next() {
		switch name {
		case "frames":
			frames = d
		case "stats":
			stats = d
		}
		if strings.Count(frames, `"seq"`) == 3 && strings.Contains(stats, `"state":"finished"`) {
			break
		}
	}
	var shots []struct {
		Time float64
		W, H int
	}
	if err := json.Unmarshal([]byte(frames), &shots); err != nil || len(shots) != 3 || shots[0].W != 640 || shots[0].H != 360 {
		t.Fatalf("frames %s (%v), stats %s", frames, err, stats)
	}
	if !(shots[0].Time < 2 && math.Abs(shots[1].Time-2) < 0.02 && shots[2].Time > 2) {
		t.Errorf("frames at %v s, %v s, %v s; want them centred on 2 s", shots[0].Time, shots[1].Time, shots[2].Time)
	}
	resp, err := http.Get(r.url + "img/3/b.jpg")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET img/3/b.jpg: %v %v", resp, err)
	}
	resp.Body.Close()
	r.cmd.Process.Signal(syscall.SIGINT)
	if code, stderr := r.wait(t); code != 0 {
		t.Fatalf("exit %d after Ctrl-C\n%s", code, stderr)
	}
}
