// Package preview serves a live look at a job in the browser: the latest input and output frame
// with a before/after split, the job's counters, and a few frames to step through.
//
// The page is built into the binary (page.html). Frames reach it over server-sent events: each
// subscriber has a latest-value slot, never a queue, so a slow or stalled browser gets the newest
// state and skips the rest, and nothing a browser does reaches the job. Server.Frame, the pipeline's
// hook, copies at most one pair of frames at a time, and only while the preview's own goroutine is
// idle; that goroutine encodes JPEGs and then rests, spending about a twentieth of one core at most.
// Memory: that one pair of float32 frames (55 MB for 1280x720 to 2560x1440) and the JPEGs of the
// frames kept (Config.Keep).
package preview

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ugcsr/ugcsr/frame"
)

//go:embed page.html
var page []byte

// The end states Close publishes.
const (
	Finished    = "finished"
	Interrupted = "interrupted"
	Failed      = "failed"
)

// Config describes a preview server.
type Config struct {
	// Addr is where to listen, as host:port; ":8080" or "8080" listen on 127.0.0.1 only.
	Addr string
	// Labels name the two sides of the slider (optional). They default to "input" and "output".
	Labels [2]string
	// Keep is how many frames stay available to step through (optional). It defaults to 8.
	Keep int
	// All shows every frame given to Frame, which then waits for the encoder (ugcsr preview, a few
	// frames) (optional). By default Frame never waits and frames are dropped while the encoder is
	// busy or resting (a live job).
	All bool
	// MinInterval is the shortest time between two frames shown in live mode (optional). It
	// defaults to 200ms; the encoder also rests 19 times as long as it worked.
	MinInterval time.Duration
}

// Stats is the job's progress as the page and GET /stats show it.
type Stats struct {
	State    string         `json:"state"` // running, finished, interrupted, failed
	Frames   int64          `json:"frames"`
	Total    int64          `json:"total"` // 0 when unknown
	FPS      float64        `json:"fps"`
	Elapsed  float64        `json:"elapsed_s"`
	ETA      float64        `json:"eta_s"` // 0 when unknown
	Counters []Counter      `json:"counters"`
	Preview  PreviewCounter `json:"preview"`
}

// Counter is one named count (scene_cuts, reused_tiles, ...).
type Counter struct {
	Key   string `json:"key"`
	Value int64  `json:"value"`
}

// PreviewCounter counts the frames the preview showed and dropped.
type PreviewCounter struct {
	Shown   int64 `json:"shown"`
	Dropped int64 `json:"dropped"`
}

// Server is a running preview. Frame and SetStats may be called from any goroutine; Close ends it.
type Server struct {
	cfg  Config
	ln   net.Listener
	http *http.Server

	free chan *pair // the one pair of frame copies, while the encoder waits for work
	work chan *pair
	quit chan struct{}
	wg   sync.WaitGroup // encoder and HTTP server goroutines

	watchers     atomic.Int64
	shown, drops atomic.Int64
	closeOnce    sync.Once

	mu     sync.Mutex
	subs   map[*slot]struct{}
	frames []shot // newest last, at most Keep
	seq    int64
	stats  Stats
	ended  bool
}

// pair is the preview's own copy of one frame's two sides.
type pair struct {
	a, b *frame.Frame
	t    time.Duration
}

// shot is one encoded frame that can be shown.
type shot struct {
	Seq   int64   `json:"seq"`
	Index int64   `json:"index"`
	Time  float64 `json:"time"`
	W     int     `json:"w"` // the size both sides are shown at: side b's
	H     int     `json:"h"`
	AW    int     `json:"aw"`
	AH    int     `json:"ah"`
	a, b  []byte  // JPEG
}

