package spoken

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// TestGenerate runs the regeneration of one language's audio (with
// espeak-ng and opusenc, skipped without them) and checks that it writes
// an Ogg Opus file for every spoken message, about the size of the
// embedded ones.
func TestGenerate(t *testing.T) {
	if m := Tools(); len(m) > 0 {
		t.Skipf("%v not installed (Debian: apt-get install espeak-ng opus-tools): the audio regeneration is not checked", m)
	}
	out := t.TempDir()
	if err := Generate(context.Background(), "../../personlocales", out, "en"); err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys {
		b, err := os.ReadFile(filepath.Join(out, "en", k+".ogg"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(b, []byte("OggS")) || !bytes.Contains(b[:64], []byte("OpusHead")) {
			t.Errorf("%s: not Ogg Opus", k)
		}
		embedded, err := os.ReadFile(filepath.Join("../../audio/en", k+".ogg"))
		if err != nil {
			t.Fatalf("%s: not embedded: %v", k, err)
		}
		if len(b) < len(embedded)/2 || len(b) > len(embedded)*2 {
			t.Errorf("%s: %d bytes, the embedded file %d", k, len(b), len(embedded))
		}
	}
	if err := Generate(context.Background(), "../../personlocales", out, "ti"); err == nil {
		t.Error("audio generated for a language espeak-ng does not speak")
	}
}
