package soap

// CheckPassword reports whether password matches hash, a bcrypt or
// argon2id (PHC form) hash as [Account.PasswordHash] takes; an error means
// the hash itself is malformed. It takes the hash's full time: callers
// bound how many run at once.
func CheckPassword(hash, password string) (bool, error) {
	v, err := parseHash(hash)
	if err != nil {
		return false, err
	}
	return v.verify(password), nil
}
