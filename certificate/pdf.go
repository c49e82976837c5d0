package certificate

import (
	"bytes"
	"fmt"
	"strings"
	"time"
	"unicode"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/unicode/norm"
)

// Page geometry, in millimetres, on US Letter (215.9 × 279.4).
const (
	margin    = 18.0
	qrSize    = 56.0 // printed QR code: about 0.5 mm a module at version 22
	lineH     = 5.2
	dateColW  = 30.0
	indent    = 6.0
	footerTop = -20.0 // from the bottom edge
)

// document is one certificate being laid out.
type document struct {
	cert       *Certificate
	rec        *Record
	by         IssuedBy
	registry   string
	groups     []doseGroup
	immunities []immunityLine
	exemptions []exemptionLine
	issuedAt   time.Time
	qrPNG      []byte

	pdf *fpdf.Fpdf
	w   float64 // text width between the margins
}

// usDate formats a date the American way, as schools read it.
func usDate(t time.Time) string {
	if t.IsZero() {
		return "date unknown"
	}
	return t.Format("01/02/2006")
}

// render lays the certificate out and returns the PDF.
func (d *document) render() ([]byte, error) {
	p := fpdf.New("P", "mm", "Letter", "")
	d.pdf = p
	pw, _ := p.GetPageSize()
	d.w = pw - 2*margin
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, -footerTop+4)
	p.SetCreationDate(d.cert.IssuedAt)
	p.SetModificationDate(d.cert.IssuedAt)
	p.SetTitle("Official Immunization Certificate", true)
	p.SetCreator(d.registry, true)
	p.SetProducer("iis certificate", true)
	p.AliasNbPages("{nb}")
	p.SetFooterFunc(d.footer)
	if d.qrPNG != nil {
		p.RegisterImageOptionsReader("shc-qr", fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(d.qrPNG))
	}
	p.AddPage()

	d.heading()
	d.doses()
	d.immunitySection()
	d.exemptionSection()
	d.attestation()

	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("certificate PDF: %w", err)
	}
	return out.Bytes(), nil
}

