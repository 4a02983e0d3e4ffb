package diffusion

import (
	"bufio"
	"encoding/json"
	"fmt"
	"html"
	"os"
	"regexp"
	"strings"
)

// tokenizer is CLIP's byte-level BPE (the SD2 text encoder's), read from Hugging Face's vocab.json
// and merges.txt. It lowercases and cleans whitespace and HTML entities like CLIP's basic_clean and
// whitespace_clean, without ftfy's mojibake repair.
type tokenizer struct {
	vocab   map[string]int64
	ranks   map[[2]string]int
	byteEnc [256]string
	spec    TokenizerSpec
	cache   map[string][]string
}

var clipPattern = regexp.MustCompile(`(?i)<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`)

var spaces = regexp.MustCompile(`\s+`)

func loadTokenizer(m *Manifest) (*tokenizer, error) {
	spec := *m.Tokenizer
	vb, err := os.ReadFile(m.Path(spec.Vocab))
	if err != nil {
		return nil, fmt.Errorf("diffusion: tokenizer: %w", err)
	}
	t := &tokenizer{ranks: map[[2]string]int{}, spec: spec, cache: map[string][]string{}}
	if err := json.Unmarshal(vb, &t.vocab); err != nil {
		return nil, fmt.Errorf("diffusion: tokenizer: %s: %w", spec.Vocab, err)
	}
	f, err := os.Open(m.Path(spec.Merges))
	if err != nil {
		return nil, fmt.Errorf("diffusion: tokenizer: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#version") || strings.TrimSpace(line) == "" {
			continue
		}
		a, b, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("diffusion: tokenizer: %s: bad merge %q", spec.Merges, line)
		}
		if _, dup := t.ranks[[2]string{a, b}]; !dup {
			t.ranks[[2]string{a, b}] = len(t.ranks)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("diffusion: tokenizer: %w", err)
	}
	// bytes_to_unicode: printable bytes map to themselves, the rest to 256+n.
	n := 0
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff) {
			t.byteEnc[b] = string(rune(b))
		} else {
			t.byteEnc[b] = string(rune(256 + n))
			n++
		}
	}
	return t, nil
}

// encode returns max_length token ids: BOS, the prompt's tokens (truncated), EOS, then padding.
func (t *tokenizer) encode(text string) ([]int64, error) {
	text = html.UnescapeString(html.UnescapeString(text))
	text = strings.ToLower(strings.TrimSpace(spaces.ReplaceAllString(strings.TrimSpace(text), " ")))
	ids := []int64{t.spec.BOS}
	for _, w := range clipPattern.FindAllString(text, -1) {
		var enc strings.Builder
		for _, b := range []byte(w) {
			enc.WriteString(t.byteEnc[b])
		}
		for _, tok := range t.bpe(enc.String()) {
			id, ok := t.vocab[tok]
			if !ok {
				return nil, fmt.Errorf("diffusion: tokenizer: %q not in the vocabulary", tok)
			}
			ids = append(ids, id)
		}
	}
	if max := t.spec.MaxLength - 1; len(ids) > max {
		ids = ids[:max]
	}
	ids = append(ids, t.spec.EOS)
	for len(ids) < t.spec.MaxLength {
		ids = append(ids, t.spec.Pad)
	}
	return ids, nil
}

// bpe splits one byte-encoded word into vocabulary tokens, the last one marked with </w>.
func (t *tokenizer) bpe(word string) []string {
	if c, ok := t.cache[word]; ok {
		return c
	}
	rs := []rune(word)
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = string(r)
	}
	parts[len(parts)-1] += "</w>"
	for len(parts) > 1 {
		best, at := -1, -1
		for i := 0; i+1 < len(parts); i++ {
			if r, ok := t.ranks[[2]string{parts[i], parts[i+1]}]; ok && (best < 0 || r < best) {
				best, at = r, i
			}
		}
		if at < 0 {
			break
		}
		a, b := parts[at], parts[at+1]
		merged := parts[:0:0]
		for i := 0; i < len(parts); i++ {
			if i+1 < len(parts) && parts[i] == a && parts[i+1] == b {
				merged = append(merged, a+b)
				i++
				continue
			}
			merged = append(merged, parts[i])
		}
		parts = merged
	}
	t.cache[word] = parts
	return parts
}

// positivePrompt builds the method's positive prompt: "<tags>, <user prompt>," + added prompt.
func positivePrompt(tags, user, added string) string {
	return tags + ", " + user + "," + added
}