// Listen binds cfg.Addr and starts serving. It fails at once when the address is taken.
func Listen(cfg Config) (*Server, error) {
	addr, err := ListenAddr(cfg.Addr)
	if err != nil {
		return nil, err
	}
	if cfg.Labels == [2]string{} {
		cfg.Labels = [2]string{"input", "output"}
	}
	if cfg.Keep <= 0 {
		cfg.Keep = 8
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 200 * time.Millisecond
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("preview: %w", err)
	}
	s := &Server{cfg: cfg, ln: ln, free: make(chan *pair, 1), work: make(chan *pair, 1), quit: make(chan struct{}),
		subs: map[*slot]struct{}{}, stats: Stats{State: "running"}}
	s.free <- &pair{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.HandleFunc("GET /events", s.serveEvents)
	mux.HandleFunc("GET /stats", s.serveStats)
	mux.HandleFunc("GET /img/{seq}/{side}", s.serveImage)
	s.http = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		s.http.Serve(ln) // returns http.ErrServerClosed after Close
	}()
	go func() {
		defer s.wg.Done()
		s.encodeLoop()
	}()
	return s, nil
}

// ListenAddr resolves the --preview address: a missing host means 127.0.0.1.
func ListenAddr(addr string) (string, error) {
	if _, err := strconv.Atoi(addr); err == nil {
		addr = ":" + addr
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "", fmt.Errorf("preview: bad address %q (want [HOST]:PORT)", addr)
	}
	if host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port), nil
}

// URL is the page's address.
func (s *Server) URL() string {
	a := s.ln.Addr().(*net.TCPAddr)
	host := a.IP.String()
	if a.IP.IsUnspecified() {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(a.Port)) + "/"
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// Frame offers one frame: a is shown on the left of the split (the input), b on the right (the
// output), t is a's time. Both are lent for the call and only read: Frame copies them, if it takes
// them at all. In live mode it never waits: it drops the frame when nobody watches or the encoder
// is busy or resting. With Config.All it waits for the encoder.
func (s *Server) Frame(a, b *frame.Frame, t time.Duration) {
	var p *pair
	if s.cfg.All {
		select {
		case p = <-s.free:
		case <-s.quit:
			return
		}
	} else {
		if s.watchers.Load() == 0 {
			return
		}
		select {
		case p = <-s.free:
		default:
			s.drops.Add(1)
			return
		}
	}
	p.a, p.b, p.t = copyFrame(p.a, a), copyFrame(p.b, b), t
	s.work <- p // never blocks: there is one pair and work holds one
}

// copyFrame copies src's pixels and metadata into dst, reallocating it when the size differs.
func copyFrame(dst, src *frame.Frame) *frame.Frame {
	if dst == nil || dst.W != src.W || dst.H != src.H {
		dst = frame.New(src.W, src.H)
	}
	copy(dst.Pix, src.Pix)
	dst.CopyMeta(src)
	return dst
}

// encodeLoop turns offered pairs into JPEGs and publishes them, then rests (live mode).
func (s *Server) encodeLoop() {
	var enc encoder
	for {
		var p *pair
		select {
		case p = <-s.work:
		case <-s.quit:
			return
		}
		start := time.Now()
		sh := shot{Index: p.a.Index, Time: p.t.Seconds(), W: p.b.W, H: p.b.H, AW: p.a.W, AH: p.a.H}
		sh.a, sh.b = enc.jpeg(p.a), enc.jpeg(p.b)
		s.publishShot(sh)
		if !s.cfg.All {
			rest := max(s.cfg.MinInterval-time.Since(start), 19*time.Since(start))
			select {
			case <-time.After(rest):
			case <-s.quit:
				return
			}
		}
		s.free <- p
	}
}

func (s *Server) publishShot(sh shot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sh.Seq = s.seq
	s.frames = append(s.frames, sh)
	if n := len(s.frames) - s.cfg.Keep; n > 0 {
		s.frames = append(s.frames[:0:0], s.frames[n:]...)
	}
	s.shown.Add(1)
	data := s.framesEvent()
	for sub := range s.subs {
		sub.set(kindFrames, data)
	}
}

// framesEvent is the "frames" event: every kept frame, newest last. The caller holds mu.
func (s *Server) framesEvent() []byte {
	data, _ := json.Marshal(s.frames)
	return data
}

// SetStats publishes the job's progress; its State is kept as the server's own.
func (s *Server) SetStats(st Stats) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ended {
		return
	}
	st.State = s.stats.State
	s.stats = st
	data := s.statsJSON()
	for sub := range s.subs {
		sub.set(kindStats, data)
	}
}

