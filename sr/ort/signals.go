//go:build unix

package ort

/*
#cgo linux LDFLAGS: -ldl
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// Signals 1..64 fit one bit each (bit sig-1) of a uint64_t; NSIG is 65 with glibc, 32 on macOS.
#define UGCSR_NSIG (NSIG < 65 ? NSIG : 65)

#if defined(__linux__) && !defined(SA_RESTORER)
#define SA_RESTORER 0x04000000
#endif
#ifndef SA_RESTORER
#define SA_RESTORER 0
#endif

// ugcsr_sigsnap holds the action of every signal that sigaction could read (bit sig-1 of have).
typedef struct {
	uint64_t have;
	struct sigaction act[UGCSR_NSIG];
} ugcsr_sigsnap;

static ugcsr_sigsnap *ugcsr_sigsave(void) {
	ugcsr_sigsnap *s = calloc(1, sizeof *s);
	if (s == NULL) {
		return NULL;
	}
	for (int sig = 1; sig < UGCSR_NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP) {
			continue;
		}
		// glibc refuses its internal signals (32, 33) with EINVAL: they are left out.
		if (sigaction(sig, NULL, &s->act[sig]) == 0) {
			s->have |= (uint64_t)1 << (sig - 1);
		}
	}
	return s;
}

// ugcsr_sigsame compares what decides how a signal is handled: the handler, the flags and the mask.
// The restorer is left out: sigaction sets the C library's own, which need not be the one the Go
// runtime installed with.
// The masks are compared signal by signal: glibc fills only the kernel's part of a sigset_t read
// back from sigaction, and copies stack garbage into the rest.
static int ugcsr_sigsame(const struct sigaction *a, const struct sigaction *b) {
	if ((void *)a->sa_handler != (void *)b->sa_handler ||
		(a->sa_flags & ~SA_RESTORER) != (b->sa_flags & ~SA_RESTORER)) {
		return 0;
	}
	for (int sig = 1; sig < UGCSR_NSIG; sig++) {
		if (sigismember(&a->sa_mask, sig) != sigismember(&b->sa_mask, sig)) {
			return 0;
		}
	}
	return 1;
}

// ugcsr_sigdiff returns the signals whose action differs from s; with restore set it first puts
// back the saved action of each (a signal whose restore failed is still reported).
static uint64_t ugcsr_sigdiff(const ugcsr_sigsnap *s, int restore) {
	uint64_t changed = 0;
	for (int sig = 1; sig < UGCSR_NSIG; sig++) {
		uint64_t bit = (uint64_t)1 << (sig - 1);
		if ((s->have & bit) == 0) {
			continue;
		}
		struct sigaction now;
		memset(&now, 0, sizeof now);
		if (sigaction(sig, NULL, &now) != 0 || ugcsr_sigsame(&now, &s->act[sig])) {
			continue;
		}
		if (restore) {
			sigaction(sig, &s->act[sig], NULL);
		}
		changed |= bit;
	}
	return changed;
}

static char *ugcsr_dlopen(const char *path) {
	if (dlopen(path, RTLD_NOW | RTLD_LOCAL) != NULL) {
		return NULL;
	}
	const char *e = dlerror();
	return strdup(e != NULL ? e : "dlopen failed");
}
*/
import "C"

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"unsafe"
)

// Loading the CUDA execution provider (and the CUDA libraries it pulls in) replaces the process's
// signal handlers with its own, installed without SA_ONSTACK (onnxruntime_go issue 140). Go's
// handlers are then gone: Ctrl-C no longer reaches signal.Notify, so the CLI cannot write its
// playable partial file, and the Go runtime may die with "non-Go code set up signal handler without
// SA_ONSTACK flag". keepSignals saves every signal's action before a GPU session is set up and puts
// back those that changed once it is.

// sigGuard is process-wide because signal actions are: one snapshot serves every GPU session being
// created at the same time. The first to start takes it, the last to finish restores from it, so
// concurrent creations in several goroutines neither restore each other's half-loaded state nor
// save it as the state to return to.
var sigGuard struct {
	mu    sync.Mutex
	depth int          // guarded sections in progress
	snap  *sigSnapshot // taken when depth went from 0 to 1
	saves int          // snapshots taken by keepSignals; tests read it
}

