//go:build linux

package ort

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The variables that turn the test binary, re-executed by TestStandInControl, into a child that
// loads the stand-in at $envStandIn (wrapped in keepSignals when $envStandInKeep is 1), sends itself
// SIGINT and exits with childDelivered or childNotDelivered.
const (
	envStandIn     = "UGCSR_TEST_SIGSTANDIN"
	envStandInKeep = "UGCSR_TEST_SIGSTANDIN_KEEP"

	childDelivered    = 10
	childNotDelivered = 11
)

// standInSignals are the signals testdata/sigstandin.c replaces, in signal order.
var standInSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGSEGV, syscall.SIGTERM}

// buildStandIn compiles testdata/sigstandin.c with $CC (default cc) into a new shared library in
// t's temporary directory. Each call makes a new file, so its constructor runs again when loaded
// even in a process that loaded an earlier copy. Without a C compiler it skips t, or fails it when
// $UGCSR_REQUIRE_ORT is 1.
func buildStandIn(t *testing.T) string {
	t.Helper()
	cc := strings.Fields(os.Getenv("CC"))
	if len(cc) == 0 {
		cc = []string{"cc"}
	}
	if _, err := exec.LookPath(cc[0]); err != nil {
		TestSkip(t, "no C compiler for the signal stand-in: %v", err)
	}
	lib := filepath.Join(t.TempDir(), "libsigstandin.so")
	args := append(cc[1:], "-shared", "-fPIC", "-o", lib, filepath.Join("testdata", "sigstandin.c"))
	if out, err := exec.Command(cc[0], args...).CombinedOutput(); err != nil {
		t.Fatalf("compile the signal stand-in: %v\n%s", err, out)
	}
	return lib
}

func guardSaves() int {
	sigGuard.mu.Lock()
	defer sigGuard.mu.Unlock()
	return sigGuard.saves
}

// TestKeepSignalsStandIn loads the stand-in inside keepSignals, as NewSession wraps a GPU session,
// and checks Go still gets SIGINT and SIGTERM through signal.Notify and still turns a nil
// dereference into a panic.
func TestKeepSignalsStandIn(t *testing.T) {
	lib := buildStandIn(t)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT, syscall.SIGTERM)
	defer signal.Stop(ch)
	before := saveSignals()
	if before == nil {
		t.Fatal("saveSignals: out of memory")
	}
	defer before.free()

	saves := guardSaves()
	restore := keepSignals(t.Logf)
	err := dlopenLocal(lib)
	replaced := before.changed()
	restored := restore()
	if err != nil {
		t.Fatalf("load the stand-in: %v", err)
	}
	if !slices.Equal(replaced, standInSignals) {
		t.Fatalf("the stand-in replaced the handlers of %v, want %v", replaced, standInSignals)
	}
	if n := guardSaves() - saves; n != 1 {
		t.Errorf("keepSignals took %d snapshots, want 1", n)
	}
	if !slices.Equal(restored, standInSignals) {
		t.Errorf("keepSignals restored %v, want %v", restored, standInSignals)
	}
	// Checked before any signal is sent: with the stand-in's handler in place, the signal would end
	// the test binary.
	if left := before.changed(); len(left) != 0 {
		t.Fatalf("after keepSignals the handlers of %v are still not Go's", left)
	}
	if again := restore(); !slices.Equal(again, restored) {
		t.Errorf("a second restore returned %v, want the first's %v", again, restored)
	}

	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		if err := syscall.Kill(os.Getpid(), sig); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-ch:
			if got != sig {
				t.Errorf("sent %v, signal.Notify got %v", sig, got)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("sent %v, signal.Notify got nothing in 5 s", sig)
		}
	}
	var p *int
	r := func() (r any) {
		defer func() { r = recover() }()
		return *p
	}()
	if _, ok := r.(runtime.Error); !ok {
		t.Errorf("nil dereference: recovered %v, want a runtime.Error", r)
	}
}

// TestKeepSignalsOverlapping checks two overlapping guarded sections, as two workers creating GPU
// sessions at once: the provider is loaded during the first, the second starts after the load and
// the first ends before the second. The second must not take the replaced handlers for the ones to
// return to, and the first must not restore while the second is still setting up.
func TestKeepSignalsOverlapping(t *testing.T) {
	lib := buildStandIn(t)
	before := saveSignals()
	if before == nil {
		t.Fatal("saveSignals: out of memory")
	}
	defer before.free()
	saves := guardSaves()
	first := keepSignals(t.Logf)
	err := dlopenLocal(lib)
	second := keepSignals(t.Logf)
	early := first()
	late := second()
	if err != nil {
		t.Fatalf("load the stand-in: %v", err)
	}
	if left := before.changed(); len(left) != 0 {
		t.Fatalf("after both sections the handlers of %v are not Go's", left)
	}
	if len(early) != 0 || !slices.Equal(late, standInSignals) {
		t.Errorf("the first section to end restored %v and the last %v, want none and %v", early, late, standInSignals)
	}
	if n := guardSaves() - saves; n != 1 {
		t.Errorf("overlapping sections took %d snapshots, want 1", n)
	}
}

