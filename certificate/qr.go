package certificate

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"

	"github.com/makiuchi-d/gozxing/qrcode/encoder"
	"rsc.io/qr/coding"
)

// errQRTooLong: the card is longer than the largest QR code holds.
var errQRTooLong = errors.New("health card QR: too long for one QR code")

// qrModulePixels is the size of one QR module in the embedded image: whole
// pixels, so that a viewer scaling the image never blurs module edges.
const qrModulePixels = 4

// qrQuietZone is the white border around the code, in modules, that the
// QR standard requires.
const qrQuietZone = 4

// qrPNG draws a health card's QR code text as a 1-bit PNG with its quiet
// zone.
func qrPNG(text string) ([]byte, error) {
	code, err := qrEncode(text)
	if err != nil {
		return nil, err
	}
	n := (code.Size + 2*qrQuietZone) * qrModulePixels
	img := image.NewPaletted(image.Rect(0, 0, n, n), color.Palette{color.White, color.Black})
	for y := range code.Size {
		for x := range code.Size {
			if !code.Black(x, y) {
				continue
			}
			px, py := (x+qrQuietZone)*qrModulePixels, (y+qrQuietZone)*qrModulePixels
			for dy := range qrModulePixels {
				off := img.PixOffset(px, py+dy)
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

// qrEncode encodes a health card's QR text as the SMART Health Cards spec
// asks: two segments, "shc:/" in byte mode and the digits in numeric mode,
// at error correction L, in the smallest version that holds them, with the
// mask of least penalty (ISO/IEC 18004 §7.8.3).
func qrEncode(text string) (*coding.Code, error) {
	digits, ok := strings.CutPrefix(text, QRPrefix)
	if !ok {
		return nil, fmt.Errorf("health card QR: text does not start with %s", QRPrefix)
	}
	segs := []coding.Encoding{coding.String(QRPrefix), coding.Num(digits)}
	v := coding.Version(coding.MinVersion)
	for ; ; v++ {
		if v > coding.MaxVersion {
			return nil, errQRTooLong
		}
		bits := 0
		for _, s := range segs {
			bits += s.Bits(v)
		}
		if bits <= v.DataBytes(coding.L)*8 {
			break
		}
	}
	var best *coding.Code
	bestPenalty := 0
	for m := range coding.Mask(8) {
		p, err := coding.NewPlan(v, coding.L, m)
		if err != nil {
			return nil, fmt.Errorf("health card QR plan: %w", err)
		}
		c, err := p.Encode(segs...)
		if err != nil {
			return nil, fmt.Errorf("health card QR: %w", err)
		}
		if pen := maskPenalty(c); best == nil || pen < bestPenalty {
			best, bestPenalty = c, pen
		}
	}
	return best, nil
}

// maskPenalty scores a masked symbol by the four rules of the QR standard.
func maskPenalty(c *coding.Code) int {
	m := encoder.NewByteMatrix(c.Size, c.Size)
	for y := range c.Size {
		for x := range c.Size {
			m.SetBool(x, y, c.Black(x, y))
		}
	}
	return encoder.MaskUtil_applyMaskPenaltyRule1(m) + encoder.MaskUtil_applyMaskPenaltyRule2(m) +
		encoder.MaskUtil_applyMaskPenaltyRule3(m) + encoder.MaskUtil_applyMaskPenaltyRule4(m)
}
