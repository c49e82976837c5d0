package accounts

import (
	"context"

	"github.com/iisproject/iis/registry"
)

// Relationship is what ties an organization to a patient, as the registry
// knows it; later pages ask a [Relationships] for it before showing a
// patient.
type Relationship struct {
	// Reported: the organization (a clinic) reported a dose or a record
	// of the patient.
	Reported bool
	// Queried: the organization queried the patient's record (QBP).
	Queried bool
	// Searched: the user found the patient by name and birth date and
	// recorded why (SearchReason must not be empty to count).
	Searched     bool
	SearchReason string
	// OptedOut: the patient (or guardian) opted out of the registry, or
	// the record is protected.
	OptedOut bool
}

// Relationships looks up a patient's relationship to an organization (the
// registry implements it).
type Relationships interface {
	Relationship(ctx context.Context, patientID, orgID int64) (Relationship, error)
}

// Access is what a user may see of a patient.
type Access int

// The levels of access, from none to the whole record.
const (
	NoAccess Access = iota
	// CertificateOnly: the official immunization certificate (name,
	// birth date, doses), nothing else of the record.
	CertificateOnly
	// FullRecord: the Immunization Home, history, forecast, data entry.
	FullRecord
)

func (a Access) String() string {
	switch a {
	case CertificateOnly:
		return "certificate only"
	case FullRecord:
		return "full record"
	}
	return "no access"
}

// Scope says what a user with role may see of a patient related to the
// user's organization by rel:
//   - program administrators and staff see every record, opted-out ones
//     included (and only they see opted-out records);
//   - clinic users and vaccine coordinators see the patients their clinic
//     reported or queried, and patients they found by name and birth date
//     with a recorded reason;
//   - school nurses see the certificate of a patient found by name and
//     birth date with a recorded reason, nothing more;
//   - integration engineers see no patient records here (they work with
//     messages in the operations console).
func Scope(role Role, rel Relationship) Access {
	if role.Program() {
		return FullRecord
	}
	if rel.OptedOut {
		return NoAccess
	}
	searched := rel.Searched && rel.SearchReason != ""
	switch role {
	case ClinicUser, VaccineCoordinator:
		if rel.Reported || rel.Queried || searched {
			return FullRecord
		}
	case SchoolNurse:
		if searched {
			return CertificateOnly
		}
	}
	return NoAccess
}

// PatientAccess looks up the relationship of u's organization to the
// patient and applies Scope. A disabled user has no access.
func PatientAccess(ctx context.Context, rels Relationships, u User, patientID int64, searchReason string) (Access, error) {
	if u.Disabled() {
		return NoAccess, nil
	}
	rel, err := rels.Relationship(ctx, patientID, u.OrgID)
	if err != nil {
		return NoAccess, err
	}
	if searchReason != "" {
		rel.Searched, rel.SearchReason = true, searchReason
	}
	return Scope(u.Role, rel), nil
}

// RelationReader is the registry's store as far as the scope needs it.
type RelationReader interface {
	Relation(ctx context.Context, patientID, orgID int64, facility string) (registry.Relation, error)
}

// RegistryRelationships answers Relationship from the registry: a clinic's
// reports and queries under its facility id, records opened with a
// recorded reason, and the patient's opt-out or protection. A school has
// no facility id: only a recorded reason relates it to a patient.
type RegistryRelationships struct {
	Accounts *Store
	Registry RelationReader
}

var _ Relationships = RegistryRelationships{}

// Relationship implements Relationships.
func (r RegistryRelationships) Relationship(ctx context.Context, patientID, orgID int64) (Relationship, error) {
	org, err := r.Accounts.Organization(ctx, orgID)
	if err != nil {
		return Relationship{}, err
	}
	rel, err := r.Registry.Relation(ctx, patientID, orgID, org.FacilityID)
	if err != nil {
		return Relationship{}, err
	}
	return RelationshipOf(rel), nil
}

// RelationshipOf is the scope's view of the registry's relation.
func RelationshipOf(r registry.Relation) Relationship {
	return Relationship{Reported: r.Reported, Queried: r.Queried, Searched: r.SearchReason != "", SearchReason: r.SearchReason, OptedOut: r.OptedOut}
}
