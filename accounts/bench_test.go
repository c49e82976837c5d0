package accounts

import (
	"context"
	"testing"
)

// BenchmarkSession is what every page view costs: finding the session by
// its token's hash and marking it used (one UPDATE … RETURNING).
func BenchmarkSession(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	tok, _, err := f.s.StartSession(ctx, f.admin, true, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := f.s.Session(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSignIn is a sign-in with the right password: the throttle's
// look-ups and the bcrypt check (cost 12) of soap.HashPassword.
func BenchmarkSignIn(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.ResetTimer()
	for b.Loop() {
		if _, err := f.s.SignIn(ctx, "admin", "program-admin-pw", "bench"); err != nil {
			b.Fatal(err)
		}
	}
}
