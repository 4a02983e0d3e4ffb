package preview_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/ugcsr/ugcsr/decode"
	"github.com/ugcsr/ugcsr/encode"
	"github.com/ugcsr/ugcsr/frame"
	"github.com/ugcsr/ugcsr/internal/mediatest"
	"github.com/ugcsr/ugcsr/internal/testenv"
	"github.com/ugcsr/ugcsr/pipeline"
	"github.com/ugcsr/ugcsr/preview"
)

var update = flag.Bool("update", false, "rewrite docs/preview.jpg, the README's screenshot")

// clipFrames upscales the first n frames of a 480x270 cut of a shared clip with lanczos and
// returns copies of what the pipeline showed its observer.
func clipFrames(t *testing.T, n int) (in, out []*frame.Frame, at []time.Duration) {
	t.Helper()
	small := filepath.Join(t.TempDir(), "small.mp4")
	mediatest.FFmpeg(t, "-i", mediatest.Clip(t, "01_dog"), "-ss", "1", "-frames:v", fmt.Sprint(n), "-vf", "scale=480:270", "-an", small)
	clone := func(f *frame.Frame) *frame.Frame {
		c := frame.New(f.W, f.H)
		copy(c.Pix, f.Pix)
		c.CopyMeta(f)
		return c
	}
	_, err := pipeline.Run(context.Background(), pipeline.Config{
		Input: decode.Options{Input: small}, Output: encode.Options{Output: "-", Format: "null"}, Model: "lanczos", Scale: 2,
		Observe: func(src, dst *frame.Frame, t time.Duration) {
			in, out, at = append(in, clone(src)), append(out, clone(dst)), append(at, t)
		},
	})
	if err != nil || len(in) != n {
		t.Fatalf("pipeline: %d frames, %v", len(in), err)
	}
	return in, out, at
}

// browser starts headless chromium and collects the page's console errors and exceptions.
func browser(t *testing.T) (context.Context, func() []string) {
	t.Helper()
	chrome, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Skip(t, "chromium not found: run scripts/setup.sh")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chrome), chromedp.NoSandbox,
		chromedp.WindowSize(1000, 640), chromedp.Flag("hide-scrollbars", true))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// This cdproto predates some enum values newer chromium sends in network events, which the
	// page does not use: chromedp's complaints about those are dropped.
	quiet := func(format string, args ...any) {
		if msg := fmt.Sprintf(format, args...); !strings.Contains(msg, "could not unmarshal event") {
			t.Log(msg)
		}
	}
	ctx, cancelCtx := chromedp.NewContext(actx, chromedp.WithErrorf(quiet), chromedp.WithLogf(quiet))
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })

	var mu sync.Mutex
	var errs []string
	chromedp.ListenTarget(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch ev := ev.(type) {
		case *runtime.EventExceptionThrown:
			errs = append(errs, "exception: "+ev.ExceptionDetails.Error())
		case *runtime.EventConsoleAPICalled:
			if ev.Type == runtime.APITypeError || ev.Type == runtime.APITypeWarning {
				errs = append(errs, fmt.Sprintf("console.%s", ev.Type))
			}
		case *cdplog.EventEntryAdded:
			if ev.Entry.Level == cdplog.LevelError {
				errs = append(errs, "log: "+ev.Entry.Text+" "+ev.Entry.URL)
			}
		}
	})
	if err := chromedp.Run(ctx, cdplog.Enable()); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), errs...) }
}

type rect struct{ X, Y, W, H float64 }

func box(sel string) string {
	return fmt.Sprintf(`(() => { const r = document.querySelector(%q).getBoundingClientRect(); return {X: r.x, Y: r.y, W: r.width, H: r.height}; })()`, sel)
}

