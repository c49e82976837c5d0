package certificate

import (
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/iisproject/iis"
	"github.com/iisproject/iis/codeset"
)

// day is a date-only time, as the registry stores dose dates.
func day(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// child is a synthetic child born 03/14/2019 with the doses of the
// childhood schedule (27 shown), a refusal, a dose not administered, a
// deleted report and an immunity report (CVX 998) that the certificate
// leaves out, evidence of immunity and a permanent exemption.
func child() Record {
	born := day(2019, time.March, 14)
	dose := func(cvx string, months, days int) iis.Vaccination {
		return iis.Vaccination{CVX: cvx, AdministeredAt: born.AddDate(0, months, days), CompletionStatus: "CP",
			Vaccine: iis.Code{Code: cvx, System: "CVX"}, Lots: []string{"LOT" + cvx + fmt.Sprint(months)},
			Facility: iis.Organization{Name: "Riverside Pediatrics"}}
	}
	doses := []iis.Vaccination{
		dose("08", 0, 0),
		dose("110", 2, 3), dose("49", 2, 3), dose("133", 2, 3), dose("116", 2, 3),
		dose("110", 4, 5), dose("49", 4, 5), dose("133", 4, 5), dose("116", 4, 5),
		dose("110", 6, 8), dose("133", 6, 8), dose("116", 6, 8), dose("150", 6, 8),
		dose("150", 7, 10),
		dose("03", 12, 2), dose("21", 12, 2), dose("83", 12, 2), dose("49", 12, 2), dose("133", 12, 2),
		dose("20", 15, 20), dose("83", 18, 4), dose("150", 19, 1), dose("150", 31, 6),
		dose("130", 49, 9), dose("94", 49, 9), dose("150", 55, 11), dose("150", 67, 12),
	}
	// Left out: a refusal, a dose not given, a deleted report, the
	// immunity report itself, and a dose with no date.
	refused := dose("03", 11, 7)
	refused.CompletionStatus = "RE"
	notGiven := dose("21", 11, 8)
	notGiven.CompletionStatus = "NA"
	deleted := dose("20", 11, 9)
	deleted.Action = "D"
	noVaccine := iis.Vaccination{CVX: "998", AdministeredAt: born.AddDate(0, 30, 0), CompletionStatus: "NA",
		Immunity: []iis.Code{{Code: "38907003", Text: "History of varicella infection", System: "SCT"}}}
	undated := dose("20", 0, 0)
	undated.AdministeredAt = time.Time{}
	doses = append(doses, refused, notGiven, deleted, noVaccine, undated)
	// A partial dose is shown, marked.
	partial := dose("08", 1, 2)
	partial.CompletionStatus = "PA"
	doses = append(doses, partial)

	return Record{
		Patient: iis.Patient{
			Names:     []iis.Name{{Family: "Quiñones", Given: "Amelia", Middle: "Rose", Type: "L"}},
			BirthDate: born,
		},
		Doses:      doses,
		Immunities: []Immunity{{Disease: "38907003", Date: born.AddDate(0, 30, 0), Source: "Physician diagnosis"}},
		Exemptions: []Exemption{{Kind: "Medical (permanent)", VaccineGroup: "ROTAVIRUS", Date: born.AddDate(0, 8, 0)}},
	}
}

var issuedBy = IssuedBy{Organization: "Riverside Pediatrics", User: "Dana Whitfield"}

// testIssuer returns an Issuer with a fresh key directory, fixed time.
func testIssuer(t testing.TB) (*Issuer, *Keys) {
	t.Helper()
	keys, err := OpenKeys(filepath.Join(t.TempDir(), "shc-keys"), nil)
	if err != nil {
		t.Fatal(err)
	}
	is, err := NewIssuer(Config{
		Keys: keys, IssuerURL: "https://iis.example.org/", Registry: "Example State Immunization Information System",
		Location: time.UTC, Now: func() time.Time { return time.Date(2026, 9, 1, 14, 30, 5, 0, time.UTC) },
	})
	if err != nil {
		t.Fatal(err)
	}
	return is, keys
}

// needPoppler skips when pdftotext/pdftoppm are missing (make test installs
// them: deploy/dev/ensure-poppler.sh).
func needPoppler(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"pdftotext", "pdftoppm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (Debian poppler-utils; deploy/dev/ensure-poppler.sh installs it): %v", tool, err)
		}
	}
}

