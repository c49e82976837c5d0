package certificate

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"

	qrcode "github.com/skip2/go-qrcode"
)

// qrModulePixels is the size of one QR module in the embedded image: whole
// pixels, so that a viewer scaling the image never blurs module edges.
const qrModulePixels = 4

// qrPNG draws text as a QR code at error correction L (what SMART Health
// Cards recommend, for the smallest code): the encoder puts "shc:/" in
// byte mode and the digits in numeric mode. The image has the 4-module
// quiet zone and is a 1-bit PNG.
func qrPNG(text string) ([]byte, error) {
	q, err := qrcode.New(text, qrcode.Low)
	if err != nil {
		return nil, fmt.Errorf("health card QR code: %w", err)
	}
	bm := q.Bitmap()
	n := len(bm) * qrModulePixels
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.White, color.Black})
	for y, row := range bm {
		for x, black := range row {
			if !black {
				continue
			}
			for dy := range qrModulePixels {
				off := img.PixOffset(x*qrModulePixels, y*qrModulePixels+dy)
				for dx := range qrModulePixels {
					img.Pix[off+dx] = 1
				}
			}
		}
	}
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		return nil, fmt.Errorf("health card QR image: %w", err)
	}
	return b.Bytes(), nil
}
