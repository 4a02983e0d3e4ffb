package preview

import (
	"bufio"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ugcsr/ugcsr/frame"
)

// client never keeps connections, so that goroutine counts settle.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 20 * time.Second}

// checkNoLeak fails t when goroutines started during the test outlive it.
func checkNoLeak(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines left behind:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}

func listen(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Addr == "" {
		cfg.Addr = ":0"
	}
	s, err := Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(Finished) })
	return s
}

// testFrame is a w x h frame of one grey level v, numbered index.
func testFrame(w, h int, index int64, v float32) *frame.Frame {
	f := frame.New(w, h)
	for i := range f.Pix {
		f.Pix[i] = v
	}
	f.Index = index
	return f
}

// sse reads server-sent events.
type sse struct {
	r    *bufio.Reader
	body io.Closer
}

func subscribe(t *testing.T, s *Server) *sse {
	t.Helper()
	resp, err := client.Get(s.URL() + "events")
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /events: %s", resp.Status)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &sse{r: bufio.NewReader(resp.Body), body: resp.Body}
}

// next returns the next event's name and data.
func (e *sse) next() (string, string, error) {
	var name, data string
	for {
		line, err := e.r.ReadString('\n')
		if err != nil {
			return "", "", err
		}
		line = strings.TrimRight(line, "\n")
		switch {
		case line == "" && name != "":
			return name, data, nil
		case strings.HasPrefix(line, "event: "):
			name = line[len("event: "):]
		case strings.HasPrefix(line, "data: "):
			data = line[len("data: "):]
		}
	}
}

// until reads events until one named name whose data satisfies ok.
func (e *sse) until(t *testing.T, name string, ok func(data string) bool) string {
	t.Helper()
	for {
		n, d, err := e.next()
		if err != nil {
			t.Fatalf("waiting for event %q: %v", name, err)
		}
		if n == name && ok(d) {
			return d
		}
	}
}

func TestListenAddr(t *testing.T) {
	for in, want := range map[string]string{
		":8080":          "127.0.0.1:8080",
		"8080":           "127.0.0.1:8080",
		"0.0.0.0:8080":   "0.0.0.0:8080",
		"localhost:9000": "localhost:9000",
		"[::1]:80":       "[::1]:80",
	} {
		if got, err := ListenAddr(in); err != nil || got != want {
			t.Errorf("ListenAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "host", "host:"} {
		if _, err := ListenAddr(bad); err == nil {
			t.Errorf("ListenAddr(%q) accepted", bad)
		}
	}
}

func TestListenLoopbackByDefault(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{Addr: ":0"})
	if ip := s.Addr().(*net.TCPAddr).IP; !ip.IsLoopback() {
		t.Fatalf("listening on %v, want loopback only", ip)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s", s.URL())
	}
}

func TestListenPortTaken(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{})
	_, err := Listen(Config{Addr: s.Addr().String()})
	if err == nil || !strings.Contains(err.Error(), "address already in use") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("second Listen on %s: %v; want a one-line 'address already in use'", s.Addr(), err)
	}
}

func TestSlotKeepsLatest(t *testing.T) {
	sl := newSlot()
	for i := 0; i < 1000; i++ {
		sl.set(kindStats, []byte(fmt.Sprint(i)))
	}
	sl.set(kindFrames, []byte("f"))
	evs := sl.take()
	if len(evs) != 2 || evs[0].kind != kindFrames || evs[1].kind != kindStats || string(evs[1].data) != "999" {
		t.Fatalf("take after 1000 stats and a frame: %v, want frames then the latest stats", evs)
	}
	if evs := sl.take(); len(evs) != 0 {
		t.Fatalf("second take: %v", evs)
	}
}

// TestPageAndFrames follows a frame from Frame to the page's event and its two JPEGs, and the
// counters to GET /stats.
func TestPageAndFrames(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{})
	resp, err := client.Get(s.URL())
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "EventSource") || strings.Contains(string(body), "http://") || strings.Contains(string(body), "https://") {
		t.Fatalf("page: %d bytes, want the embedded page with no external assets", len(body))
	}

	ev := subscribe(t, s)
	ev.until(t, "hello", func(string) bool { return true })
	in, out := testFrame(16, 8, 42, 0.25), testFrame(32, 16, 42, 0.75)
	s.Frame(in, out, 1400*time.Millisecond)
	data := ev.until(t, "frames", func(string) bool { return true })
	var shots []shot
	if err := json.Unmarshal([]byte(data), &shots); err != nil || len(shots) != 1 {
		t.Fatalf("frames event %s: %v", data, err)
	}
	if sh := shots[0]; sh.Index != 42 || sh.Time != 1.4 || sh.W != 32 || sh.H != 16 || sh.AW != 16 {
		t.Fatalf("frame event %+v, want frame 42 at 1.4s, 32x16 from 16x8", sh)
	}
	for side, want := range map[string][2]int{"a": {16, 64}, "b": {32, 191}} {
		resp, err := client.Get(fmt.Sprintf("%simg/%d/%s.jpg", s.URL(), shots[0].Seq, side))
		if err != nil {
			t.Fatal(err)
		}
		img, err := jpeg.Decode(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("side %s: %v", side, err)
		}
		r, _, _, _ := img.At(3, 3).RGBA()
		if img.Bounds().Dx() != want[0] || abs(int(r>>8)-want[1]) > 2 {
			t.Errorf("side %s: %v wide, red %d; want %d wide, red %d", side, img.Bounds().Dx(), r>>8, want[0], want[1])
		}
	}

	s.SetStats(Stats{Frames: 7, Total: 10, FPS: 2.5, Counters: []Counter{{"scene_cuts", 3}, {"reused_tiles", 12}}})
	resp, err = client.Get(s.URL() + "stats")
	if err != nil {
		t.Fatal(err)
	}
	var st Stats
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil || st.State != "running" || st.Frames != 7 || len(st.Counters) != 2 || st.Counters[0] != (Counter{"scene_cuts", 3}) || st.Preview.Shown != 1 {
		t.Fatalf("GET /stats: %+v, %v", st, err)
	}
}

