// Package temporal is the pipeline's analyzer of what consecutive video frames share: it finds
// scene cuts and exact duplicates on cheap thumbnails and cuts scenes into segments whose frames
// share per-scene constants such as SAM2 embeddings (Detector), and stamps those facts on each
// frame (frame.Frame Scene, Dup and Segment) for the stages after it.
//
// Everything here is pure Go and cheap next to any super-resolution model: the Detector reads
// every pixel of a frame once (about 4 ms for 1280x720 on one core) and keeps one copy of the
// previous frame for the exact duplicate check.
package temporal

import "errors"

// ErrConfig is returned by Detector.Init for a threshold or refresh value out of range.
var ErrConfig = errors.New("temporal: bad configuration")
