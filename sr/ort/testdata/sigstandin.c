// sigstandin: a stand-in for what loading the CUDA execution provider does to a process's signals
// (onnxruntime_go issue 140). The test in signals_test.go compiles it with the system cc into a
// shared library and dlopens it.
//
// When loaded, its constructor replaces the handlers of SIGINT, SIGTERM and SIGSEGV with its own,
// installed without SA_ONSTACK, as the provider does. The handler writes "sigstandin: caught
// signal N" to stderr, restores the default action and re-raises, so a process whose handlers it
// replaced dies by the signal instead of letting Go's handler see it.
#include <signal.h>
#include <string.h>
#include <unistd.h>

static void standin_handler(int sig) {
	char msg[] = "sigstandin: caught signal 00\n";
	msg[sizeof msg - 4] = (char)('0' + sig / 10 % 10);
	msg[sizeof msg - 3] = (char)('0' + sig % 10);
	ssize_t n = write(2, msg, sizeof msg - 1);
	(void)n;
	signal(sig, SIG_DFL);
	raise(sig);
}

__attribute__((constructor)) static void standin_init(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = standin_handler;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; // no SA_ONSTACK
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
}