func writePDF(t *testing.T, c *Certificate) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "certificate.pdf")
	if err := os.WriteFile(path, c.PDF, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestCertificatePDFText reads the PDF as text, as a school's software or
// a person copying it would, and finds everything the certificate must
// show, and nothing it must leave out.
func TestCertificatePDFText(t *testing.T) {
	needPoppler(t)
	is, _ := testIssuer(t)
	rec := child()
	c, err := is.Issue(rec, issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", writePDF(t, c), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	lines := strings.Split(text, "\n")
	hasLine := func(parts ...string) bool {
		for _, l := range lines {
			all := true
			for _, p := range parts {
				all = all && strings.Contains(l, p)
			}
			if all {
				return true
			}
		}
		return false
	}
	for _, want := range []string{
		"Official Immunization Certificate", "Example State Immunization Information System",
		"Amelia Rose Quiñones", "03/14/2019", c.ID, "09/01/2026 2:30 PM UTC",
		"Page 1 of", "SMART Health Card",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("certificate text lacks %q", want)
		}
	}
	codes := codeset.Default()
	shown := 0
	for _, d := range ShownDoses(rec.Doses) {
		v, _ := codes.Vaccine(d.CVX)
		name := capitalize(v.ShortName)
		if d.CompletionStatus == "PA" {
			name += " (partial dose)"
		}
		if !hasLine(usDate(d.AdministeredAt), name) {
			t.Errorf("no line with dose %s %q", usDate(d.AdministeredAt), name)
		}
		shown++
	}
	if shown != 28 {
		t.Errorf("%d doses shown, want 28", shown)
	}
	// A combination vaccine appears under each of its groups: DTaP-Hep B-IPV
	// under diphtheria/tetanus/pertussis, hepatitis B and polio.
	if n := strings.Count(text, "DTaP-Hep B-IPV"); n != 9 {
		t.Errorf("DTaP-Hep B-IPV printed %d times, want 9 (3 doses x 3 groups)", n)
	}
	for _, g := range []string{"Hepatitis B", "Diphtheria, tetanus, pertussis", "Polio", "Measles, mumps, rubella (MMR)", "Varicella (chickenpox)", "Influenza"} {
		if !strings.Contains(text, g) {
			t.Errorf("no vaccine group %q", g)
		}
	}
	born := rec.Patient.BirthDate
	for _, absent := range []time.Time{born.AddDate(0, 11, 7), born.AddDate(0, 11, 8), born.AddDate(0, 11, 9)} {
		if strings.Contains(text, usDate(absent)) {
			t.Errorf("a refused, not administered or deleted dose (%s) is shown", usDate(absent))
		}
	}
	if !hasLine(usDate(born.AddDate(0, 30, 0)), "History of varicella infection", "Physician diagnosis") {
		t.Error("no evidence of immunity line")
	}
	if !hasLine(usDate(born.AddDate(0, 8, 0)), "Rotavirus", "Medical (permanent) exemption") {
		t.Error("no permanent exemption line")
	}
	if !hasLine("Dana Whitfield", "Riverside Pediatrics") {
		t.Error("the issuer (user, organization) is not named")
	}
	if t.Failed() {
		t.Logf("pdftotext:\n%s", text)
	}
}

// decodeQRFromPDF renders the PDF's first page as a scanner would see it
// and decodes the QR code on it.
func decodeQRFromPDF(t *testing.T, pdf string) string {
	t.Helper()
	prefix := filepath.Join(t.TempDir(), "page")
	if out, err := exec.Command("pdftoppm", "-r", "150", "-f", "1", "-l", "1", "-png", "-singlefile", pdf, prefix).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(prefix + ".png")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code decoded on the rendered page: %v", err)
	}
	return res.GetText()
}

