package appcache

import (
	"path/filepath"
	"testing"
)

func TestDir(t *testing.T) {
	t.Setenv(Env, "/x/y")
	if got := Dir(); got != "/x/y" {
		t.Fatalf("with $%s: got %q", Env, got)
	}
	t.Setenv(Env, "")
	t.Setenv("HOME", "/home/u")
	if got := Dir(); got != "/home/u/.cache/ugcsr" {
		t.Fatalf("without $%s: got %q", Env, got)
	}
	t.Setenv("HOME", "")
	if got, want := filepath.Base(Dir()), "ugcsr-cache"; got != want {
		t.Fatalf("without a home: got %q, want .../%s", Dir(), want)
	}
}
