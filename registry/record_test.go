package registry

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/iisproject/iis/match"
	msynth "github.com/iisproject/iis/match/synth"
)

// codecFields are the fields appendMatchRecord and decodeMatchRecord know,
// by type. A field added to match.Record (or to the types it holds)
// fails TestMatchRecordCodecKnowsEveryField until the codec learns it.
var codecFields = map[reflect.Type][]string{
	reflect.TypeFor[match.Record]():     {"Identifiers", "First", "Middle", "Last", "Suffix", "Aliases", "OtherLastNames", "BirthDate", "Sex", "MultipleBirth", "BirthOrder", "MotherMaidenName", "MotherFirst", "Guardians", "Phones", "Addresses"},
	reflect.TypeFor[match.Identifier](): {"Value", "Authority", "Type"},
	reflect.TypeFor[match.Date]():       {"Year", "Month", "Day"},
	reflect.TypeFor[match.PersonName](): {"First", "Last"},
	reflect.TypeFor[match.Address]():    {"Street1", "Street2", "City", "State", "Zip"},
}

func TestMatchRecordCodecKnowsEveryField(t *testing.T) {
	for typ, known := range codecFields {
		var exported []string
		for f := range typ.Fields() {
			if f.IsExported() {
				exported = append(exported, f.Name)
			}
		}
		if !reflect.DeepEqual(exported, known) {
			t.Errorf("%v has exported fields %v; the match_record codec knows %v", typ, exported, known)
		}
	}
}

// viaJSON is what encoding/json decodes from data.
func viaJSON(t *testing.T, data []byte) (match.Record, error) {
	t.Helper()
	var r match.Record
	err := json.Unmarshal(data, &r)
	return r, err
}

// emptyAsNil returns r's exported fields, empty slices as nil:
// appendMatchRecord leaves them out, so encoding/json reads them back as
// nil.
func emptyAsNil(in match.Record) match.Record {
	r := match.Record{Identifiers: in.Identifiers, First: in.First, Middle: in.Middle, Last: in.Last, Suffix: in.Suffix,
		Aliases: in.Aliases, OtherLastNames: in.OtherLastNames, BirthDate: in.BirthDate, Sex: in.Sex,
		MultipleBirth: in.MultipleBirth, BirthOrder: in.BirthOrder, MotherMaidenName: in.MotherMaidenName,
		MotherFirst: in.MotherFirst, Guardians: in.Guardians, Phones: in.Phones, Addresses: in.Addresses}
	if len(r.Identifiers) == 0 {
		r.Identifiers = nil
	}
	if len(r.Aliases) == 0 {
		r.Aliases = nil
	}
	if len(r.OtherLastNames) == 0 {
		r.OtherLastNames = nil
	}
	if len(r.Guardians) == 0 {
		r.Guardians = nil
	}
	if len(r.Phones) == 0 {
		r.Phones = nil
	}
	if len(r.Addresses) == 0 {
		r.Addresses = nil
	}
	return r
}

