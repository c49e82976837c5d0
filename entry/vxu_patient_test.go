package entry

import (
	"strings"
	"testing"
	"time"

	"github.com/iisproject/iis"
)

// TestVXUPatientSegments pins the PID and NK1 a dose entry writes for a
// patient as the registry holds it: every demographic field, the mother's
// maiden name typed M, and neither PD1 nor the death date and indicator.
func TestVXUPatientSegments(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	p := iis.Patient{
		Identifiers:      []iis.Identifier{{Value: "MRN-7781", Authority: "CLINIC-A", Type: "MR"}, {Value: "R-42", Authority: "IIS", Type: "SR"}},
		Names:            []iis.Name{{Family: "Quinlan", Given: "Maeve", Middle: "Rose", Type: "L"}, {Family: "Q", Given: "May", Type: "A"}},
		MotherMaidenName: iis.Name{Family: "Okafor", Given: "Adaeze"},
		BirthDate:        day(2026, 6, 2),
		Sex:              "F",
		Races:            []iis.Code{{Code: "2106-3", Text: "White", System: "CDCREC"}, {}},
		Addresses:        []iis.Address{{Street: "12 Elm St", City: "Hartford", State: "CT", Zip: "06105", Country: "USA", Type: "H", County: "09003"}},
		Phones:           []iis.Phone{{Use: "PRN", Equipment: "PH", Area: "860", Local: "5550142"}, {Use: "NET", Equipment: "X.400", Email: "q@example.org"}},
		Ethnicities:      []iis.Code{{Code: "2186-5", Text: "Not Hispanic or Latino", System: "CDCREC"}},
		MultipleBirth:    "Y",
		BirthOrder:       2,
		DeathDate:        day(2026, 11, 1),
		DeathIndicator:   "Y",
		PublicityCode:    iis.Code{Code: "02", System: "HL70215"},
		Protection:       "N",
		RegistryStatus:   "A",
		PrimaryLanguage:  iis.Code{Code: "spa", Text: "Spanish", System: "HL70296"},
		Guardians: []iis.Guardian{{Name: iis.Name{Family: "Quinlan", Given: "Adaeze", Type: "L"}, Relationship: iis.Code{Code: "MTH", Text: "Mother", System: "HL70063"},
			Addresses: []iis.Address{{Street: "12 Elm St", City: "Hartford", State: "CT", Zip: "06105"}}, Phones: []iis.Phone{{Use: "PRN", Equipment: "PH", Area: "860", Local: "5550199"}}}},
	}
	h := Header{Facility: "CLINIC-A", ControlID: "WEB0123456789ABCDEF", Time: testNow}
	var got []string
	for _, seg := range strings.Split(string(BuildVXU(h, &p, nil)), "\r") {
		if strings.HasPrefix(seg, "PID|") || strings.HasPrefix(seg, "PD1|") || strings.HasPrefix(seg, "NK1|") {
			got = append(got, seg)
		}
	}
	want := []string{
		"PID|1||MRN-7781^^^CLINIC-A^MR~R-42^^^IIS^SR||Quinlan^Maeve^Rose^^^^L~Q^May^^^^^A|Okafor^Adaeze^^^^^M|20260602|F||2106-3^White^CDCREC~|12 Elm St^^Hartford^CT^06105^USA^H^^09003||^PRN^PH^^^860^5550142~^NET^X.400^q@example.org||spa^Spanish^HL70296|||||||2186-5^Not Hispanic or Latino^CDCREC||Y|2",
		"NK1|1|Quinlan^Adaeze^^^^^L|MTH^Mother^HL70063|12 Elm St^^Hartford^CT^06105|^PRN^PH^^^860^5550199",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("patient segments\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The form's language goes into PID-15; one the letters are not printed
// in is a problem beside the field.
func TestPatientFormLanguage(t *testing.T) {
	for _, tc := range []struct {
		lang, want string
		problem    bool
	}{{"", "", false}, {"spa", "spa", false}, {"eng", "eng", false}, {"fra", "", true}} {
		probs := Problems{}
		p := PatientForm{Family: "Ruiz", Given: "Ana", BirthDate: "2024-01-02", Sex: "F", Language: tc.lang}.Patient("CLINIC-A", "WEB1", probs)
		if p.PrimaryLanguage.Code != tc.want || (len(probs.For(fLanguage)) > 0) != tc.problem {
			t.Errorf("language %q: PID-15 %+v, problems %v", tc.lang, p.PrimaryLanguage, probs)
		}
	}
}
