package cardprint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skip2/go-qrcode"
	"golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// photoOf makes a photo-like picture of a rendered card: turned by deg
// degrees, scaled, on a darker uneven background, with noise, as a JPEG
// of the given quality.
func photoOf(t testing.TB, card image.Image, deg, scale float64, quality int) []byte {
	t.Helper()
	b := card.Bounds()
	w, h := int(float64(b.Dx())*scale*1.3), int(float64(b.Dy())*scale*1.5)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := uint8(90 + 40*x/w + 20*y/h)
			dst.Set(x, y, color.RGBA{v, v - 10, v - 20, 255})
		}
	}
	// Affine map from the card to the photo: scale, rotate about the
	// card's centre, put the centre at the photo's centre.
	a := deg * math.Pi / 180
	cos, sin := math.Cos(a)*scale, math.Sin(a)*scale
	cx, cy := float64(b.Dx())/2, float64(b.Dy())/2
	m := f64.Aff3{
		cos, -sin, float64(w)/2 - cos*cx + sin*cy,
		sin, cos, float64(h)/2 - sin*cx - cos*cy,
	}
	draw.BiLinear.Transform(dst, m, card, b, draw.Over, nil)
	for i := range dst.Pix {
		if i%4 != 3 {
			v := int(dst.Pix[i]) + rng.IntN(17) - 8
			dst.Pix[i] = uint8(min(255, max(0, v)))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, dst, &jpeg.Options{Quality: quality}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// renderedCard prints a card and renders its front page at dpi.
func renderedCard(t *testing.T, text, lang string, dpi int) image.Image {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, Card{Text: text, Structure: "Accueil de jour", Lang: lang, Layout: CardSize}); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "card.pdf")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return render(t, p, dpi)[0]
}

func TestDecodeImagePhoto(t *testing.T) {
	text := testCardText(t, 42)
	card := renderedCard(t, text, "ar", 300)
	dir := keepDir(t)
	for _, tc := range []struct {
		name    string
		deg     float64
		scale   float64
		quality int
	}{
		{"straight", 0, 1, 90},
		{"turned 8°, smaller, jpeg 60", 8, 0.6, 60},
		{"turned -15°, larger, jpeg 75", -15, 1.8, 75},
		{"upside down, jpeg 50", 180, 0.8, 50},
		{"phone-sized (about 15 megapixels), turned 4°", 4, 3.5, 85},
	} {
		t.Run(tc.name, func(t *testing.T) {
			photo := photoOf(t, card, tc.deg, tc.scale, tc.quality)
			_ = os.WriteFile(filepath.Join(dir, "photo-"+strings.Fields(tc.name)[0]+".jpg"), photo, 0o644)
			start := time.Now()
			got, err := DecodeImage(bytes.NewReader(photo))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%d bytes decoded in %v", len(photo), time.Since(start).Round(time.Millisecond))
			if got != text {
				t.Fatal("decoded another text than the card's")
			}
		})
	}
}

// pngHeader returns the first bytes of a PNG file of w × h pixels: enough
// for image.DecodeConfig.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 0 // 8-bit greyscale
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func encodePNG(t testing.TB, img image.Image) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeImageRefuses(t *testing.T) {
	grey := image.NewGray(image.Rect(0, 0, 400, 300))
	for i := range grey.Pix {
		grey.Pix[i] = 200
	}
	var greyJPEG bytes.Buffer
	jpeg.Encode(&greyJPEG, grey, nil)
	hello, err := qrcode.New("hello, this is not a card", qrcode.High)
	if err != nil {
		t.Fatal(err)
	}
	var gif = []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00;")

	tests := []struct {
		name string
		in   []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrNotImage, "this file is not a photo (JPEG or PNG)"},
		{"text", []byte("13QXnh-mdfKdn-pHdST3-Y5pumG-j7tuFN"), ErrNotImage, "this file is not a photo (JPEG or PNG)"},
		{"gif", gif, ErrNotImage, "not a photo"},
		{"truncated png", encodePNG(t, grey)[:200], ErrNotImage, "not a photo"},
		{"too many bytes", bytes.Repeat([]byte{0}, MaxImageBytes+1), ErrImageTooLarge, "this photo is too large"},
		{"too many pixels", pngHeader(8000, 6000), ErrImageTooLarge, "this photo is too large"},
		{"huge header", pngHeader(100000, 100000), ErrImageTooLarge, "too large"},
		{"no code", greyJPEG.Bytes(), ErrNoCode, "no card code found in this picture: take the photo again, closer and flat"},
		{"another code", encodePNG(t, hello.Image(300)), ErrNotCard, "not a baluchon card"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeImage(bytes.NewReader(tc.in))
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %q, %v; want %v", got, err, tc.want)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not say %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), "13QXnh") || strings.Contains(err.Error(), "hello") {
				t.Fatal("the error repeats what it read")
			}
		})
	}
}

// FuzzDecodeImage feeds DecodeImage arbitrary bytes: it must return a
// card text or one of its errors, never panic. Pictures over a megapixel
// are left out to keep each run short (the bounds are tested above).
func FuzzDecodeImage(f *testing.F) {
	small := image.NewGray(image.Rect(0, 0, 64, 48))
	f.Add(encodePNG(f, small))
	var j bytes.Buffer
	jpeg.Encode(&j, small, nil)
	f.Add(j.Bytes())
	q, _ := qrcode.New(testCardText(f, 5), qrcode.Highest)
	f.Add(encodePNG(f, q.Image(120)))
	f.Add(pngHeader(10, 10))
	f.Add([]byte("not an image"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil && int64(cfg.Width)*int64(cfg.Height) > 1_000_000 {
			t.Skip()
		}
		text, err := DecodeImage(bytes.NewReader(b))
		if err == nil {
			if len(text) != 34 {
				t.Fatalf("decoded a text of %d characters", len(text))
			}
			return
		}
		for _, known := range []error{ErrNotImage, ErrImageTooLarge, ErrNoCode, ErrNotCard} {
			if errors.Is(err, known) {
				return
			}
		}
		t.Fatalf("unexpected error %v", err)
	})
}

// TestDecodeImageFrozen reads testdata/photo.jpg (a photo-like picture of
// a test card, upside down, JPEG quality 50): it runs without pdftoppm.
func TestDecodeImageFrozen(t *testing.T) {
	b, err := os.ReadFile("testdata/photo.jpg")
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeImage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if got != testCardText(t, 42) {
		t.Fatal("testdata/photo.jpg reads as another text than the test card's")
	}
}
