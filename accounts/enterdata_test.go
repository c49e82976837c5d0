package accounts

import "testing"

// TestEnterData: only clinic roles enter patients and doses (they report
// under their clinic's facility id); program staff, school nurses and
// integration engineers do not.
func TestEnterData(t *testing.T) {
	want := map[Role]bool{ClinicUser: true, VaccineCoordinator: true}
	for _, r := range Roles {
		if got := r.May(EnterData); got != want[r] {
			t.Errorf("%s may enter data: %v, want %v", r, got, want[r])
		}
	}
}