// statsJSON encodes the stats. The caller holds mu.
func (s *Server) statsJSON() []byte {
	st := s.stats
	st.Preview = PreviewCounter{Shown: s.shown.Load(), Dropped: s.drops.Load()}
	if st.Counters == nil {
		st.Counters = []Counter{}
	}
	data, _ := json.Marshal(st)
	return data
}

// Close ends the preview: the page shows state (Finished, Interrupted, Failed), every subscriber
// is sent its last events and closed, and the server stops. A subscriber that does not take its
// last events within a second is cut off. Close waits for every goroutine of the server and is
// idempotent: later calls do nothing.
func (s *Server) Close(state string) {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.mu.Lock()
		s.ended = true
		s.stats.State = state
		data := s.statsJSON()
		end, _ := json.Marshal(map[string]string{"state": state})
		for sub := range s.subs {
			sub.set(kindStats, data)
			sub.set(kindEnd, end)
		}
		s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if e := s.http.Shutdown(ctx); e != nil {
			s.http.Close() // cut off subscribers that stalled
		}
		s.wg.Wait()
	})
}

// SetState changes the state the page shows without ending the server (ugcsr preview: every
// frame is ready).
func (s *Server) SetState(state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.State = state
	data := s.statsJSON()
	for sub := range s.subs {
		sub.set(kindStats, data)
	}
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(page)
}

func (s *Server) serveStats(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data := s.statsJSON()
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(append(data, '\n'))
}

func (s *Server) serveImage(w http.ResponseWriter, r *http.Request) {
	seq, err := strconv.ParseInt(r.PathValue("seq"), 10, 64)
	side := strings.TrimSuffix(r.PathValue("side"), ".jpg")
	if err != nil || (side != "a" && side != "b") {
		http.NotFound(w, r)
		return
	}
	var img []byte
	s.mu.Lock()
	for _, sh := range s.frames {
		if sh.Seq == seq {
			img = map[string][]byte{"a": sh.a, "b": sh.b}[side]
		}
	}
	s.mu.Unlock()
	if img == nil {
		http.Error(w, "frame no longer kept", http.StatusGone)
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	w.Header().Set("Cache-Control", "max-age=3600, immutable")
	w.Write(img)
}

// serveEvents streams server-sent events: hello once, then the latest frames, stats and end state
// whenever they change. A stalled browser holds up only this handler, which a write deadline ends.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	sub := newSlot()
	hello, _ := json.Marshal(map[string]any{"labels": s.cfg.Labels, "keep": s.cfg.Keep, "all": s.cfg.All})
	sub.set(kindHello, hello)
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		http.Error(w, "preview: the job has ended", http.StatusServiceUnavailable)
		return
	}
	if len(s.frames) > 0 {
		sub.set(kindFrames, s.framesEvent())
	}
	sub.set(kindStats, s.statsJSON())
	s.subs[sub] = struct{}{}
	s.watchers.Add(1)
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.watchers.Add(-1)
		s.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	rc := http.NewResponseController(w)
	for {
		evs := sub.take()
		if len(evs) > 0 {
			rc.SetWriteDeadline(time.Now().Add(10 * time.Second))
			for _, ev := range evs {
				if _, err := fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.kind, ev.data); err != nil {
					return
				}
			}
			if err := rc.Flush(); err != nil {
				return
			}
			if evs[len(evs)-1].kind == kindEnd {
				return
			}
		}
		select {
		case <-sub.notify:
		case <-r.Context().Done():
			return
		}
	}
}