func abs(v int) int { return max(v, -v) }

// stalledConn subscribes to /events over a connection that never reads, with the smallest
// receive buffer, so the server's writes to it block once the socket buffers are full.
func stalledConn(t *testing.T, s *Server) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		c.Control(func(fd uintptr) { syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 1) })
		return nil
	}}
	c, err := d.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "GET /events HTTP/1.1\r\nHost: x\r\n\r\n")
	return c
}

// bigStats makes stats events of about 64 KB, which fill socket buffers quickly.
func bigStats(i int) Stats {
	return Stats{Frames: int64(i), Counters: []Counter{{strings.Repeat("x", 64<<10), int64(i)}}}
}

// TestStalledSubscriber: a browser that never reads holds up neither the publisher nor another
// browser, and once it reads it gets the latest state, not a queue of old ones.
func TestStalledSubscriber(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{MinInterval: time.Millisecond})
	stalled := stalledConn(t, s)
	for s.watchers.Load() < 1 {
		time.Sleep(time.Millisecond)
	}
	const n = 500
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= n; i++ { // about 32 MB of events for the stalled one
			s.SetStats(bigStats(i))
			s.Frame(testFrame(8, 8, int64(i), 0.5), testFrame(16, 16, int64(i), 0.5), 0)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the publisher is blocked by a subscriber that does not read")
	}

	// Another browser still gets the newest state.
	ev := subscribe(t, s)
	ev.until(t, "stats", func(d string) bool { return strings.Contains(d, fmt.Sprintf(`"frames":%d,`, n)) })

	// The stalled one, reading at last while the server closes, gets few events, the newest last.
	type result struct {
		got  int
		last string
	}
	read := make(chan result)
	go func() {
		stalled.SetReadDeadline(time.Now().Add(20 * time.Second))
		r := bufio.NewReaderSize(stalled, 1<<20)
		var res result
		name := ""
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				break
			}
			if strings.HasPrefix(line, "event: ") {
				name = line
			}
			if name == "event: stats\n" && strings.HasPrefix(line, "data: ") {
				res.got++
				res.last = line
			}
		}
		read <- res
	}()
	s.Close(Finished)
	res := <-read
	got, last := res.got, res.last
	t.Logf("the stalled subscriber got %d of %d stats events", got, n)
	if got > 120 {
		t.Errorf("the stalled subscriber was sent %d of %d stats events: they were queued, not replaced", got, n)
	}
	if !strings.Contains(last, `{"state":"finished","frames":500,`) {
		t.Errorf("the stalled subscriber's last stats are not the newest: %.80s", last)
	}
}

// TestClose: Close sends every subscriber the end state and leaves no goroutine behind, with a
// stalled subscriber attached, before any frame, and when called twice.
func TestClose(t *testing.T) {
	for _, state := range []string{Finished, Interrupted} {
		t.Run(state, func(t *testing.T) {
			checkNoLeak(t)
			s := listen(t, Config{})
			stalledConn(t, s)
			ev := subscribe(t, s)
			ev.until(t, "hello", func(string) bool { return true })
			for s.watchers.Load() < 2 {
				time.Sleep(time.Millisecond)
			}
			for i := 0; i < 40; i++ {
				s.SetStats(bigStats(i)) // fill the stalled one's buffers
			}
			closed := make(chan struct{})
			go func() { s.Close(state); close(closed) }()
			d := ev.until(t, "end", func(string) bool { return true })
			if d != fmt.Sprintf(`{"state":%q}`, state) {
				t.Errorf("end event %s, want state %s", d, state)
			}
			if _, _, err := ev.next(); err != io.EOF {
				t.Errorf("after the end event: %v, want EOF", err)
			}
			select {
			case <-closed:
			case <-time.After(10 * time.Second):
				t.Fatal("Close is blocked by a stalled subscriber")
			}
			s.Close(state)                                           // idempotent
			s.Frame(testFrame(4, 4, 0, 0), testFrame(8, 8, 0, 0), 0) // ignored
			if _, err := client.Get(s.URL() + "stats"); err == nil {
				t.Error("still serving after Close")
			}
		})
	}
}

// TestCloseAll: with Config.All, Frame after Close returns instead of waiting for the encoder.
func TestCloseAll(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{All: true})
	s.Close(Finished)
	done := make(chan struct{})
	go func() {
		for i := 0; i < 3; i++ {
			s.Frame(testFrame(4, 4, 0, 0), testFrame(8, 8, 0, 0), 0)
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Frame blocks after Close")
	}
}

// TestAllKeepsEveryFrame: with Config.All every frame offered is shown and kept to step through.
func TestAllKeepsEveryFrame(t *testing.T) {
	checkNoLeak(t)
	s := listen(t, Config{All: true, Keep: 5})
	for i := 0; i < 5; i++ {
		s.Frame(testFrame(4, 4, int64(i), 0), testFrame(8, 8, int64(i), 0), 0)
	}
	ev := subscribe(t, s)
	ev.until(t, "frames", func(d string) bool {
		var shots []shot
		json.Unmarshal([]byte(d), &shots)
		return len(shots) == 5 && shots[4].Index == 4
	})
}
