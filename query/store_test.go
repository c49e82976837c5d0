package query

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/iisproject/iis/hl7/immz"
	"github.com/iisproject/iis/registry"
	"github.com/iisproject/iis/registry/pgtest"
)

// storeWith returns a registry in a new database holding the given sample
// reports, stored as the worker stores them.
func storeWith(t *testing.T, files ...string) *StoreRegistry {
	t.Helper()
	ctx := context.Background()
	st, err := registry.Open(ctx, registry.Config{URL: pgtest.NewDatabase(t), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	v := immz.New(immz.Config{Now: func() time.Time { return now }})
	var msgs []*registry.Message
	for i, f := range files {
		r := v.Decode(sample(t, f))
		if r.VXU == nil {
			t.Fatalf("%s: not a VXU", f)
		}
		msgs = append(msgs, &registry.Message{Kind: "vxu", Facility: "CLINIC", ControlID: fmt.Sprint("M", i), Type: "VXU", Ack: "AA",
			Transport: "test", Received: now, Raw: sample(t, f), Decoded: r})
	}
	if err := pgx.BeginFunc(ctx, st.Pool(), func(tx pgx.Tx) error {
		_, err := st.ApplyBulk(ctx, tx, msgs)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	reg := FromStore(st)
	t.Cleanup(reg.Close)
	return reg
}

// TestStoreRegistry: queries against reports stored in PostgreSQL find the
// patient by identifier (or, without one, by the matcher as a possible
// match), mark the protected child, and load the consolidated record as
// the reports gave it.
func TestStoreRegistry(t *testing.T) {
	reg := storeWith(t, "cdc-ig/vxu_z22_ig_ex1_basic_historical_plus_2_admin_vfc_vis.hl7",
		"nist/vxu_z22_nist_iz001_variant_alias_names_multi_address_4rxa.hl7",
		"gathered/nist-onc-2015/vxu_z22_onc2015_iz_ad3_child_protection_PD1-12_Y.hl7")
	v := immz.New(immz.Config{Now: func() time.Time { return now }})
	ctx := context.Background()
	type want struct {
		confident, protected bool
		// byIdentifier: the record came with the candidates (found by
		// identifier, in the same round trip).
		byIdentifier        bool
		names, addresses    []string // family^given^middle^type; street|city|type
		identifiers, phones []string
		guardians           []string // family^given^relationship^phone
		cvx                 []string // doses in date order (NDC when no CVX)
	}
	snow := want{
		confident: true, byIdentifier: true,
		names: []string{"Snow^Madelynn^Ainsley^L", "S^M^A^A"},
		// Addresses in street order; the birth-place row has no street.
		addresses:   []string{"||BDL", "123 E Main Street|Anytown|M", "32 Prescott Street Ave|Warwick|L"},
		identifiers: []string{"D26376273^NIST MPI^MR"}, phones: []string{"6575558563"},
		guardians: []string{"Lam^Morgan^MTH^6575558563"},
		cvx:       []string{"140", "03", "09", "09"}, // RXA-5 sent as NDC 33332-0010-01: its CVX from CDC's NDC list
	}
	possible := func(w want) want { w.confident, w.byIdentifier = false, false; return w }
	tests := []struct {
		name, qpd string
		want      []want
	}{
		{"identifier", "D26376273^^^NIST MPI^MR|Snow^Madelynn^^^^^L||20070706|F", []want{snow}},
		// Two identifiers naming her: one candidate, her doses once.
		{"two identifiers", "D26376273^^^NIST MPI^MR~D26376273^^^NIST MPI|Snow^Madelynn^^^^^L||20070706|F", []want{snow}},
		// An identifier of another type is not the same identifier: the
		// name and birth date make her a possible match only.
		{"identifier of another type", "D26376273^^^NIST MPI^SR|Snow^Madelynn^^^^^L||20070706|F", []want{possible(snow)}},
		{"IG child", "432155^^^dcs^MR|Patient^Johnny^^^^^L||20110411|M", []want{{
			confident: true, byIdentifier: true, names: []string{"Patient^Johnny^New^L"}, addresses: []string{"123 Any St|Somewhere|L"},
			identifiers: []string{"432155^dcs^MR"}, phones: []string{"1112320112"}, guardians: []string{"Patient^Sally^MTH^"},
			cvx: []string{"85", "110", "48"},
		}}},
		{"protected", "89778^^^wcEHR^MR|Benton^Katherine^^^^^L||20031221|F", []want{{
			confident: true, protected: true, byIdentifier: true, names: []string{"Benton^Katherine^Mackenzie^L"}, addresses: []string{"89 West 21st Ave|Bozeman|P"},
			identifiers: []string{"89778^wcEHR^MR"}, phones: []string{"4065554019"}, guardians: []string{"Benton^Kari^MTH^4065554019"},
			cvx: []string{"118"},
		}}},
		{"no identifier: name and birth date", "^^^^MR|Snow^Madelynn^^^^^L||20070706|F", []want{possible(snow)}},
		{"unknown", "999^^^dcs^MR|Nobody^Nemo^^^^^L||20200101|M", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := v.Decode([]byte("MSH|^~\\&|EHR|C|IIS|STATE|20261125||QBP^Q11^QBP_Q11|Q1|P|2.5.1|||ER|AL|||||Z44^CDCPHINVS\r" +
				"QPD|Z44^Request Evaluated History and Forecast^CDCPHINVS|T1|" + tt.qpd + "\rRCP|I|5^RD&Records&HL70126\r"))
			cands, err := reg.FindPatients(ctx, r.Query)
			if err != nil {
				t.Fatal(err)
			}
			if len(cands) != len(tt.want) {
				t.Fatalf("%d candidates, want %d: %+v", len(cands), len(tt.want), cands)
			}
			for i, c := range cands {
				w := tt.want[i]
				if c.Confident != w.confident || c.Protected != w.protected {
					t.Errorf("confident %v protected %v, want %v %v", c.Confident, c.Protected, w.confident, w.protected)
				}
				p, doses, err := reg.History(ctx, c.PatientID)
				if err != nil {
					t.Fatal(err)
				}
				if c.HasHistory && fmt.Sprint(c.Patient, c.Doses) != fmt.Sprint(p, doses) {
					t.Errorf("record read with the candidates\n%+v\n%+v\ndiffers from History's\n%+v\n%+v", c.Patient, c.Doses, p, doses)
				}
				var got want
				got.confident, got.protected, got.byIdentifier = c.Confident, c.Protected, c.HasHistory
				for _, n := range p.Names {
					got.names = append(got.names, n.Family+"^"+n.Given+"^"+n.Middle+"^"+n.Type)
				}
				for _, a := range p.Addresses {
					got.addresses = append(got.addresses, a.Street+"|"+a.City+"|"+a.Type)
				}
				for _, id := range p.Identifiers {
					got.identifiers = append(got.identifiers, id.Value+"^"+id.Authority+"^"+id.Type)
				}
				for _, ph := range p.Phones {
					got.phones = append(got.phones, ph.Number())
				}
				for _, g := range p.Guardians {
					phone := ""
					if len(g.Phones) > 0 {
						phone = g.Phones[0].Number()
					}
					got.guardians = append(got.guardians, g.Name.Family+"^"+g.Name.Given+"^"+g.Relationship.Code+"^"+phone)
				}
				for _, d := range doses {
					// ORC-3 comes back as value and namespace, never one
					// escaped value (it is stored as value^namespace).
					if d.FillerOrder.Value != "" && (strings.Contains(d.FillerOrder.Value, "^") || d.FillerOrder.Authority == "") {
						t.Errorf("filler order %+v", d.FillerOrder)
					}
					if tt.name == "IG child" && d.FillerOrder.Authority != "DCS" {
						t.Errorf("IG child's filler order %+v, want namespace DCS", d.FillerOrder)
					}
					code := d.CVX
					if code == "" {
						code = d.NDC
					}
					got.cvx = append(got.cvx, code)
				}
				if fmt.Sprint(got) != fmt.Sprint(w) {
					t.Errorf("record\n got %+v\nwant %+v", got, w)
				}
				// A candidate list loads the same demographics.
				if !c.Confident {
					if fmt.Sprint(c.Patient) != fmt.Sprint(p) {
						t.Errorf("candidate demographics\n%+v\ndiffer from the history's\n%+v", c.Patient, p)
					}
				}
			}
		})
	}
}
