// Package accounts is the registry's people: organizations (the state
// immunization program, clinics, schools), their users and roles, the
// account request and approval flow, passwords with a TOTP second factor,
// sign-in throttling, sessions kept in PostgreSQL, one-time links, and the
// outbox of messages to users with its SMTP sender. It owns its tables
// (migrations 0020+ under registry/migrations) and writes its audit
// events through the registry's audit log.
//
// The access policy for patient records (Scope) lives here too, so that
// every page that shows a patient asks the same question the same way.
//
// TOTP codes (RFC 6238) are made and checked with github.com/pquerna/otp,
// a maintained library that also renders the enrolment QR code.
package accounts

// Role is what a user does in the registry.
type Role string

// The roles.
const (
	// ProgramAdmin runs the registry for the state program: everything
	// program staff do, plus user management and the outbox.
	ProgramAdmin Role = "program_admin"
	// ProgramStaff approve or deny account requests, reset passwords and
	// see every patient, opted-out ones included.
	ProgramStaff Role = "program_staff"
	// ClinicUser sees and records the clinic's patients.
	ClinicUser Role = "clinic_user"
	// VaccineCoordinator is a clinic user who also answers for the
	// clinic's vaccine (primary or backup; one of each per clinic).
	VaccineCoordinator Role = "vaccine_coordinator"
	// SchoolNurse views and prints immunization certificates.
	SchoolNurse Role = "school_nurse"
	// IntegrationEngineer onboards EHR interfaces (the operations
	// console); no patient records on the people's pages.
	IntegrationEngineer Role = "integration_engineer"
)

// Roles lists every role, program roles first.
var Roles = []Role{ProgramAdmin, ProgramStaff, ClinicUser, VaccineCoordinator, SchoolNurse, IntegrationEngineer}

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	for _, x := range Roles {
		if r == x {
			return true
		}
	}
	return false
}

// Label is the role's name for people.
func (r Role) Label() string {
	switch r {
	case ProgramAdmin:
		return "Program administrator"
	case ProgramStaff:
		return "Program staff"
	case ClinicUser:
		return "Clinic user"
	case VaccineCoordinator:
		return "Vaccine coordinator"
	case SchoolNurse:
		return "School nurse"
	case IntegrationEngineer:
		return "Integration engineer"
	}
	return string(r)
}

// Program reports whether r belongs to the state program.
func (r Role) Program() bool { return r == ProgramAdmin || r == ProgramStaff }

// TOTPRequired reports whether users with role r must give a second factor
// (program roles: they see every patient and decide who gets access).
func (r Role) TOTPRequired() bool { return r.Program() }

// OrgKind is the kind of organization a role belongs to.
func (r Role) OrgKind() OrgKind {
	switch r {
	case ProgramAdmin, ProgramStaff, IntegrationEngineer:
		return Program
	case SchoolNurse:
		return School
	}
	return Clinic
}

// Requestable reports whether r may be asked for on the public request
// form (program roles are created by a program administrator).
func (r Role) Requestable() bool {
	return r == ClinicUser || r == VaccineCoordinator || r == SchoolNurse
}

// Permission is something a user may do on the people's pages.
type Permission int

// The permissions.
const (
	DecideRequests      Permission = iota // approve or deny account requests
	ResetPasswords                        // send a user a password-reset link
	ManageUsers                           // disable and re-enable users
	ReadOutbox                            // read the messages sent to users
	ManageOrganizations                   // add clinics and schools
	EnterData                             // register patients, record and correct the clinic's doses
	ViewCoverage                          // run coverage reports (a clinic's own; program staff any)
)

// FHIR Bulk Data (packages smart, bulk, fhirclients): program staff
// register the backend clients that get access tokens, and disable them.
const (
	ManageFHIRClients Permission = iota + 450 // register, disable and re-enable FHIR backend clients
)

// May reports whether role r has permission p.
func (r Role) May(p Permission) bool {
	switch p {
	case DecideRequests, ResetPasswords:
		return r.Program()
	case ManageUsers, ReadOutbox, ManageOrganizations:
		return r == ProgramAdmin
	case EnterData:
		return r == ClinicUser || r == VaccineCoordinator
	case ViewCoverage:
		return r.Program() || r == ClinicUser || r == VaccineCoordinator
	case ManageFHIRClients:
		return r.Program()
	}
	return r.mayInventory(p) || r.mayOrdering(p)
}

// Vaccine inventory (package inventory): its permissions, numbered apart
// from the list above.
const (
	ViewInventory   Permission = 1900 + iota // see a clinic's stock, alerts, unmatched lots and borrowing (program staff: any clinic)
	ManageInventory                          // receive, transfer, waste, count and map lots: the clinic's vaccine coordinator
)

func (r Role) mayInventory(p Permission) bool {
	switch p {
	case ViewInventory:
		return r.Program() || r == ClinicUser || r == VaccineCoordinator
	case ManageInventory:
		return r == VaccineCoordinator
	}
	return false
}

// Vaccine ordering and VFC accountability (packages ordering and
// accountability): their permissions, numbered apart from the lists above.
const (
	ViewOrders    Permission = 1950 + iota // see a clinic's vaccine orders (program staff: every clinic's)
	PlaceOrders                            // build, submit and receive the clinic's orders: the vaccine coordinator
	DecideOrders                           // approve, change or deny orders: program staff
	ViewVFCReport                          // the VFC doses-administered report (a clinic's own; program staff every clinic)
	RecallLots                             // lot recall search (a clinic's own doses; program staff every clinic, opted-out patients included)
)

func (r Role) mayOrdering(p Permission) bool {
	switch p {
	case ViewOrders, ViewVFCReport, RecallLots:
		return r.Program() || r == ClinicUser || r == VaccineCoordinator
	case PlaceOrders:
		return r == VaccineCoordinator
	case DecideOrders:
		return r.Program()
	}
	return false
}

// OrgKind is the kind of an organization.
type OrgKind string

// The kinds of organization.
const (
	Program OrgKind = "program"
	Clinic  OrgKind = "clinic"
	School  OrgKind = "school"
)

// Coordinator says whether a vaccine coordinator is the clinic's primary or
// backup one.
type Coordinator string

// Primary and Backup coordinators; a clinic has at most one of each.
const (
	Primary Coordinator = "primary"
	Backup  Coordinator = "backup"
)
