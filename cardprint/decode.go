package cardprint

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/image/draw"

	"baluchon/vault"
)

// Bounds of a photo DecodeImage reads.
const (
	MaxImageBytes  = 20 << 20   // 20 MiB
	MaxImagePixels = 40_000_000 // 40 megapixels
)

// Errors of DecodeImage, for the page to tell apart and show in the
// person's language.
var (
	ErrNotImage      = errors.New("this file is not a photo (JPEG or PNG): take a photo of the card and send it")
	ErrImageTooLarge = errors.New("this photo is too large (more than 20 MB or 40 megapixels): take it again at a lower resolution")
	ErrNoCode        = errors.New("no card code found in this picture: take the photo again, closer and flat")
	ErrNotCard       = errors.New("the code in this picture is not a baluchon card: take a photo of the card's front, or type its code")
)

// decoding lets two photos at most be decoded at a time: a 40-megapixel
// picture takes about 160 MB while it is read.
var decoding = make(chan struct{}, 2)

// scanSize is the longer side, in pixels, a large photo is first scaled
// down to (it is read at full size only if that fails): a phone photo of
// a card held at arm's length holds the code in a few hundred pixels.
const scanSize = 1600

// DecodeImage reads a JPEG or PNG photo of a card's front from r and
// returns the card text in its canonical form. It reads at most
// MaxImageBytes and checks the picture's size from its header before
// decoding it. Its errors wrap ErrNotImage, ErrImageTooLarge, ErrNoCode
// or ErrNotCard and never contain what the code says.
func DecodeImage(r io.Reader) (string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return "", fmt.Errorf("read card photo: %w", err)
	}
	if len(b) > MaxImageBytes {
		return "", ErrImageTooLarge
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || (format != "jpeg" && format != "png") {
		return "", ErrNotImage
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return "", ErrNotImage
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxImagePixels {
		return "", ErrImageTooLarge
	}
	// Only the decoding is limited: a slow upload must not hold a place.
	decoding <- struct{}{}
	defer func() { <-decoding }()
	var img image.Image
	switch format {
	case "jpeg":
		img, err = jpeg.Decode(bytes.NewReader(b))
	case "png":
		img, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return "", ErrNotImage
	}
	return decodeImage(img)
}

// decodeImage finds a card's QR code in img: scaled down if it is large,
// then at full size; each with a local then a global threshold.
func decodeImage(img image.Image) (string, error) {
	tries := []image.Image{img}
	if b := img.Bounds(); max(b.Dx(), b.Dy()) > scanSize {
		// The smaller picture first: faster, and enough for most photos.
		tries = []image.Image{scaleDown(img, scanSize), img}
	}
	found := false
	for _, im := range tries {
		for _, global := range []bool{false, true} {
			text, err := readQR(im, global)
			if err != nil {
				continue
			}
			found = true
			c, err := vault.ParseCard(text)
			if err != nil {
				continue
			}
			return c.String(), nil
		}
	}
	if found {
		return "", ErrNotCard
	}
	return "", ErrNoCode
}

// readQR returns the text of the QR code gozxing finds in img. A panic
// of the decoder on a hostile picture becomes an error.
func readQR(img image.Image, global bool) (text string, err error) {
	defer func() {
		if r := recover(); r != nil {
			text, err = "", errors.New("qr decoder failed")
		}
	}()
	src := gozxing.NewLuminanceSourceFromImage(img)
	var bin gozxing.Binarizer
	if global {
		bin = gozxing.NewGlobalHistgramBinarizer(src)
	} else {
		bin = gozxing.NewHybridBinarizer(src)
	}
	bmp, err := gozxing.NewBinaryBitmap(bin)
	if err != nil {
		return "", err
	}
	hints := map[gozxing.DecodeHintType]interface{}{gozxing.DecodeHintType_TRY_HARDER: true}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, hints)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(res.GetText()), nil
}

// scaleDown returns img scaled so that its longer side is size pixels.
func scaleDown(img image.Image, size int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w >= h {
		h = max(1, h*size/w)
		w = size
	} else {
		w = max(1, w*size/h)
		h = size
	}
	dst := image.NewGray(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