// fetchJWKS gets the issuer's keys over HTTP from the handler iisd mounts.
func fetchJWKS(t *testing.T, keys *Keys) jose.JSONWebKeySet {
	t.Helper()
	srv := httptest.NewServer(keys.Handler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != "*" || resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("JWKS: %s, CORS %q, type %q", resp.Status, resp.Header.Get("Access-Control-Allow-Origin"), resp.Header.Get("Content-Type"))
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestCertificateQRVerifies scans the QR code off the rendered page,
// decodes the health card, verifies it against the JWKS served over HTTP
// and finds the patient and every dose in its FHIR bundle.
func TestCertificateQRVerifies(t *testing.T) {
	needPoppler(t)
	is, keys := testIssuer(t)
	rec := child()
	c, err := is.Issue(rec, issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	text := decodeQRFromPDF(t, writePDF(t, c))
	if text != c.QR || !regexp.MustCompile(`^shc:/[0-9]+$`).MatchString(text) {
		t.Fatalf("QR text %.40q…, want the certificate's shc:/ numeric text", text)
	}
	jws, err := DecodeQR(text)
	if err != nil {
		t.Fatal(err)
	}
	card, err := VerifyCard(jws, fetchJWKS(t, keys))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("health card: %d JWS characters, %d QR digits", len(jws), len(text)-len(QRPrefix))
	if card.Issuer != "https://iis.example.org" || !card.NotBefore.Equal(c.IssuedAt) || card.KeyID != keys.SigningKeyID() {
		t.Errorf("card iss %q nbf %v kid %q", card.Issuer, card.NotBefore, card.KeyID)
	}
	if !slices.Equal(card.Types, []string{TypeHealthCard, TypeImmunization}) {
		t.Errorf("vc.type %q", card.Types)
	}
	if card.Patient.Family != "Quiñones" || !slices.Equal(card.Patient.Given, []string{"Amelia", "Rose"}) || card.Patient.BirthDate != "2019-03-14" {
		t.Errorf("card patient %+v", card.Patient)
	}
	var want, got []string
	for _, d := range ShownDoses(rec.Doses) {
		want = append(want, d.CVX+"@"+d.AdministeredAt.Format(time.DateOnly))
	}
	for _, d := range card.Doses {
		got = append(got, d.CVX+"@"+d.Date)
	}
	if !slices.Equal(got, want) {
		t.Errorf("card doses\n got %q\nwant %q", got, want)
	}
	if len(jws) > MaxSingleQRJWS {
		t.Errorf("health card JWS is %d characters, over the single-QR limit %d", len(jws), MaxSingleQRJWS)
	}
}

// TestJWSHeader checks the compact JWS header a verifier reads first.
func TestJWSHeader(t *testing.T) {
	is, keys := testIssuer(t)
	c, err := is.Issue(child(), issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := jose.ParseSignedCompact(c.HealthCard, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	h := obj.Signatures[0].Protected
	if h.Algorithm != "ES256" || h.ExtraHeaders["zip"] != "DEF" || h.KeyID != keys.SigningKeyID() {
		t.Errorf("header alg %q zip %v kid %q", h.Algorithm, h.ExtraHeaders["zip"], h.KeyID)
	}
	// The payload is raw DEFLATE, not zlib or gzip: it starts with neither
	// header and inflates as such.
	z := obj.UnsafePayloadWithoutVerification()
	if len(z) > 2 && (z[0] == 0x78 || (z[0] == 0x1f && z[1] == 0x8b)) {
		t.Errorf("payload looks zlib/gzip framed: % x", z[:2])
	}
}

func TestIssueRefusesIncompleteRecords(t *testing.T) {
	is, _ := testIssuer(t)
	noName := child()
	noName.Patient.Names = nil
	noBirth := child()
	noBirth.Patient.BirthDate = time.Time{}
	for _, tc := range []struct {
		name string
		rec  Record
		by   IssuedBy
		want string
	}{
		{"no name", noName, issuedBy, "no name"},
		{"no birth date", noBirth, issuedBy, "no birth date"},
		{"no user", child(), IssuedBy{Organization: "Riverside Pediatrics"}, "organization and user"},
		{"no organization", child(), IssuedBy{User: "Dana Whitfield"}, "organization and user"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := is.Issue(tc.rec, tc.by)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
}

func TestShownDoses(t *testing.T) {
	d := day(2020, 1, 1)
	for _, tc := range []struct {
		name string
		v    iis.Vaccination
		show bool
	}{
		{"complete", iis.Vaccination{CVX: "20", AdministeredAt: d, CompletionStatus: "CP"}, true},
		{"completion not sent", iis.Vaccination{CVX: "20", AdministeredAt: d}, true},
		{"partially administered", iis.Vaccination{CVX: "20", AdministeredAt: d, CompletionStatus: "PA"}, true},
		{"historical", iis.Vaccination{CVX: "45", AdministeredAt: d, Historical: true}, true},
		{"refused", iis.Vaccination{CVX: "20", AdministeredAt: d, CompletionStatus: "RE"}, false},
		{"not administered", iis.Vaccination{CVX: "20", AdministeredAt: d, CompletionStatus: "NA"}, false},
		{"deleted", iis.Vaccination{CVX: "20", AdministeredAt: d, Action: "D"}, false},
		{"no vaccine administered", iis.Vaccination{CVX: "998", AdministeredAt: d}, false},
		{"no date", iis.Vaccination{CVX: "20"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := len(ShownDoses([]iis.Vaccination{tc.v})) == 1; got != tc.show {
				t.Errorf("shown %v, want %v", got, tc.show)
			}
		})
	}
}

func TestImmunitiesFrom(t *testing.T) {
	rec := child()
	rec.Patient.Observations = []iis.Observation{
		{ID: iis.Code{Code: "59784-9"}, Coded: iis.Code{Code: "14189004", Text: "History of measles infection"}, Date: day(2021, 5, 6)},
		{ID: iis.Code{Code: "30945-0"}, Coded: iis.Code{Code: "VXC30"}},
	}
	got := ImmunitiesFrom(&rec.Patient, rec.Doses)
	want := []Immunity{
		{Disease: "14189004", Text: "History of measles infection", Date: day(2021, 5, 6)},
		{Disease: "38907003", Text: "History of varicella infection", Date: rec.Patient.BirthDate.AddDate(0, 30, 0)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("immunities\n got %+v\nwant %+v", got, want)
	}
}

func TestTranslateToWindows1252(t *testing.T) {
	for in, want := range map[string]string{
		"Quiñones":   "Qui\xf1ones",
		"Zoë – Łódź": "Zo\xeb \x96 ?\xf3dz",
		"Nguyễn":     "Nguyen",
		"李":          "?",
	} {
		if got := tr(in); got != want {
			t.Errorf("tr(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkCertificatePDF issues the certificate of a child with 28 doses
// shown: health card signature, QR code and PDF. It reports the p50 and
// p99 of the iterations besides the mean.
func BenchmarkCertificatePDF(b *testing.B) {
	is, _ := testIssuer(b)
	rec := child()
	times := make([]time.Duration, 0, b.N)
	var size int
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		c, err := is.Issue(rec, issuedBy)
		if err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		size = len(c.PDF)
	}
	slices.Sort(times)
	q := func(p float64) float64 { return float64(times[int(p*float64(len(times)-1))].Microseconds()) / 1000 }
	b.ReportMetric(q(0.50), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(size), "pdf-bytes")
}

// TestIssueConcurrently: one Issuer serves many requests at once (run
// with -race), each certificate with its own id and a valid card.
func TestIssueConcurrently(t *testing.T) {
	is, keys := testIssuer(t)
	const n = 8
	certs := make(chan *Certificate, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := is.Issue(child(), issuedBy)
			if err != nil {
				errs <- err
				return
			}
			certs <- c
		}()
	}
	ids := map[string]bool{}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case c := <-certs:
			if ids[c.ID] {
				t.Errorf("certificate id %s issued twice", c.ID)
			}
			ids[c.ID] = true
			if _, err := VerifyCard(c.HealthCard, keys.JWKS()); err != nil {
				t.Error(err)
			}
		}
	}
}

// TestCertificateTooLongForAQRCode: a record of 300 doses still gets its
// certificate, every dose printed, with a note in place of the QR code,
// and a health card (as a file) that verifies.
func TestCertificateTooLongForAQRCode(t *testing.T) {
	needPoppler(t)
	is, keys := testIssuer(t)
	rec := child()
	rec.Doses = nil
	start := day(1960, time.October, 1)
	cvx := []string{"141", "150", "158", "161", "171", "185", "186", "197", "205", "115", "113", "09", "138", "43", "52", "83", "62", "165", "187", "121"}
	for i := range 300 {
		rec.Doses = append(rec.Doses, iis.Vaccination{CVX: cvx[i*7%len(cvx)], AdministeredAt: start.AddDate(0, 0, 37*i+i*i%11), CompletionStatus: "CP"})
	}
	c, err := is.Issue(rec, issuedBy)
	if err != nil {
		t.Fatal(err)
	}
	if c.QR != "" {
		t.Errorf("a %d-character card got a QR code", len(c.HealthCard))
	}
	card, err := VerifyCard(c.HealthCard, keys.JWKS())
	if err != nil || len(card.Doses) != 300 {
		t.Fatalf("card: %v doses, %v", card, err)
	}
	out, err := exec.Command("pdftotext", "-layout", writePDF(t, c), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, out)
	}
	text := string(out)
	// The note wraps in its box beside other text: read it in reading
	// order (no -layout), compare words only.
	raw, err := exec.Command("pdftotext", "-l", "1", writePDF(t, c), "-").CombinedOutput()
	if err != nil {
		t.Fatalf("pdftotext: %v\n%s", err, raw)
	}
	words := strings.Join(strings.Fields(string(raw)), " ")
	if !strings.Contains(words, "too long for a SMART Health Card QR code") || strings.Contains(words, "The QR code is") {
		t.Errorf("no note in place of the QR code, or one about a QR code: %.600s", words)
	}
	for _, d := range rec.Doses {
		if !strings.Contains(text, usDate(d.AdministeredAt)) {
			t.Errorf("dose of %s not printed", usDate(d.AdministeredAt))
		}
	}
	if !strings.Contains(text, "(continued)") {
		t.Error("a group continued on the next page has no heading there")
	}
}