// TestStandInControl shows the stand-in does break signal delivery, so that TestKeepSignalsStandIn
// proves something: a child process loads it without keepSignals and does not get its own SIGINT
// (it dies by it, the stand-in's handler having re-raised it), while a child that loads it inside
// keepSignals does.
func TestStandInControl(t *testing.T) {
	if lib := os.Getenv(envStandIn); lib != "" {
		standInChild(lib, os.Getenv(envStandInKeep) == "1")
		return
	}
	lib := buildStandIn(t)
	for _, keep := range []bool{false, true} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestStandInControl$", "-test.count=1")
		cmd.Env = append(os.Environ(), envStandIn+"="+lib, fmt.Sprintf("%s=%d", envStandInKeep, map[bool]int{false: 0, true: 1}[keep]))
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if ee == nil {
			t.Fatalf("keep=%v: the child exited 0; stdout %q, stderr %q", keep, stdout.String(), stderr.String())
		}
		ws := ee.Sys().(syscall.WaitStatus)
		t.Logf("keep=%v: child %v; stdout %q, stderr %q", keep, ee, stdout.String(), stderr.String())
		switch {
		case keep && (ws.Signaled() || ws.ExitStatus() != childDelivered):
			t.Errorf("child loading the stand-in inside keepSignals: %v, want exit %d (SIGINT delivered)", ee, childDelivered)
		case !keep && !(ws.Signaled() && ws.Signal() == syscall.SIGINT) && ws.ExitStatus() != childNotDelivered:
			t.Errorf("child loading the stand-in without keepSignals: %v, want death by SIGINT or exit %d (not delivered)", ee, childNotDelivered)
		case !keep && !strings.Contains(stderr.String(), "sigstandin: caught signal 02"):
			t.Errorf("child loading the stand-in without keepSignals: its handler did not run")
		}
	}
}

// standInChild is the child of TestStandInControl. It never returns.
func standInChild(lib string, keep bool) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT)
	restore := func() []syscall.Signal { return nil }
	if keep {
		restore = keepSignals(nil)
	}
	err := dlopenLocal(lib)
	restore()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	select {
	case <-ch:
		fmt.Println("delivered")
		os.Exit(childDelivered)
	case <-time.After(3 * time.Second):
		fmt.Println("not delivered")
		os.Exit(childNotDelivered)
	}
}

// TestNewSessionKeepsSignals checks NewSession guards exactly its GPU sessions with keepSignals and
// leaves every handler as it found it. Without a GPU the CUDA and TensorRT sessions fail (the guard
// still runs); on a GPU machine with a GPU-capable ONNX Runtime this is the real check of what the
// provider does, and the log shows which handlers it replaced.
func TestNewSessionKeepsSignals(t *testing.T) {
	TestLoad(t)
	model := Model{Data: depthToSpaceModel(t)}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGINT)
	defer signal.Stop(ch)
	before := saveSignals()
	if before == nil {
		t.Fatal("saveSignals: out of memory")
	}
	defer before.free()
	var notes []string // logged after the checks
	defer func() {
		for _, n := range notes {
			t.Log(n)
		}
	}()
	logf := func(format string, args ...any) { notes = append(notes, fmt.Sprintf(format, args...)) }
	for _, d := range []Device{DeviceCPU, DeviceCUDA, DeviceTensorRT} {
		saves := guardSaves()
		s, err := NewSession(model, Config{Device: d, Threads: 1, Logf: logf})
		if err != nil && !errors.Is(err, ErrDeviceUnavailable) {
			t.Errorf("%v: %v", d, err)
		}
		if err == nil {
			logf("%v: session on %v", d, s.Device())
			s.Close()
		} else {
			logf("%v: %v", d, err)
		}
		want := 1
		if d == DeviceCPU {
			want = 0
		}
		if n := guardSaves() - saves; n != want {
			t.Errorf("%v: NewSession took %d signal snapshots, want %d", d, n, want)
		}
		if left := before.changed(); len(left) != 0 {
			t.Fatalf("after a %v session the handlers of %v are not Go's", d, left)
		}
	}
	sigGuard.mu.Lock()
	depth := sigGuard.depth
	sigGuard.mu.Unlock()
	if depth != 0 {
		t.Errorf("%d guarded sections left open", depth)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	case <-time.After(5 * time.Second):
		t.Fatal("sent SIGINT, signal.Notify got nothing in 5 s")
	}
}
