// Package spoken lists the person-facing messages that are read aloud and
// makes their audio files with espeak-ng, for the languages it speaks.
//
// The files are Ogg Opus (mono, about 12 kbit/s: a sentence is 4–10 kB),
// one per language and message: audio/<lang>/<key>.ogg beside the web
// package's catalogs. Generate runs espeak-ng then opusenc (Debian:
// espeak-ng, opus-tools); web/audio/generate.go is the script that calls
// it for every language of Voices. Languages espeak-ng does not speak
// (Pashto, Somali, Tigrinya) get their audio from recordings made by a
// structure's interpreter (see the web package's recordings).
package spoken

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// Keys are the messages of the person's view that are read aloud: the
// page's introduction, the categories, the expiry words, the card's
// explanation and the kiosk's instructions.
var Keys = []string{
	"person_intro",
	"category_identity", "category_health", "category_benefits", "category_housing",
	"category_work", "category_taxes", "category_justice", "category_other",
	"expires_soon", "expired",
	"explain_title", "card_open", "card_keep", "card_lost",
	"kiosk_help",
}

// Voices maps the catalogs espeak-ng speaks (espeak-ng 1.51, Debian
// bookworm) to its voice. Dari (fa-AF) is read by the Persian voice:
// written Dari and Persian are close, the accent is Iranian. As for every
// language, a structure's recording replaces the espeak-ng voice.
var Voices = map[string]string{
	"fr": "fr-fr", "en": "en-gb", "ar": "ar", "fa-AF": "fa", "ro": "ro", "ru": "ru",
	"uk": "uk", "sq": "sq", "es": "es", "ur": "ur", "ta": "ta", "bn": "bn", "ka": "ka",
}

// IsKey reports whether key is one of Keys.
func IsKey(key string) bool {
	for _, k := range Keys {
		if k == key {
			return true
		}
	}
	return false
}

// Tools reports the missing programs Generate needs, if any.
func Tools() []string {
	var missing []string
	for _, p := range []string{"espeak-ng", "opusenc"} {
		if _, err := exec.LookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	return missing
}

// Generate writes out/<lang>/<key>.ogg for each of Keys, reading the
// texts from catalogs/<lang>.json. A message that is missing or not a
// plain string is an error.
func Generate(ctx context.Context, catalogs, out, lang string) error {
	voice, ok := Voices[lang]
	if !ok {
		return fmt.Errorf("espeak-ng has no voice for %s here", lang)
	}
	if m := Tools(); len(m) > 0 {
		return fmt.Errorf("generate audio: %v not installed (Debian: apt-get install espeak-ng opus-tools)", m)
	}
	b, err := os.ReadFile(filepath.Join(catalogs, lang+".json"))
	if err != nil {
		return fmt.Errorf("generate audio: %w", err)
	}
	var msgs map[string]any
	if err := json.Unmarshal(b, &msgs); err != nil {
		return fmt.Errorf("generate audio: catalog %s: %w", lang, err)
	}
	dir := filepath.Join(out, lang)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "baluchon-audio")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	for _, k := range Keys {
		text, ok := msgs[k].(string)
		if !ok || text == "" {
			return fmt.Errorf("generate audio: %s has no message %q", lang, k)
		}
		wav := filepath.Join(tmp, k+".wav")
		if err := run(ctx, text, "espeak-ng", "-v", voice, "-s", "140", "--stdin", "-w", wav); err != nil {
			return fmt.Errorf("generate audio %s/%s: %w", lang, k, err)
		}
		dst := filepath.Join(dir, k+".ogg")
		if err := run(ctx, "", "opusenc", "--quiet", "--speech", "--bitrate", "12", "--downmix-mono", "--serial", "1", "--discard-comments", wav, dst+".tmp"); err != nil {
			return fmt.Errorf("generate audio %s/%s: %w", lang, k, err)
		}
		if err := os.Rename(dst+".tmp", dst); err != nil {
			return err
		}
	}
	return nil
}

func run(ctx context.Context, stdin, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewBufferString(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if msg := bytes.TrimSpace(stderr.Bytes()); len(msg) > 0 {
			return fmt.Errorf("%s: %w: %s", name, err, msg)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	if stderr.Len() > 0 && name == "espeak-ng" {
		return errors.New("espeak-ng: " + string(bytes.TrimSpace(stderr.Bytes())))
	}
	return nil
}