// TestBrowser drives the page in headless chromium: frames pushed show with their numbers, the
// slider moves the split, zoom shows whole pixels, panning keeps the sides aligned, the end state
// shows, and nothing goes to the console. The screenshot it takes is the README's (-update).
func TestBrowser(t *testing.T) {
	ctx, consoleErrors := browser(t)
	in, out, at := clipFrames(t, 4)
	s, err := preview.Listen(preview.Config{Addr: ":0", All: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(preview.Interrupted)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	waitFor := func(what, cond string) {
		t.Helper()
		run(what, chromedp.Poll(cond, nil, chromedp.WithPollingTimeout(15*time.Second)))
	}
	text := func(sel string) string {
		t.Helper()
		var v string
		run("read "+sel, chromedp.Text(sel, &v, chromedp.ByQuery))
		return v
	}

	run("load the page", chromedp.Navigate(s.URL()))
	waitFor("state running", `document.querySelector("#state").textContent === "running"`)
	prev := ""
	for i := range in {
		s.SetStats(preview.Stats{Frames: int64(i + 1), Total: 4, FPS: 2.5, ETA: float64(3 - i),
			Counters: []preview.Counter{{Key: "scene_cuts", Value: 1}, {Key: "sam_encoder_runs", Value: 2}, {Key: "reused_tiles", Value: int64(10 * i)}}})
		s.Frame(in[i], out[i], at[i])
		waitFor(fmt.Sprintf("frame %d shown", in[i].Index), fmt.Sprintf(`document.querySelector("#frameno").textContent === "%d"`, in[i].Index))
		var src string
		var ok bool
		run("output image", chromedp.AttributeValue("#b", "src", &src, &ok, chromedp.ByQuery))
		if src == prev {
			t.Fatalf("frame %d: the output image is still %s", in[i].Index, src)
		}
		prev = src
	}
	if got := text("#fps"); got != "2.50" {
		t.Errorf("fps shows %q", got)
	}
	if got := text("#counters"); !strings.Contains(got, "scene cuts1") || !strings.Contains(got, "reused tiles30") {
		t.Errorf("counters show %q", got)
	}

	// The slider moves the split: click it at 20% of its width.
	var slider, stage, line rect
	run("slider", chromedp.Evaluate(box("#split"), &slider))
	run("drag the slider", chromedp.MouseClickXY(slider.X+0.2*slider.W, slider.Y+slider.H/2))
	run("split", chromedp.Evaluate(box("#stage"), &stage), chromedp.Evaluate(box("#line"), &line))
	if split := (line.X + line.W/2 - stage.X) / stage.W; split < 0.15 || split > 0.25 {
		t.Errorf("the split line is at %.2f of the picture after moving the slider to 0.2", split)
	}

	// Zoom 200%: every picture pixel is a 2x2 block on screen.
	run("zoom 200%", chromedp.Click("#z200", chromedp.ByQuery))
	run("stage", chromedp.Evaluate(box("#stage"), &stage))
	if stage.W != 2*float64(out[0].W) {
		t.Fatalf("at 200%% the %d px wide output is %v px wide", out[0].W, stage.W)
	}
	if pairs := blockPairs(t, ctx); pairs < 0.97 {
		t.Errorf("at 200%% only %.2f of neighbouring screen columns pair up: pixels are smoothed, not shown", pairs)
	}
	// Panning moves both sides together.
	var view, a, b rect
	run("view", chromedp.Evaluate(box("#view"), &view))
	x, y := view.X+view.W/2, view.Y+view.H/2
	run("pan", chromedp.MouseEvent(input.MousePressed, x, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.MouseMoved, x-60, y-40, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.MouseReleased, x-60, y-40, chromedp.ButtonLeft))
	var moved rect
	run("after panning", chromedp.Evaluate(box("#stage"), &moved), chromedp.Evaluate(box("#a"), &a), chromedp.Evaluate(box("#b"), &b))
	if moved.X != stage.X-60 || moved.Y != stage.Y-40 || a != b {
		t.Errorf("pan by (-60,-40): stage %v -> %v, input %v, output %v", stage, moved, a, b)
	}

	// Back to the whole picture, split in the middle; the job ends; the screenshot.
	run("fit", chromedp.Click("#zfit", chromedp.ByQuery), chromedp.Click("#prev", chromedp.ByQuery),
		chromedp.Evaluate(`(() => { const s = document.querySelector("#split"); s.value = 50; s.dispatchEvent(new Event("input")); })()`, nil))
	waitFor("stepped back", fmt.Sprintf(`document.querySelector("#frameno").textContent === "%d"`, in[2].Index))
	s.Close(preview.Finished)
	waitFor("state finished", `document.querySelector("#state").textContent === "finished"`)
	var shot []byte
	run("screenshot", chromedp.ActionFunc(func(ctx context.Context) (err error) {
		shot, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatJpeg).WithQuality(85).Do(ctx)
		return err
	}))
	path := filepath.Join(os.TempDir(), "ugcsr-preview.jpg")
	if *update {
		path = filepath.Join(mediatest.RepoRoot(t), "docs", "preview.jpg")
	}
	if err := os.WriteFile(path, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s (%d KB)", path, len(shot)>>10)
	if errs := consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors:\n%s", strings.Join(errs, "\n"))
	}
}

// blockPairs screenshots the middle of the view and returns the share of screen columns equal to
// their right neighbour, at the better of the two parities: 1 when pixels are 2x2 blocks.
func blockPairs(t *testing.T, ctx context.Context) float64 {
	t.Helper()
	var view struct{ X, Y, W, H float64 }
	var buf []byte
	err := chromedp.Run(ctx, chromedp.Evaluate(box("#view"), &view), chromedp.ActionFunc(func(ctx context.Context) (err error) {
		clip := &page.Viewport{X: view.X + view.W/2 - 100, Y: view.Y + view.H/2 - 60, Width: 200, Height: 120, Scale: 1}
		buf, err = page.CaptureScreenshot().WithFormat(page.CaptureScreenshotFormatPng).WithClip(clip).Do(ctx)
		return err
	}))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	best := 0.0
	for parity := 0; parity < 2; parity++ {
		same, all := 0, 0
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X + parity; x+1 < r.Max.X; x += 2 {
				all++
				if img.At(x, y) == img.At(x+1, y) {
					same++
				}
			}
		}
		best = max(best, float64(same)/float64(all))
	}
	return best
}
