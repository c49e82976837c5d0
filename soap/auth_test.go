package soap

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestAccounts(t *testing.T) {
	a := testAccounts(t)
	tests := []struct {
		name                 string
		user, pass, facility string
		want                 Facility
		wantErr              bool
	}{
		{"bcrypt, listed facility", user1, pass1, "FAC1", Facility{user1, "FAC1"}, false},
		{"bcrypt, empty facility, single facility", user1, pass1, "", Facility{user1, "FAC1"}, false},
		{"bcrypt, second listed facility", user2, pass2, "FAC3", Facility{user2, "FAC3"}, false},
		{"bcrypt, empty facility, several facilities", user2, pass2, "", Facility{}, true},
		{"bcrypt, facility not listed", user2, pass2, "FAC1", Facility{}, true},
		{"argon2id, wildcard facility", userHub, passHub, "WHATEVER", Facility{userHub, "WHATEVER"}, false},
		{"argon2id, empty facility with wildcard", userHub, passHub, "", Facility{}, true},
		{"wrong password", user1, pass2, "FAC1", Facility{}, true},
		{"password prefix", user1, pass1[:len(pass1)-1], "FAC1", Facility{}, true},
		{"password with suffix", user1, pass1 + "x", "FAC1", Facility{}, true},
		{"argon2id wrong password", userHub, passHub + "!", "X", Facility{}, true},
		{"unknown user", "mallory", pass1, "FAC1", Facility{}, true},
		{"empty username", "", "", "", Facility{}, true},
		{"username case matters", strings.ToUpper(user1), pass1, "FAC1", Facility{}, true},
	}
	// Twice: the second round runs with the verified-password cache warm.
	for round := 1; round <= 2; round++ {
		for _, tc := range tests {
			got, err := a.Authenticate(context.Background(), tc.user, tc.pass, tc.facility)
			if tc.wantErr {
				if !errors.Is(err, ErrUnauthorized) {
					t.Errorf("round %d, %s: err = %v, want ErrUnauthorized", round, tc.name, err)
				}
				continue
			}
			if err != nil || got != tc.want {
				t.Errorf("round %d, %s: got %+v, %v; want %+v", round, tc.name, got, err, tc.want)
			}
		}
	}
}

func TestAccountsContext(t *testing.T) {
	a := testAccounts(t)
	for range cap(a.sem) {
		a.sem <- struct{}{} // every hash slot busy
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := a.Authenticate(ctx, user1, pass1, "FAC1")
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrUnauthorized) {
		t.Errorf("err = %v, want context.Canceled and not ErrUnauthorized", err)
	}
}

func TestNewAccountsRejects(t *testing.T) {
	good := hashBcrypt(t, "pw")
	tests := []struct {
		name     string
		accounts []Account
		want     string
	}{
		{"plain-text password", []Account{{Username: "u", PasswordHash: "secret"}}, "plain-text"},
		{"no hash", []Account{{Username: "u"}}, "no password hash"},
		{"no username", []Account{{PasswordHash: good}}, "no username"},
		{"duplicate", []Account{{Username: "u", PasswordHash: good}, {Username: "u", PasswordHash: good}}, "twice"},
		{"truncated bcrypt", []Account{{Username: "u", PasswordHash: good[:20]}}, "bcrypt"},
		{"argon2i not id", []Account{{Username: "u", PasswordHash: strings.Replace(argonHash("x"), "argon2id", "argon2i", 1)}}, "neither"},
		{"argon2id huge memory", []Account{{Username: "u", PasswordHash: strings.Replace(argonHash("x"), "m=1024", "m=99999999", 1)}}, "out of range"},
		{"argon2id bad salt", []Account{{Username: "u", PasswordHash: strings.Replace(argonHash("x"), "$v=19$m=1024,t=1,p=1$", "$v=19$m=1024,t=1,p=1$!!$", 1)}}, "argon2id"},
	}
	for _, tc := range tests {
		_, err := NewAccounts(tc.accounts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want mention of %q", tc.name, err, tc.want)
		}
	}
}

func TestHashPassword(t *testing.T) {
	h, err := HashPassword("correct horse battery staple")
	if err != nil {
		t.Fatal(err)
	}
	if cost, err := bcrypt.Cost([]byte(h)); err != nil || cost != DefaultBcryptCost {
		t.Errorf("cost %d, %v", cost, err)
	}
	if strings.Contains(h, "horse") {
		t.Error("hash contains the password")
	}
	a, err := NewAccounts([]Account{{Username: "u", PasswordHash: h, Facilities: []string{"F"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(context.Background(), "u", "correct horse battery staple", "F"); err != nil {
		t.Errorf("hash does not verify: %v", err)
	}
	if _, err := HashPassword(strings.Repeat("x", 73)); err == nil {
		t.Error("HashPassword accepted a password bcrypt would truncate")
	}
}

func TestFacilityContext(t *testing.T) {
	if _, ok := FacilityFromContext(context.Background()); ok {
		t.Error("facility in a bare context")
	}
	f := Facility{Username: "u", FacilityID: "F"}
	if got, ok := FacilityFromContext(ContextWithFacility(context.Background(), f)); !ok || got != f {
		t.Errorf("got %+v, %v", got, ok)
	}
}

// TestDummyHashMatchesAccounts checks that unknown users are verified
// against a dummy of the same kind and cost as the configured accounts, so
// that they take as long as a wrong password.
func TestDummyHashMatchesAccounts(t *testing.T) {
	cost5, err := bcrypt.GenerateFromPassword([]byte("x"), 5)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		hashes   []string
		wantKind string
		wantCost int // bcrypt cost, or argon2id memory
	}{
		{"bcrypt, highest cost wins", []string{hashBcrypt(t, "a"), string(cost5)}, "bcrypt", 5},
		{"argon2id only", []string{argonHash("a")}, "argon2id", 1024},
		{"mixed: bcrypt", []string{argonHash("a"), hashBcrypt(t, "b")}, "bcrypt", bcrypt.MinCost},
	}
	for _, tc := range tests {
		var accs []Account
		for i, h := range tc.hashes {
			accs = append(accs, Account{Username: string(rune('a' + i)), PasswordHash: h})
		}
		a, err := NewAccounts(accs)
		if err != nil {
			t.Fatal(err)
		}
		switch d := a.dummy.(type) {
		case bcryptHash:
			if tc.wantKind != "bcrypt" || d.cost != tc.wantCost {
				t.Errorf("%s: dummy bcrypt cost %d", tc.name, d.cost)
			}
		case argon2idHash:
			if tc.wantKind != "argon2id" || int(d.memory) != tc.wantCost || d.time != 1 || len(d.key) != 32 {
				t.Errorf("%s: dummy argon2id %+v", tc.name, d)
			}
		}
	}
}
