// Package cardprinttest helps tests show a card to a browser's camera.
//
// Chromium takes a fake camera from a file in the YUV4MPEG2 format
// (--use-fake-device-for-media-stream --use-fake-ui-for-media-stream
// --use-file-for-fake-video-capture=card.y4m); WriteY4M makes such a file
// from a picture of a card, such as its PDF rendered by pdftoppm. A page
// that uses web/assets/scan.js then reads the card as a person holding it
// to the camera would.
package cardprinttest

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"io"
)

// WriteY4M writes frames still frames of width × height pixels showing
// img in the middle of a grey-brown background (a desk), in greyscale
// YUV4MPEG2 (4:2:0) at 10 frames per second. Chromium plays the file in a
// loop.
func WriteY4M(w io.Writer, img image.Image, width, height, frames int) error {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 || frames <= 0 {
		return fmt.Errorf("write y4m: width and height must be even and positive, frames positive")
	}
	frame := image.NewGray(image.Rect(0, 0, width, height))
	draw.Draw(frame, frame.Bounds(), &image.Uniform{color.Gray{Y: 110}}, image.Point{}, draw.Src)
	b := img.Bounds()
	at := image.Pt((width-b.Dx())/2, (height-b.Dy())/2)
	draw.Draw(frame, b.Sub(b.Min).Add(at), img, b.Min, draw.Src)
	chroma := make([]byte, width*height/2) // U then V, both neutral
	for i := range chroma {
		chroma[i] = 128
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "YUV4MPEG2 W%d H%d F10:1 Ip A1:1 C420jpeg\n", width, height)
	for range frames {
		bw.WriteString("FRAME\n")
		for y := range height {
			bw.Write(frame.Pix[y*frame.Stride : y*frame.Stride+width])
		}
		bw.Write(chroma)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write y4m: %w", err)
	}
	return nil
}