// keepSignals saves the action of every signal (but SIGKILL and SIGSTOP) and returns restore, which
// puts back the action of each signal that changed since and returns those signals; restore logs
// them through logf (optional), and logs any it could not put back. Call restore exactly once, also
// when setting up the session failed: `defer keepSignals(logf)()`.
//
// NewSession wraps every session with a GPU provider in it, not only the first: after the first the
// snapshot costs two sigaction calls per signal, nothing next to a session, and a later session may
// load a provider the first did not (TensorRT after CUDA) or set up another device.
//
// Changes the Go program itself makes to its signals while a guarded section runs (signal.Notify of
// a signal that was ignored, signal.Ignore, signal.Reset, starting a CPU profile) are undone too.
func keepSignals(logf func(format string, args ...any)) (restore func() []syscall.Signal) {
	sigGuard.mu.Lock()
	if sigGuard.depth == 0 {
		sigGuard.snap = saveSignals()
		sigGuard.saves++
	}
	sigGuard.depth++
	sigGuard.mu.Unlock()

	var once sync.Once
	var restored []syscall.Signal
	return func() []syscall.Signal {
		once.Do(func() {
			var left []syscall.Signal
			sigGuard.mu.Lock()
			sigGuard.depth--
			if sigGuard.depth == 0 {
				restored = sigGuard.snap.restore()
				left = sigGuard.snap.changed()
				sigGuard.snap.free()
				sigGuard.snap = nil
			}
			sigGuard.mu.Unlock()
			if logf == nil {
				return
			}
			if len(restored) > 0 {
				logf("onnxruntime: the GPU provider replaced the handlers of %s; restored Go's", signalList(restored))
			}
			if len(left) > 0 {
				logf("onnxruntime: could not restore the handlers of %s; Ctrl-C may not stop cleanly", signalList(left))
			}
		})
		return restored
	}
}

// sigSnapshot is the action of every signal at one moment, kept in C memory (C keeps no Go
// pointer). A nil *sigSnapshot (the allocation failed) saves nothing and restores nothing.
type sigSnapshot C.ugcsr_sigsnap

// saveSignals reads every signal's action. Free the snapshot when done.
func saveSignals() *sigSnapshot {
	return (*sigSnapshot)(C.ugcsr_sigsave())
}

// changed returns the signals whose action differs from the snapshot.
func (s *sigSnapshot) changed() []syscall.Signal {
	if s == nil {
		return nil
	}
	return signalsOf(uint64(C.ugcsr_sigdiff((*C.ugcsr_sigsnap)(s), 0)))
}

// restore puts back the saved action of every signal that changed and returns those signals.
func (s *sigSnapshot) restore() []syscall.Signal {
	if s == nil {
		return nil
	}
	return signalsOf(uint64(C.ugcsr_sigdiff((*C.ugcsr_sigsnap)(s), 1)))
}

// free releases the snapshot; it is nil-safe. The snapshot must not be used after.
func (s *sigSnapshot) free() {
	C.free(unsafe.Pointer(s))
}

func signalsOf(mask uint64) []syscall.Signal {
	var sigs []syscall.Signal
	for sig := 1; sig <= 64; sig++ {
		if mask&(1<<(sig-1)) != 0 {
			sigs = append(sigs, syscall.Signal(sig))
		}
	}
	return sigs
}

func signalList(sigs []syscall.Signal) string {
	s := make([]string, len(sigs))
	for i, sig := range sigs {
		s[i] = fmt.Sprintf("%d (%v)", int(sig), sig)
	}
	return strings.Join(s, ", ")
}

// dlopenLocal loads the shared library at path (RTLD_NOW|RTLD_LOCAL), running its constructors, and
// never unloads it. It exists for the tests, which load a stand-in for the CUDA provider with it:
// cgo cannot be used in _test.go files.
func dlopenLocal(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	if e := C.ugcsr_dlopen(cpath); e != nil {
		defer C.free(unsafe.Pointer(e))
		return errors.New(C.GoString(e))
	}
	return nil
}
