package smart

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
)

// Authenticate returns next behind the bearer token check: a request
// without a live access token is answered 401 with an OperationOutcome;
// otherwise next runs with the token's Grant in the request's context.
func (s *Server) Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || token == "" {
			Unauthorized(w, "a Bearer access token is required (POST /auth/token)")
			return
		}
		g, err := s.cfg.Store.Token(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, ErrBadToken) {
			Unauthorized(w, "the access token is invalid or expired")
			return
		}
		if err != nil {
			s.cfg.Logger.Error("token lookup", "err", err)
			WriteOutcome(w, http.StatusInternalServerError, "exception", "the access token could not be checked")
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), g)))
	})
}

// Unauthorized answers 401 with a Bearer challenge and an OperationOutcome.
func Unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
	WriteOutcome(w, http.StatusUnauthorized, "login", msg)
}

// WriteOutcome answers status with a FHIR OperationOutcome of one error
// issue of the given code.
func WriteOutcome(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"resourceType": "OperationOutcome",
		"issue":        []map[string]string{{"severity": "error", "code": code, "diagnostics": msg}},
	})
}

// Identify is Authenticate for handlers that answer some requests without
// a token (the FHIR API's CapabilityStatement) and check for the grant
// themselves: a request without an Authorization header goes to next
// without a grant; one with a token that is not live is answered 401.
func (s *Server) Identify(next http.Handler) http.Handler {
	checked := s.Authenticate(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			next.ServeHTTP(w, r)
			return
		}
		checked.ServeHTTP(w, r)
	})
}
