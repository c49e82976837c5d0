package forecast

import "strings"

// groupCodes name each CDSi vaccine group by the CVX code of its
// unspecified formulation, as HL7's 30956-7 observation (the Z42 answer)
// and FHIR's ImmunizationRecommendation.vaccineCode carry it.
var groupCodes = map[string][2]string{
	"dtap/tdap/td": {"107", "DTaP, unspecified formulation"}, "hepa": {"85", "Hep A, unspecified formulation"},
	"hepb": {"45", "Hep B, unspecified formulation"}, "hib": {"17", "Hib, unspecified formulation"},
	"hpv": {"137", "HPV, unspecified formulation"}, "influenza": {"88", "Influenza, unspecified formulation"},
	"mmr": {"03", "MMR"}, "meningococcal": {"108", "Meningococcal ACWY, unspecified formulation"},
	"meningococcal b": {"164", "Meningococcal B, unspecified"}, "pneumococcal": {"152", "Pneumococcal conjugate, unspecified"},
	"polio": {"89", "Polio, unspecified formulation"}, "rotavirus": {"122", "Rotavirus, unspecified formulation"},
	"varicella": {"21", "Varicella"}, "zoster": {"188", "Zoster, unspecified formulation"},
	"covid-19": {"213", "COVID-19, unspecified"}, "rsv": {"304", "RSV, unspecified"},
	"cholera": {"26", "Cholera, unspecified formulation"}, "dengue": {"330", "Dengue fever, unspecified"},
	"japanese encephalitis": {"129", "Japanese encephalitis, unspecified formulation"}, "rabies": {"90", "Rabies, unspecified formulation"},
	"typhoid": {"91", "Typhoid, unspecified formulation"}, "yellow fever": {"184", "Yellow fever, unspecified"},
	"tbe": {"222", "Tick-borne encephalitis, unspecified"}, "orthopoxvirus": {"325", "Vaccinia (smallpox, monkeypox), unspecified"},
	"ebola": {"214", "Ebola, unspecified"}, "chikungunya": {"317", "Chikungunya"},
}

// GroupCVX returns the CVX code and name of a vaccine group's unspecified
// formulation (the group named as the engine names it, letter case aside).
func GroupCVX(group string) (code, name string, ok bool) {
	c, ok := groupCodes[strings.ToLower(group)]
	return c[0], c[1], ok
}
