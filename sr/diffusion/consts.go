package diffusion

import (
	"context"
	"fmt"
	"strings"

	"github.com/ugcsr/ugcsr/frame"
)

// computeConsts is the default constsFunc: it runs the SAM2 encoder on the input frame and, with
// a text encoder, the tagger and the text encoder; without one it uses the precomputed
// embeddings. Like the method's script, SAM2 and the tagger see the input as it comes, before the
// resize to the process size. The result is fresh and never modified afterwards.
func (u *Upscaler) computeConsts(ctx context.Context, src, cond *frame.Frame) (*sceneConsts, error) {
	sam, err := u.samContext(ctx, src)
	if err != nil {
		return nil, err
	}
	text, err := u.textContext(ctx, src)
	if err != nil {
		return nil, err
	}
	sc := &sceneConsts{sam: sam, text: text}
	if u.samKV != nil {
		if sc.kv, err = u.samKeysValues(ctx, sam); err != nil {
			return nil, err
		}
	}
	u.b.n.sceneComputes.Add(1)
	return sc, nil
}

// samKeysValues runs sam_kv on the SAM context (T x D') and returns every image transformer's
// keys and values, as denoiser_kv takes them.
func (u *Upscaler) samKeysValues(ctx context.Context, sam []float32) ([]float32, error) {
	T, D := u.samShape()
	in, _, err := u.samKV.in("sam", []int64{1, int64(T), int64(D)}, nil)
	if err != nil {
		return nil, err
	}
	copy(in.f32, sam)
	out, err := u.samKV.out("kv", []int64{1, u.b.m.Graphs[GraphSAMKV].io("kv", true).dim(1)})
	if err != nil {
		return nil, err
	}
	if err := u.samKV.run(ctx); err != nil {
		return nil, err
	}
	return append([]float32(nil), out.f32...), nil
}

// samContext runs the SAM2 image encoder on img (resized to its square input, bilinear,
// ImageNet-normalised) and returns the T x D' context: the embedding itself, or each token's
// embedding concatenated with itself when the denoiser takes twice the width (as the method does).
func (u *Upscaler) samContext(ctx context.Context, img *frame.Frame) ([]float32, error) {
	in, _, err := u.sam.in("image", u.samIn, nil)
	if err != nil {
		return nil, err
	}
	u.samPrep.normalizedSquare(in.f32, img.Pix)
	emb := u.b.m.Graphs[GraphSAM].io("embeddings", true)
	T, D := int(emb.dim(1)), int(emb.dim(2))
	out, err := u.sam.out("embeddings", []int64{1, int64(T), int64(D)})
	if err != nil {
		return nil, err
	}
	if err := u.sam.run(ctx); err != nil {
		return nil, err
	}
	_, Dd := u.samShape()
	ctxt := make([]float32, T*Dd)
	for t := range T {
		row := out.f32[t*D : (t+1)*D]
		for k := 0; k < Dd; k += D {
			copy(ctxt[t*Dd+k:t*Dd+k+D], row)
		}
	}
	return ctxt, nil
}

// textContext returns the negative and positive text contexts: the precomputed ones, or with a
// text encoder those of the negative prompt and "<tags>, <prompt>," + added prompt, the tags those
// of img.
func (u *Upscaler) textContext(ctx context.Context, img *frame.Frame) (*textConsts, error) {
	b := u.b
	if u.text == nil {
		key := PositiveKey(u.opt.Preset)
		return &textConsts{neg: b.neg, pos: b.pos[u.opt.Preset], prompt: b.m.Embeddings[key].Prompt}, nil
	}
	tags := ""
	if u.tagger != nil {
		var err error
		if tags, err = u.tagImage(ctx, img); err != nil {
			return nil, err
		}
	}
	prompt := positivePrompt(tags, b.cfg.Prompt, b.m.Prompt.Added[u.opt.Preset])
	if u.lastText != nil && u.lastText.prompt == prompt {
		return u.lastText, nil
	}
	L, E := b.textL, b.textE
	ids, _, err := u.text.in("input_ids", []int64{2, int64(L)}, nil)
	if err != nil {
		return nil, err
	}
	for i, p := range []string{b.m.Prompt.Negative, prompt} {
		tok, err := b.tok.encode(p)
		if err != nil {
			return nil, err
		}
		if ids.i64 == nil {
			return nil, fmt.Errorf("diffusion: text_encoder input_ids must be int64")
		}
		copy(ids.i64[i*L:(i+1)*L], tok)
	}
	out, err := u.text.out("hidden", []int64{2, int64(L), int64(E)})
	if err != nil {
		return nil, err
	}
	if err := u.text.run(ctx); err != nil {
		return nil, err
	}
	tc := &textConsts{
		neg:    append([]float32(nil), out.f32[:L*E]...),
		pos:    append([]float32(nil), out.f32[L*E:2*L*E]...),
		prompt: prompt,
	}
	u.lastText = tc
	return tc, nil
}

// tagImage runs the tagger on img and returns the tags whose probability exceeds their threshold,
// joined by ", " (as the method's RAM does).
func (u *Upscaler) tagImage(ctx context.Context, img *frame.Frame) (string, error) {
	in, _, err := u.tagger.in("image", u.tagIn, nil)
	if err != nil {
		return "", err
	}
	u.tagPrep.normalizedSquare(in.f32, img.Pix)
	out, err := u.tagger.out("probs", []int64{1, int64(len(u.b.tags))})
	if err != nil {
		return "", err
	}
	if err := u.tagger.run(ctx); err != nil {
		return "", err
	}
	var tags []string
	for i, p := range out.f32 {
		if p > u.b.thr[i] {
			tags = append(tags, u.b.tags[i])
		}
	}
	return strings.Join(tags, ", "), nil
}