// heading prints the title, the person and the QR code beside them.
func (d *document) heading() {
	p := d.pdf
	top := p.GetY()
	textW := d.w - qrSize - 6
	p.SetFont("Helvetica", "B", 18)
	p.CellFormat(textW, 9, "Official Immunization Certificate", "", 1, "L", false, 0, "")
	p.SetFont("Helvetica", "", 11)
	p.MultiCell(textW, 5.5, tr(d.registry), "", "L", false)
	p.Ln(4)
	n := d.rec.Patient.LegalName()
	name := strings.TrimSpace(strings.Join(nonEmpty(n.Given, n.Middle, n.Family, n.Suffix), " "))
	d.field(textW, "Name", name)
	d.field(textW, "Date of birth", usDate(d.rec.Patient.BirthDate))
	d.field(textW, "Certificate ID", d.cert.ID)
	d.field(textW, "Issued", d.issuedAt.Format("01/02/2006 3:04 PM MST"))
	p.SetFont("Helvetica", "", 8.5)
	p.SetTextColor(80, 80, 80)
	p.Ln(2)
	note := "For school, childcare, camp and college entry."
	if d.qrPNG != nil {
		note += " The QR code is a SMART Health Card: any SMART Health Card verifier app checks that the registry signed these doses."
	}
	p.MultiCell(textW, 4, note, "", "L", false)
	p.SetTextColor(0, 0, 0)
	textBottom := p.GetY()

	x := margin + d.w - qrSize
	if d.qrPNG != nil {
		p.ImageOptions("shc-qr", x, top, qrSize, qrSize, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
		p.SetFont("Helvetica", "", 7.5)
		p.SetXY(x, top+qrSize)
		p.CellFormat(qrSize, 4, "SMART Health Card", "", 0, "C", false, 0, "")
	} else {
		p.SetXY(x, top)
		p.SetFont("Helvetica", "", 8.5)
		p.MultiCell(qrSize, 4.2, "This record is too long for a SMART Health Card QR code. "+
			"Its SMART Health Card is available as a file from the issuer.", "1", "L", false)
	}
	p.SetXY(margin, max(textBottom, top+qrSize+4)+4)
	p.SetDrawColor(0, 0, 0)
	p.SetLineWidth(0.5)
	p.Line(margin, p.GetY(), margin+d.w, p.GetY())
	p.Ln(4)
}

func (d *document) field(w float64, label, value string) {
	p := d.pdf
	p.SetFont("Helvetica", "", 10)
	p.CellFormat(32, 6.5, label+":", "", 0, "L", false, 0, "")
	p.SetFont("Helvetica", "B", 12)
	p.CellFormat(w-32, 6.5, tr(value), "", 1, "L", false, 0, "")
}

// section prints a section title, on a new page if too little room is
// left for it and a first line.
func (d *document) section(title string) {
	p := d.pdf
	_, ph := p.GetPageSize()
	if p.GetY()+3*lineH > ph+footerTop-4 {
		p.AddPage()
	}
	p.Ln(2)
	p.SetFont("Helvetica", "B", 12.5)
	p.CellFormat(d.w, 7, title, "B", 1, "L", false, 0, "")
	p.Ln(1.5)
}

// doses prints each vaccine group with its doses, date first.
func (d *document) doses() {
	p := d.pdf
	d.section("Vaccines given")
	if len(d.groups) == 0 {
		p.SetFont("Helvetica", "I", 10)
		p.CellFormat(d.w, lineH, "No vaccine doses are recorded.", "", 1, "L", false, 0, "")
		return
	}
	_, ph := p.GetPageSize()
	bottom := ph + footerTop - 4
	for _, g := range d.groups {
		// Keep a group on one page when it fits on one.
		height := lineH + 0.8 + float64(len(g.doses))*lineH
		if y := p.GetY(); y+height > bottom && margin+height <= bottom || y+2*lineH > bottom {
			p.AddPage()
		}
		d.groupLabel(g.label)
		p.SetFont("Helvetica", "", 10)
		for _, l := range g.doses {
			if p.GetY()+lineH > bottom {
				p.AddPage()
				d.groupLabel(g.label + " (continued)")
				p.SetFont("Helvetica", "", 10)
			}
			v := l.vaccine
			if l.partial {
				v += " (partial dose)"
			}
			d.dated(l.date, v)
		}
		p.Ln(1)
	}
}

func (d *document) groupLabel(label string) {
	p := d.pdf
	p.SetFont("Helvetica", "B", 10.5)
	p.SetFillColor(232, 236, 242)
	p.CellFormat(d.w, lineH+0.8, tr(label), "", 1, "L", true, 0, "")
}

// dated prints one indented row: a date, then text (wrapped if long).
func (d *document) dated(date time.Time, text string) {
	p := d.pdf
	p.CellFormat(indent, lineH, "", "", 0, "L", false, 0, "")
	p.CellFormat(dateColW, lineH, usDate(date), "", 0, "L", false, 0, "")
	p.MultiCell(d.w-indent-dateColW, lineH, tr(text), "", "L", false)
}

func (d *document) immunitySection() {
	if len(d.immunities) == 0 {
		return
	}
	p := d.pdf
	d.section("Evidence of immunity")
	p.SetFont("Helvetica", "", 10)
	for _, im := range d.immunities {
		line := im.disease
		if im.source != "" {
			line += " - " + im.source
		}
		d.dated(im.date, line)
	}
}

func (d *document) exemptionSection() {
	if len(d.exemptions) == 0 {
		return
	}
	p := d.pdf
	d.section("Permanent exemptions")
	p.SetFont("Helvetica", "", 10)
	for _, ex := range d.exemptions {
		line := ex.group
		if ex.kind != "" {
			line += " - " + ex.kind + " exemption"
		}
		d.dated(ex.date, line)
	}
}

// attestation says who issued the certificate, from which record, when.
func (d *document) attestation() {
	p := d.pdf
	d.section("Issued by")
	p.SetFont("Helvetica", "", 10)
	p.MultiCell(d.w, lineH, tr(fmt.Sprintf("%s, %s, on %s, from the immunization record held by the %s.",
		d.by.User, d.by.Organization, d.issuedAt.Format("01/02/2006 3:04 PM MST"), d.registry)), "", "L", false)
	p.Ln(1)
	p.SetFont("Helvetica", "", 8.5)
	p.SetTextColor(80, 80, 80)
	p.MultiCell(d.w, 4, "This certificate lists the vaccine doses given as reported to the registry, "+
		"grouped by vaccine; a combination vaccine is listed under each vaccine it contains.", "", "L", false)
	p.SetTextColor(0, 0, 0)
}

// footer repeats the person and the certificate id on every page.
func (d *document) footer() {
	p := d.pdf
	p.SetY(footerTop + 6)
	p.SetFont("Helvetica", "", 8)
	p.SetTextColor(80, 80, 80)
	n := d.rec.Patient.LegalName()
	who := strings.Join(nonEmpty(n.Family, n.Given), ", ")
	left := fmt.Sprintf("%s, born %s - Certificate %s", who, usDate(d.rec.Patient.BirthDate), d.cert.ID)
	p.CellFormat(d.w*0.75, 4, tr(left), "T", 0, "L", false, 0, "")
	p.CellFormat(d.w*0.25, 4, fmt.Sprintf("Page %d of {nb}", p.PageNo()), "T", 0, "R", false, 0, "")
	p.SetTextColor(0, 0, 0)
}

func nonEmpty(ss ...string) []string {
	out := ss[:0:0]
	for _, s := range ss {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// tr converts text to Windows-1252, the encoding of the PDF core fonts: a
// character outside it is printed without its accents when it has a
// Windows-1252 base letter (NFD), else as '?'.
func tr(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if c, ok := charmap.Windows1252.EncodeRune(r); ok {
			b = append(b, c)
			continue
		}
		if base, ok := baseLetter(r); ok {
			b = append(b, base)
			continue
		}
		b = append(b, '?')
	}
	return string(b)
}

func baseLetter(r rune) (byte, bool) {
	for _, x := range norm.NFD.String(string(r)) {
		if unicode.Is(unicode.Mn, x) {
			continue
		}
		return charmap.Windows1252.EncodeRune(x)
	}
	return 0, false
}