func TestMatchRecordCodec(t *testing.T) {
	pop := msynth.Generate(msynth.DefaultConfig(3000))
	recs := []*match.Record{
		{},
		{First: `Zoë "Jo"`, Last: "O'Brien\\Smith", Middle: "\x01tab\t", Suffix: "\u2028", Sex: "F",
			Aliases: []string{"", "Ζωή"}, OtherLastNames: []string{}, Phones: []string{"8605551234"},
			BirthDate: match.Date{Year: 2024, Month: 2, Day: 29}, MultipleBirth: match.MultipleBirthYes, BirthOrder: 2,
			Guardians: []match.PersonName{{First: "Ana", Last: "<b>&"}}, Addresses: []match.Address{{}, {Street1: "1 Main St", Zip: "06010"}},
			Identifiers: []match.Identifier{{Value: "123", Authority: "", Type: "MR"}}},
		{Last: "bad \xff utf-8 \xe2\x82", BirthDate: match.Date{Year: -1, Month: 13}, BirthOrder: -7},
	}
	recs = append(recs, pop.Records...)
	for i, r := range recs {
		// appendMatchRecord: encoding/json reads back the same record.
		compact := appendMatchRecord(nil, r)
		got, err := viaJSON(t, compact)
		if err != nil {
			t.Fatalf("record %d: encoding/json cannot read %s: %v", i, compact, err)
		}
		want := emptyAsNil(*r)
		if r == recs[2] {
			// Invalid UTF-8 is replaced, byte by byte, as encoding/json does.
			want.Last = "bad \ufffd utf-8 \ufffd\ufffd"
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("record %d: %s read back as\n%+v, want\n%+v", i, compact, got, want)
		}
		// decodeMatchRecord reads both forms as encoding/json does.
		full, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		for _, data := range [][]byte{compact, full} {
			want, _ := viaJSON(t, data)
			var got match.Record
			if err := decodeMatchRecord(data, &got); err != nil {
				t.Fatalf("record %d: decode %s: %v", i, data, err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("record %d: decode %s:\n%+v, encoding/json:\n%+v", i, data, got, want)
			}
		}
	}
}

// matchRecordInputs are JSON texts the fast path must either read exactly
// as encoding/json does or hand over to it.
var matchRecordInputs = []string{
	`{}`,
	`null`,
	` { "First" : "Ann" , "Last":"Lee" } `,
	`{"First":"A\"nn","Last":"L\u00e9e"}`,
	`{"first":"lower-case key"}`,
	`{"Unknown":1}`,
	`{"BirthDate":{"Year":2020,"Month":1,"Day":2},"MultipleBirth":2,"BirthOrder":0}`,
	`{"BirthDate":null,"Aliases":null,"Identifiers":null,"Phones":[],"Guardians":[]}`,
	`{"BirthOrder":1.0}`,
	`{"BirthOrder":1e2}`,
	`{"BirthOrder":007}`,
	`{"BirthOrder":-0}`,
	`{"MultipleBirth":300}`,
	`{"BirthOrder":99999999999999999999}`,
	`{"Phones":["1",]}`,
	`{"Phones":["1"],}`,
	`{"First":"x"}trailing`,
	`{"First":"x"`,
	`{"First":null,"Sex":"M"}`,
	`{"Identifiers":[{"Value":"1"}],"Identifiers":[{"Type":"MR"}]}`,
	`{"Addresses":[{"Street1":"1 A St","Zip":"06010"},{}]}`,
	"{\"Last\":\"\xff\"}",
	"{\"Last\":\"tab\there\"}",
	`{"Sex":1}`,
	`[]`,
}

func TestDecodeMatchRecordLikeEncodingJSON(t *testing.T) {
	for _, in := range matchRecordInputs {
		checkDecode(t, []byte(in))
	}
}

func checkDecode(t *testing.T, data []byte) {
	t.Helper()
	want, wantErr := viaJSON(t, data)
	var got match.Record
	err := decodeMatchRecord(data, &got)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, encoding/json: %v", data, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n%+v, encoding/json:\n%+v", data, got, want)
	}
}

func FuzzDecodeMatchRecord(f *testing.F) {
	for _, in := range matchRecordInputs {
		f.Add([]byte(in))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecode(t, data)
	})
}

// BenchmarkDecodeMatchRecord decodes a synthetic patient's match_record
// as encoding/json wrote it (the seeded registries before the compact
// form) and in the compact form, with encoding/json and with
// decodeMatchRecord.
func BenchmarkDecodeMatchRecord(b *testing.B) {
	r := msynth.Generate(msynth.DefaultConfig(10)).Records[3]
	full, err := json.Marshal(r)
	if err != nil {
		b.Fatal(err)
	}
	compact := appendMatchRecord(nil, r)
	for _, c := range []struct {
		name string
		data []byte
	}{{"full", full}, {"compact", compact}} {
		b.Run(c.name+"/encoding-json", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r match.Record
				if err := json.Unmarshal(c.data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(c.name+"/decodeMatchRecord", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var r match.Record
				if err := decodeMatchRecord(c.data, &r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
