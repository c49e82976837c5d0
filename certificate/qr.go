package certificate

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"sync"

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
func qrPNG(text string, plans *qrPlans) ([]byte, error) {
	code, err := qrEncode(text, plans)
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
func qrEncode(text string, plans *qrPlans) (*coding.Code, error) {
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
	var grid []byte
	for m := range coding.Mask(8) {
		p, err := plans.get(v, m)
		if err != nil {
			return nil, err
		}
		c, err := p.Encode(segs...)
		if err != nil {
			return nil, fmt.Errorf("health card QR: %w", err)
		}
		if grid == nil {
			grid = make([]byte, 2*c.Size*c.Size)
		}
		if pen := maskPenalty(c, grid); best == nil || pen < bestPenalty {
			best, bestPenalty = c, pen
		}
	}
	return best, nil
}

// maskPenalty scores a masked symbol by the four rules of the QR standard
// (ISO/IEC 18004 §7.8.3, weights 3, 3, 40, 10, as ZXing computes them).
// grid is scratch space of 2·Size² bytes: the modules (1 dark) row by row,
// then column by column, so that both directions scan as rows.
func maskPenalty(c *coding.Code, grid []byte) int {
	n := c.Size
	rows, cols := grid[:n*n], grid[n*n:2*n*n]
	for y := range n {
		bits := c.Bitmap[y*c.Stride:]
		for x := range n {
			b := bits[x/8] >> (7 - uint(x&7)) & 1
			rows[y*n+x], cols[x*n+y] = b, b
		}
	}
	pen := penaltyBlocks(rows, n) + penaltyBalance(rows, n)
	for _, g := range [2][]byte{rows, cols} {
		for y := range n {
			row := g[y*n : (y+1)*n]
			pen += penaltyRuns(row) + penaltyFinderLike(row)
		}
	}
	return pen
}

// penaltyRuns is rule 1 on one row: 3 + (k-5) for each run of k ≥ 5
// same-colour modules.
func penaltyRuns(row []byte) int {
	pen, run, prev := 0, 0, byte(2)
	for _, b := range row {
		if b == prev {
			run++
			continue
		}
		if run >= 5 {
			pen += 3 + run - 5
		}
		run, prev = 1, b
	}
	if run >= 5 {
		pen += 3 + run - 5
	}
	return pen
}

// penaltyFinderLike is rule 3 on one row: 40 for each dark-light pattern
// 1:1:3:1:1 with four light modules (or the edge) on one side.
func penaltyFinderLike(row []byte) int {
	k := 0
	for x := 0; x+6 < len(row); x++ {
		p := row[x : x+7]
		if p[0] == 1 && p[1] == 0 && p[2] == 1 && p[3] == 1 && p[4] == 1 && p[5] == 0 && p[6] == 1 &&
			(allLight(row[max(x-4, 0):x]) || allLight(row[x+7:min(x+11, len(row))])) {
			k++
		}
	}
	return 40 * k
}

func allLight(s []byte) bool {
	for _, b := range s {
		if b == 1 {
			return false
		}
	}
	return true
}

// penaltyBlocks is rule 2: 3 for each 2×2 block of one colour.
func penaltyBlocks(g []byte, n int) int {
	k := 0
	for y := 0; y < n-1; y++ {
		for x := 0; x < n-1; x++ {
			v := g[y*n+x]
			if v == g[y*n+x+1] && v == g[(y+1)*n+x] && v == g[(y+1)*n+x+1] {
				k++
			}
		}
	}
	return 3 * k
}

// penaltyBalance is rule 4: 10 for each 5% the dark modules are away from
// half.
func penaltyBalance(g []byte, n int) int {
	dark := 0
	for _, b := range g[:n*n] {
		dark += int(b)
	}
	d := dark*2 - n*n
	if d < 0 {
		d = -d
	}
	return d * 10 / (n * n) * 10
}

// qrPlans caches the layouts of QR codes at level L by version and mask:
// making one costs more than encoding with it, and a plan is read-only
// once made. The zero value is ready; it is safe for concurrent use.
type qrPlans struct {
	m sync.Map // version<<3 | mask → *coding.Plan
}

func (c *qrPlans) get(v coding.Version, m coding.Mask) (*coding.Plan, error) {
	key := int(v)<<3 | int(m)
	if p, ok := c.m.Load(key); ok {
		return p.(*coding.Plan), nil
	}
	p, err := coding.NewPlan(v, coding.L, m)
	if err != nil {
		return nil, fmt.Errorf("health card QR plan: %w", err)
	}
	c.m.Store(key, p)
	return p, nil
}
