package fhirapi

import (
	cpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/codes_go_proto"
	dpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/datatypes_go_proto"
	cspb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/resources/capability_statement_go_proto"
	vpb "github.com/google/fhir/go/proto/google/fhir/proto/r4/core/valuesets_go_proto"
)

// TokenURL is SMART Backend Services' token endpoint (package smart), as
// the CapabilityStatement names it.
const TokenURL = "/auth/token"

type searchParam struct {
	name string
	typ  cpb.SearchParamTypeCode_Value
	doc  string
}

type resourceCap struct {
	typ        cpb.ResourceTypeCode_Value
	read       bool
	search     bool
	params     []searchParam
	operations [][2]string // name, definition
	doc        string
}

var capabilities = []resourceCap{
	{typ: cpb.ResourceTypeCode_PATIENT, read: true, search: true,
		params: []searchParam{
			{"identifier", cpb.SearchParamTypeCode_TOKEN, "system|value; the system is the assigning authority"},
			{"name", cpb.SearchParamTypeCode_STRING, "family or given name, from its start"},
			{"family", cpb.SearchParamTypeCode_STRING, ""}, {"given", cpb.SearchParamTypeCode_STRING, ""},
			{"birthdate", cpb.SearchParamTypeCode_DATE, "a day (eq)"}, {"gender", cpb.SearchParamTypeCode_TOKEN, ""},
			{"_count", cpb.SearchParamTypeCode_NUMBER, "page size (at most 100)"},
		},
		operations: [][2]string{{"match", "http://hl7.org/fhir/OperationDefinition/Patient-match"},
			{"immds-forecast", "http://hl7.org/fhir/us/immds/OperationDefinition/immds-forecast"},
			{"export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}},
		doc: "Patient.id is the registry's patient id. Possible matches of $match are returned as such, never merged."},
	{typ: cpb.ResourceTypeCode_IMMUNIZATION, read: true, search: true,
		params: []searchParam{{"patient", cpb.SearchParamTypeCode_REFERENCE, "required"},
			{"date", cpb.SearchParamTypeCode_DATE, "ge, le, gt, lt, eq prefixes"}, {"vaccine-code", cpb.SearchParamTypeCode_TOKEN, "CVX"}},
		doc: "Immunization.id is the registry's id of the dose (the ids search gives); a read answers 404 when the patient may not be disclosed."},
	{typ: cpb.ResourceTypeCode_IMMUNIZATION_EVALUATION, search: true,
		params: []searchParam{{"patient", cpb.SearchParamTypeCode_REFERENCE, "required"}}},
	{typ: cpb.ResourceTypeCode_IMMUNIZATION_RECOMMENDATION, search: true,
		params: []searchParam{{"patient", cpb.SearchParamTypeCode_REFERENCE, "required"}}},
	{typ: cpb.ResourceTypeCode_GROUP, read: true, search: true,
		operations: [][2]string{{"export", "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export"}},
		doc:        "Groups of patients for Bulk Data export (Group/[id]/$export), served by the Bulk Data module."},
}

// capabilityStatement is what GET /fhir/metadata answers.
func capabilityStatement(engineVersion string) *cspb.CapabilityStatement {
	rest := &cspb.CapabilityStatement_Rest{
		Mode: &cspb.CapabilityStatement_Rest_ModeCode{Value: cpb.RestfulCapabilityModeCode_SERVER},
		Security: &cspb.CapabilityStatement_Rest_Security{
			Service: []*dpb.CodeableConcept{conceptOf("http://terminology.hl7.org/CodeSystem/restful-security-service", "SMART-on-FHIR", "SMART-on-FHIR")},
			Description: &dpb.Markdown{Value: "SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384, ES384) at " +
				TokenURL + "; see /.well-known/smart-configuration. Scopes in SMART v2 syntax, e.g. system/Patient.rs."},
		},
		Operation: []*cspb.CapabilityStatement_Rest_Resource_Operation{{
			Name:       fstr("immds-forecast"),
			Definition: &dpb.Canonical{Value: "http://hl7.org/fhir/us/immds/OperationDefinition/immds-forecast"},
			Documentation: &dpb.Markdown{Value: "POST a Parameters with assessmentDate, patient and immunization*; the answer is the " +
				"recommendation (ImmunizationRecommendation) and evaluation* (CDSi " + engineVersion + ")."},
		}},
	}
	rest.Security.Extension = []*dpb.Extension{{
		Url: furi("http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris"),
		Extension: []*dpb.Extension{extension("token",
			&dpb.Extension_ValueX{Choice: &dpb.Extension_ValueX_Uri{Uri: furi(TokenURL)}})},
	}}
	for _, rc := range capabilities {
		rest.Resource = append(rest.Resource, resourceCapability(rc))
	}
	return &cspb.CapabilityStatement{
		Status:      &cspb.CapabilityStatement_StatusCode{Value: cpb.PublicationStatusCode_ACTIVE},
		Date:        &dpb.DateTime{ValueUs: 1764547200000000, Timezone: "Z", Precision: dpb.DateTime_DAY},
		Kind:        &cspb.CapabilityStatement_KindCode{Value: cpb.CapabilityStatementKindCode_INSTANCE},
		Name:        fstr("IISFHIRServer"),
		Title:       fstr("iis immunization information system: FHIR R4 API"),
		Software:    &cspb.CapabilityStatement_Software{Name: fstr("iis")},
		FhirVersion: &cspb.CapabilityStatement_FhirVersionCode{Value: cpb.FHIRVersionCode_V_4_0_1},
		Format:      []*cspb.CapabilityStatement_FormatCode{{Value: "json"}, {Value: "application/fhir+json"}},
		ImplementationGuide: []*dpb.Canonical{{Value: "http://hl7.org/fhir/uv/bulkdata/ImplementationGuide/hl7.fhir.uv.bulkdata"},
			{Value: "http://hl7.org/fhir/us/immds/ImplementationGuide/hl7.fhir.us.immds"}},
		Rest: []*cspb.CapabilityStatement_Rest{rest},
	}
}

func resourceCapability(rc resourceCap) *cspb.CapabilityStatement_Rest_Resource {
	r := &cspb.CapabilityStatement_Rest_Resource{Type: &cspb.CapabilityStatement_Rest_Resource_TypeCode{Value: rc.typ}}
	if rc.doc != "" {
		r.Documentation = &dpb.Markdown{Value: rc.doc}
	}
	add := func(v vpb.TypeRestfulInteractionValueSet_Value) {
		r.Interaction = append(r.Interaction, &cspb.CapabilityStatement_Rest_Resource_ResourceInteraction{
			Code: &cspb.CapabilityStatement_Rest_Resource_ResourceInteraction_CodeType{Value: v}})
	}
	if rc.read {
		add(vpb.TypeRestfulInteractionValueSet_READ)
	}
	if rc.search {
		add(vpb.TypeRestfulInteractionValueSet_SEARCH_TYPE)
	}
	for _, p := range rc.params {
		sp := &cspb.CapabilityStatement_Rest_Resource_SearchParam{Name: fstr(p.name),
			Type: &cspb.CapabilityStatement_Rest_Resource_SearchParam_TypeCode{Value: p.typ}}
		if p.doc != "" {
			sp.Documentation = &dpb.Markdown{Value: p.doc}
		}
		r.SearchParam = append(r.SearchParam, sp)
	}
	for _, op := range rc.operations {
		r.Operation = append(r.Operation, &cspb.CapabilityStatement_Rest_Resource_Operation{Name: fstr(op[0]), Definition: &dpb.Canonical{Value: op[1]}})
	}
	return r
}
