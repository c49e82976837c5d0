package immz

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/iisproject/iis/codeset"
)

// detectionCase is one row of TestDetections: edits of the base message
// (NIST IZ-001, see baseSample) that make it raise detection det. raw, when
// set, is the whole message instead; sev sets severities for the row (a
// detection silent by default is tested raised).
type detectionCase struct {
	det   string
	edits edits
	raw   string
	sev   map[string]Severity
}

// Edits shared by rows.
var (
	minorPatient = [2]string{"PID-7", "20150101"}
	cvxVaricella = [2]string{"RXA-5", "21^Varicella^CVX"}
	visDocument  = [2]string{"OBX(2)-3", "69764-9^Document type^LN"}
	flu2018CSL   = edits{{"RXA-5", "141^Influenza, seasonal^CVX"}, {"RXA-3", "20180101"}}
)

// detectionCases: one row per detection iis raises (every MQE code of
// ruleDetections and newRules); TestCoverage lists them in coverage.tsv.
var detectionCases = []detectionCase{
	// Message header.
	{det: "MQE0004", raw: "not an HL7 message"},
	{det: "MQE0020", edits: edits{{"MSH-9", ""}}},
	{det: "MQE0018", edits: edits{{"MSH-9", "VXU^^VXU_V04"}}},
	{det: "MQE0014", edits: edits{{"MSH-10", ""}}},
	{det: "MQE0023", edits: edits{{"MSH-11", ""}}},
	{det: "MQE0038", edits: edits{{"MSH-12", ""}}},
	{det: "MQE0039", edits: edits{{"MSH-12", "2.3.1"}}},
	{det: "MQE0037", edits: edits{{"MSH-4", ""}}},
	{det: "MQE0017", edits: edits{{"MSH-7", ""}}},
	{det: "MQE0531", edits: edits{{"MSH-7", "2012-07-01"}}},
	{det: "MQE0439", edits: edits{{"MSH-21", ""}}},
	{det: "MQE0015", edits: edits{{"MSH-7", "20301231120000-0500"}}},
	{det: "MQE0526", edits: edits{{"MSH-7", "20120701-0500"}}},
	{det: "MQE0527", edits: edits{{"MSH-7", "20120701082240"}}},
	{det: "MQE0556", sev: map[string]Severity{"MQE0556": Warning}},
	// Patient identifiers and name.
	{det: "MQE0220", edits: edits{{"PID-3", ""}}},
	{det: "MQE0394", edits: edits{{"PID-3", "D26376273^^^NIST MPI"}}},
	{det: "MQE0514", edits: edits{{"PID-3", "D26376273^^^NIST MPI^QQQ"}}},
	{det: "MQE0393", edits: edits{{"PID-3", "D26376273^^^^MR"}}},
	{det: "MQE0218", edits: edits{{"PID-3", "D26376273^^^NIST MPI^MR~123-45-678^^^SSA^SS"}}},
	{det: "MQE0166", edits: edits{{"PID-5", "^Madelynn^^^^^L"}}},
	{det: "MQE0141", edits: edits{{"PID-5", "Snow^^Ainsley^^^^L"}}},
	{det: "MQE0140", edits: edits{{"PID-5", "Snow^Mad3lynn^Ainsley^^^^L"}}},
	{det: "MQE0165", edits: edits{{"PID-5", "Sn0w^Madelynn^Ainsley^^^^L"}}},
	{det: "MQE0528", edits: edits{{"PID-5", "Snow^Madelynn^A1^^^^L"}}},
	{det: "MQE0529", edits: edits{{"PID-5", "Snow^Madelynn^^^^^L"}}},
	{det: "MQE0173", edits: edits{{"PID-5", "Snow^Baby^Ainsley^^^^L"}}},
	{det: "MQE0516", edits: edits{{"PID-5", "Snow^Madelynn^Ainsley^^^^A"}}},
	{det: "MQE0409", edits: edits{{"PID-5", "Snow^Madelynn^Ainsley^^^^Q"}}},
	// Patient birth, sex, race, ethnicity, address, phone, death.
	{det: "MQE0118", edits: edits{{"PID-7", ""}}},
	{det: "MQE0117", edits: edits{{"PID-7", "2007"}}},
	{det: "MQE0115", edits: edits{{"PID-7", "20300101"}}},
	{det: "MQE0120", edits: edits{{"PID-7", "18800101"}}},
	{det: "MQE0147", edits: edits{{"PID-8", "Q"}}},
	{det: "MQE0210", edits: edits{{"PID-10", "9999-9^Martian^CDCREC"}}},
	{det: "MQE0206", edits: edits{{"PID-10", "W^White^HL70005"}}},
	{det: "MQE0208", edits: edits{{"PID-10", "2135-2^Hispanic or Latino^CDCREC"}}},
	{det: "MQE0139", edits: edits{{"PID-22", "XX^Unknown^CDCREC"}}},
	{det: "MQE0135", edits: edits{{"PID-22", "H^Hispanic or Latino^HL70189"}}},
	{det: "MQE0137", edits: edits{{"PID-22", "2135-2^Hispanic or Latino^HL70005"}}},
	{det: "MQE0112", edits: edits{{"PID-11", "32 Prescott Street Ave^^Warwick^MA^0245^USA^L"}}},
	{det: "MQE0520", edits: edits{{"PID-11", "32 Prescott Street Ave^^Warwick^MA^02452^USA^Q"}}},
	{det: "MQE0521", edits: edits{{"PID-11", "32 Prescott Street Ave^^Warwick^MA^02452^USA^BA"}}},
	{det: "MQE0097", edits: edits{{"PID-11", "12 Knez Mihailova^^Beograd^^11000^YUG^L"}}},
	{det: "MQE0099", edits: edits{{"PID-11", "12 Rue de Rivoli^^Paris^^75001^FRN^L"}}},
	{det: "MQE0174", edits: edits{{"PID-13", "^PRN^PH^^^^5558563"}}},
	{det: "MQE0175", edits: edits{{"PID-13", "^PRN^PH^^^657^555856"}}},
	{det: "MQE0457", edits: edits{{"PID-13", "^XXX^PH^^^657^5558563"}}},
	{det: "MQE0462", edits: edits{{"PID-13", "^PRN^ZZ^^^657^5558563"}}},
	{det: "MQE0121", edits: edits{{"PID-24", "X"}}},
	{det: "MQE0123", edits: edits{{"PID-25", "first"}}},
	{det: "MQE0125", edits: edits{{"PID-25", "2"}}},
	{det: "MQE0131", edits: edits{{"PID-29", "2013"}}},
	{det: "MQE0130", edits: edits{{"PID-29", "20300101"}}},
	{det: "MQE0132", edits: edits{{"PID-30", "Y"}}},
	{det: "MQE0133", edits: edits{{"PID-29", "20120901"}, {"PID-30", "N"}}},
	{det: "MQE0129", edits: edits{{"PID-29", "20000101"}}, sev: map[string]Severity{"MQE0129": Warning}},
	// PD1.
	{det: "MQE0178", edits: edits{{"PD1-3", "Clinic^^1234"}}},
	{det: "MQE0189", edits: edits{{"PD1-4", "1234^Doe^Jane"}}},
	{det: "MQE0205", edits: edits{{"PD1-11", "99^Bogus^HL70215"}}},
	{det: "MQE0198", edits: edits{{"PD1-12", "Maybe"}}},
	{det: "MQE0200", edits: edits{{"PD1-12", "Y"}}},
	{det: "MQE0217", edits: edits{{"PD1-16", "Z"}}},
	// NK1.
	{det: "MQE0079", edits: edits{{"NK1-2", ""}}},
	{det: "MQE0081", edits: edits{{"NK1-2", "^Morgan^^^^^L"}}},
	{det: "MQE0080", edits: edits{{"NK1-2", "Lam^^^^^^L"}}},
	{det: "MQE0088", edits: edits{{"NK1-3", ""}}},
	{det: "MQE0090", edits: edits{{"NK1-3", "ZZZ^Alien^HL70063"}}},
	{det: "MQE0087", edits: edits{{"NK1-3", "SEL^Self^HL70063"}}},
	{det: "MQE0485", edits: edits{minorPatient, {"NK1-3", "CHD^Child^HL70063"}}},
	{det: "MQE0157", edits: edits{minorPatient, {"-NK1", ""}}},
	{det: "MQE0072", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^Mass^02452^USA^L"}}},
	{det: "MQE0074", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^ZZ^02452^USA^L"}}},
	{det: "MQE0077", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^MA^0245^USA^L"}}},
	{det: "MQE0399", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^MA^02452^USA^Q"}}},
	{det: "MQE0522", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^MA^02452^USA^BA"}}},
	{det: "MQE0062", edits: edits{{"NK1-4", "12 Knez Mihailova^^Beograd^^11000^SCG^L"}}},
	{det: "MQE0064", edits: edits{{"NK1-4", "32 Prescott Street Ave^^Warwick^MA^02452^United States^L"}}},
	{det: "MQE0082", edits: edits{{"NK1-5", "^PRN^PH^^^^5558563"}}},
	{det: "MQE0083", edits: edits{{"NK1-5", "^PRN^PH^^^65^5558563"}}},
	// PV1 and ORC.
	{det: "MQE0375", edits: edits{{"+NK1", "PV1|1|R"}}},
	{det: "MQE0226", edits: edits{{"+NK1", "PV1|1|R||||||||||||||||||V02^VFC eligible - Medicaid^HL70064"}}},
	{det: "MQE0370", edits: edits{{"ORC-1", "NW"}}},
	{det: "MQE0382", edits: edits{{"ORC-3", ""}}},
	// RXA dates.
	{det: "MQE0261", edits: edits{{"RXA-3", ""}}},
	{det: "MQE0260", edits: edits{{"RXA-3", "2012"}}},
	{det: "MQE0252", edits: edits{{"RXA-3", "20300101"}}},
	{det: "MQE0255", edits: edits{{"RXA-3", "20000101"}}},
	{det: "MQE0253", edits: edits{{"PID-29", "20120801"}}},
	{det: "MQE0254", edits: edits{{"RXA-22", "20120801"}}},
	{det: "MQE0251", edits: edits{{"RXA-16", "20120801"}}},
	{det: "MQE0266", edits: edits{{"RXA-4", "20120815"}}},
	{det: "MQE0574", edits: edits{{"RXA-22", "soon"}}},
	{det: "MQE0581", edits: edits{{"RXA-22", "20300101"}}},
	{det: "MQE0327", edits: edits{{"RXA-3", "20120501"}}},
	{det: "MQE0329", edits: edits{{"RXA-9", "01^Historical^NIP001"}, {"RXA-3", "20120701"}}},
	// RXA vaccine.
	{det: "MQE0244", edits: edits{{"RXA-5", ""}}},
	{det: "MQE0247", edits: edits{{"RXA-5", "987^Unknown^CVX"}}},
	{det: "MQE0484", edits: edits{{"RXA-5", "X^Something^ZZZ"}}},
	{det: "MQE0483", edits: edits{{"RXA-5", "141^Influenza"}}},
	{det: "MQE0245", edits: edits{{"RXA-5", "88^Influenza, unspecified formulation^CVX"}}},
	{det: "MQE0249", edits: edits{{"RXA-5", "999^Unknown^CVX"}}},
	{det: "MQE0487", edits: edits{{"RXA-5", "01^DTP^CVX"}}},
	{det: "MQE0304", edits: edits{{"RXA-5", "90999^Unknown^CPT"}}},
	{det: "MQE0259", edits: edits{{"RXA-5", "52^Hep A, adult^CVX"}}},
	{det: "MQE0443", edits: edits{{"ORC-21", "Dabney Pediatrics^^^^^NIST-AA-1^XX^^^1234"}}},
	{det: "MQE0559", edits: edits{{"RXA-5", "49281-0999-99^Bogus^NDC"}}},
	{det: "MQE0310", edits: edits{{"RXA-5", "03^MMR^CVX^90650^HPV^CPT"}}},
	// RXA amount, units, source, lot, manufacturer, status, action.
	{det: "MQE0554", edits: edits{{"RXA-6", ""}}},
	{det: "MQE0555", edits: edits{{"RXA-6", "half"}}},
	{det: "MQE0447", edits: edits{{"RXA-7", "ML^ML^ISO+"}}},
	{det: "MQE0450", edits: edits{{"RXA-7", "cc^cubic centimeter^UCUM"}}},
	{det: "MQE0332", edits: edits{{"RXA-9", ""}}},
	{det: "MQE0333", edits: edits{{"RXA-9", "99^Bogus^NIP001"}}},
	{det: "MQE0339", edits: edits{{"RXA-15", ""}}},
	{det: "MQE0591", edits: edits{{"RXA-15", "Z0860BB~Z0860BC"}}},
	{det: "MQE0592", edits: edits{{"RXA-15", "LOTZ0860BB"}}},
	{det: "MQE0593", edits: edits{{"RXA-15", "Z0860BB(P)"}}},
	{det: "MQE0594", edits: edits{{"RXA-15", "Z08#60BB"}}},
	{det: "MQE0595", edits: edits{{"RXA-15", "Z08"}}},
	{det: "MQE0338", edits: edits{{"RXA-15", "N/A"}}},
	{det: "MQE0336", edits: edits{{"RXA-16", "soon"}}},
	{det: "MQE0344", edits: edits{{"RXA-17", "ZZZ^Nobody^MVX"}}},
	{det: "MQE0343", edits: edits{{"RXA-17", ""}}},
	{det: "MQE0495", edits: flu2018CSL},
	{det: "MQE0350", edits: flu2018CSL},
	{det: "MQE0353", edits: edits{cvxVaricella, {"RXA-17", "PMC^Sanofi Pasteur^MVX"}}},
	{det: "MQE0364", edits: edits{{"RXA-18", "77^Odd^NIP002"}, {"RXA-20", "RE"}}},
	{det: "MQE0363", edits: edits{{"RXA-20", "RE"}}},
	{det: "MQE0289", edits: edits{{"RXA-20", "ZZ"}}},
	{det: "MQE0291", edits: edits{{"RXA-20", "NA"}}},
	{det: "MQE0292", edits: edits{{"RXA-20", "PA"}}},
	{det: "MQE0293", edits: edits{{"RXA-18", "00^Parental decision^NIP002"}, {"RXA-20", "RE"}}},
	{det: "MQE0236", edits: edits{{"RXA-21", "X"}}},
	{det: "MQE0235", edits: edits{{"RXA-21", ""}}, sev: map[string]Severity{"MQE0235": Warning}},
	// RXR.
	{det: "MQE0278", edits: edits{{"RXR-1", "XX^Sideways^HL70162"}}},
	{det: "MQE0273", edits: edits{{"RXR-1", "IN^Intranasal^HL70162"}}},
	{det: "MQE0276", edits: edits{{"RXA-5", "116^Rotavirus^CVX"}}},
	{det: "MQE0282", edits: edits{{"RXA-5", "149^LAIV4^CVX"}, {"RXR-1", "C38284^Nasal^NCIT"}}},
	{det: "MQE0561", edits: edits{{"RXA-5", "173^cholera, BivWC^CVX"}}},
	{det: "MQE0284", edits: edits{{"RXR-2", "XX^Elbow^HL70163"}}},
	// OBX.
	{det: "MQE0473", edits: edits{{"OBX(1)-2", ""}}},
	{det: "MQE0474", edits: edits{{"OBX(1)-2", "ZZ"}}},
	{det: "MQE0478", edits: edits{{"OBX(2)-3", ""}}},
	{det: "MQE0479", edits: edits{{"OBX(2)-3", "12345-6^Something^LN"}}},
	{det: "MQE0532", edits: edits{{"OBX(2)-5", ""}}},
	{det: "MQE0482", edits: edits{{"OBX(1)-14", "2012"}}},
	{det: "MQE0481", edits: edits{{"OBX(1)-14", ""}}},
	{det: "MQE0468", edits: edits{{"-OBX(1)", ""}}},
	{det: "MQE0229", edits: edits{{"OBX(1)-5", "V99^Bogus^HL70064"}}},
	{det: "MQE0225", edits: edits{{"OBX(1)-5", "V00^VFC eligibility not determined^HL70064"}}},
	{det: "MQE0227", edits: edits{{"PID-7", "19500101"}, {"OBX(1)-5", "V02^VFC eligible - Medicaid^HL70064"}}},
	{det: "MQE0221", edits: edits{{"OBX(1)-14", "20000101"}}, sev: map[string]Severity{"MQE0221": Warning}},
	{det: "MQE0587", edits: edits{{"+OBX(4)", "OBX|5|CE|30963-3^Funding Source^LN|3|ZZZ^Bogus^CDCPHINVS||||||F"}}},
	{det: "MQE0596", edits: edits{{"+OBX(4)", "OBX|5|CE|30963-3^Funding Source^LN|3|PHC70^Private funds^CDCPHINVS||||||F"}}},
	{det: "MQE0607", edits: edits{{"+OBX(4)", "OBX|5|CE|59784-9^Disease with presumed immunity^LN|4|99999^Bogus^SCT||||||F"}}},
	{det: "MQE0606", edits: edits{{"+OBX(4)", "OBX|5|CE|59784-9^Disease with presumed immunity^LN|4|24^History of diphtheria infection^SCT||||||F"}}},
	// VIS.
	{det: "MQE0501", edits: edits{visDocument, {"OBX(2)-5", "123^Bogus^cdcgs1vis"}}},
	{det: "MQE0498", edits: edits{cvxVaricella, visDocument, {"OBX(2)-5", "253088698300001111200108^Adenovirus Vaccine VIS^cdcgs1vis"}}},
	{det: "MQE0502", edits: edits{visDocument, {"OBX(2)-5", "253088698300001111110714^Adenovirus VIS^cdcgs1vis"}}},
	{det: "MQE0535", edits: edits{visDocument, {"OBX(2)-5", "253088698300001111200108^Adenovirus Vaccine VIS^cdcgs1vis"}}},
	{det: "MQE0500", edits: edits{{"-OBX(2)", ""}}},
	{det: "MQE0542", edits: edits{{"-OBX(2)", ""}, {"-OBX(2)", ""}, {"-OBX(2)", ""}}},
	{det: "MQE0534", edits: edits{{"-OBX(3)", ""}}},
	{det: "MQE0544", edits: edits{{"OBX(3)-5", "2012"}}},
	{det: "MQE0536", edits: edits{{"OBX(3)-5", "20300101"}}},
	{det: "MQE0537", edits: edits{{"OBX(4)-5", "soon"}}},
	{det: "MQE0538", edits: edits{{"-OBX(4)", ""}}},
	{det: "MQE0539", edits: edits{{"OBX(4)-5", "20120810"}}},
	{det: "MQE0540", edits: edits{{"OBX(4)-5", "20120701"}}},
	{det: "MQE0541", edits: edits{{"OBX(4)-5", "20120820"}}},
	// Silent by default (MQE ACCEPT): raised with a facility severity.
	{det: "MQE0035", edits: edits{{"MSH-3", ""}}, sev: warn("MQE0035")},
	{det: "MQE0030", edits: edits{{"MSH-5", ""}}, sev: warn("MQE0030")},
	{det: "MQE0032", edits: edits{{"MSH-6", ""}}, sev: warn("MQE0032")},
	{det: "MQE0006", edits: edits{{"MSH-15", ""}}, sev: warn("MQE0006")},
	{det: "MQE0410", edits: edits{{"MSH-16", ""}}, sev: warn("MQE0410")},
	{det: "MQE0171", edits: edits{{"PID-6", ""}}, sev: warn("MQE0171")},
	{det: "MQE0146", edits: edits{{"PID-8", ""}}, sev: warn("MQE0146")},
	{det: "MQE0209", edits: edits{{"PID-10", ""}}, sev: warn("MQE0209")},
	{det: "MQE0092", edits: edits{{"PID-11", ""}}, sev: warn("MQE0092")},
	{det: "MQE0176", edits: edits{{"PID-13", ""}}, sev: warn("MQE0176")},
	{det: "MQE0186", sev: warn("MQE0186")},
	{det: "MQE0138", edits: edits{{"PID-22", ""}}, sev: warn("MQE0138")},
	{det: "MQE0126", sev: warn("MQE0126")},
	{det: "MQE0122", sev: warn("MQE0122")},
	{det: "MQE0124", sev: warn("MQE0124")},
	{det: "MQE0134", sev: warn("MQE0134")},
	{det: "MQE0566", edits: edits{{"PID-7", "20070701"}}, sev: warn("MQE0566")},
	{det: "MQE0565", edits: edits{{"PID-7", "20070715"}}, sev: warn("MQE0565")},
	{det: "MQE0567", edits: edits{{"PID-7", "20070731"}}, sev: warn("MQE0567")},
	{det: "MQE0180", sev: warn("MQE0180")},
	{det: "MQE0191", sev: warn("MQE0191")},
	{det: "MQE0204", edits: edits{{"PD1-11", ""}}, sev: warn("MQE0204")},
	{det: "MQE0197", sev: warn("MQE0197")},
	{det: "MQE0163", edits: edits{{"PD1-16", ""}}, sev: warn("MQE0163")},
	{det: "MQE0199", edits: edits{{"PD1-12", "N"}}, sev: warn("MQE0199")},
	{det: "MQE0057", edits: edits{{"NK1-4", ""}}, sev: warn("MQE0057")},
	{det: "MQE0084", edits: edits{{"NK1-5", ""}}, sev: warn("MQE0084")},
	{det: "MQE0371", edits: edits{{"ORC-1", ""}}, sev: warn("MQE0371")},
	{det: "MQE0387", sev: warn("MQE0387")},
	{det: "MQE0357", edits: edits{{"ORC-10", ""}}, sev: warn("MQE0357")},
	{det: "MQE0348", edits: edits{{"ORC-12", ""}}, sev: warn("MQE0348")},
	{det: "MQE0267", sev: warn("MQE0267")},
	{det: "MQE0272", edits: edits{{"RXA-7", ""}}, sev: warn("MQE0272")},
	{det: "MQE0320", edits: edits{{"RXA-10", ""}}, sev: warn("MQE0320")},
	{det: "MQE0288", edits: edits{{"RXA-20", ""}}, sev: warn("MQE0288")},
	{det: "MQE0573", sev: warn("MQE0573")},
	{det: "MQE0337", edits: edits{{"RXA-16", ""}}, sev: warn("MQE0337")},
	{det: "MQE0314", edits: edits{{"RXA-11", ""}}, sev: warn("MQE0314")},
	{det: "MQE0334", sev: warn("MQE0334")},
	{det: "MQE0335", edits: edits{{"RXA-9", "01^Historical^NIP001"}}, sev: warn("MQE0335")},
	{det: "MQE0290", sev: warn("MQE0290")},
	{det: "MQE0237", sev: warn("MQE0237")},
	{det: "MQE0240", edits: edits{{"RXA-21", "U"}}, sev: warn("MQE0240")},
	{det: "MQE0239", edits: edits{{"RXA-21", "D"}}, sev: warn("MQE0239")},
	{det: "MQE0270", edits: edits{{"RXA-6", "0"}}, sev: warn("MQE0270")},
	{det: "MQE0271", edits: edits{{"RXA-6", "999"}}, sev: warn("MQE0271")},
	{det: "MQE0248", edits: edits{{"RXA-5", "998^No vaccine administered^CVX"}}, sev: warn("MQE0248")},
	{det: "MQE0308", sev: warn("MQE0308")},
	{det: "MQE0359", edits: edits{{"RXA-18", "00^Parental decision^NIP002"}}, sev: warn("MQE0359")},
	{det: "MQE0263", edits: edits{{"RXA-3", "20120801"}}, sev: warn("MQE0263")},
	{det: "MQE0262", edits: edits{{"RXA-3", "20120815"}}, sev: warn("MQE0262")},
	{det: "MQE0264", edits: edits{{"RXA-3", "20120831"}}, sev: warn("MQE0264")},
	{det: "MQE0277", edits: edits{{"RXR-1", ""}}, sev: warn("MQE0277")},
	{det: "MQE0283", edits: edits{{"RXR-2", ""}}, sev: warn("MQE0283")},
	{det: "MQE0586", sev: warn("MQE0586")},
}

// warn sets detection det to Warning.
func warn(det string) map[string]Severity { return map[string]Severity{det: Warning} }

// TestDetections: every detection iis raises, raised by its row on an
// edit of NIST's IZ-001 VXU, with its severity (the facility's when the
// row sets one, the default otherwise; E for a rule that rejects), by
// Decode and Check alike, and named in ERR-5's alternate triplet.
func TestDetections(t *testing.T) {
	base := readSample(t, baseSample)
	seen := map[string]bool{}
	for _, tc := range detectionCases {
		t.Run(tc.det, func(t *testing.T) {
			if seen[tc.det] {
				t.Fatalf("%s has two rows", tc.det)
			}
			seen[tc.det] = true
			d, ok := LookupDetection(tc.det)
			if !ok || d.Rule == "" {
				t.Fatalf("%s: no rule raises it (ruleDetections, newRules)", tc.det)
			}
			raw := tc.raw
			if raw == "" {
				raw = base
				for _, e := range tc.edits {
					raw = edit(t, raw, e[0], e[1])
				}
			}
			v := New(Config{Now: testNow, Severities: tc.sev})
			want := d.Default
			if s, ok := tc.sev[tc.det]; ok {
				want = s
			}
			if d.Rejects {
				want = Error
			}
			for _, r := range []*Result{v.Decode([]byte(raw)), v.Check([]byte(raw))} {
				i := slices.IndexFunc(r.Issues, func(is Issue) bool { return is.Detection == tc.det })
				if i < 0 {
					t.Fatalf("%s (%s) not raised; issues: %+v", tc.det, d.Rule, r.Issues)
				}
				if is := r.Issues[i]; is.Severity != want || is.Rule != d.Rule {
					t.Errorf("%s raised as %c by %q, want %c by %q", tc.det, is.Severity, is.Rule, want, d.Rule)
				}
				if ack := string(v.Ack(r)); !strings.Contains(ack, "^"+tc.det+"^"+d.Name+"^99MQE") {
					t.Errorf("%s: ERR-5 does not name it: %q", tc.det, ack)
				}
			}
		})
	}
	for _, d := range Detections() {
		if d.Rule != "" && !seen[d.Code] {
			t.Errorf("%s (%s) has no row in detectionCases", d.Code, d.Rule)
		}
	}
}

// FuzzParseSeverity: a severity setting parses to one of E, W, I, A or
// fails with an error, never anything else.
func FuzzParseSeverity(f *testing.F) {
	for _, s := range []string{"E", "warn", " INFO ", "accept", "", "X"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sev, err := ParseSeverity(s)
		if err == nil && sev != Error && sev != Warning && sev != Information && sev != Accept {
			t.Fatalf("%q parsed to %q", s, sev)
		}
	})
}

// TestSeverityConfig: a configured severity applies to a rule iis had
// (MQE0344, an unknown MVX, made an error) and a new one (MQE0227 made
// silent); a rejecting rule (MQE0255) and an unknown code are not changed.
func TestSeverityConfig(t *testing.T) {
	base := readSample(t, baseSample)
	raw := edit(t, edit(t, edit(t, base, "RXA-17", "ZZZ^Nobody^MVX"), "PID-7", "19500101"), "OBX(1)-5", "V02^VFC eligible - Medicaid^HL70064")
	v := New(Config{Now: testNow, Severities: map[string]Severity{"MQE0344": Error, "MQE0227": Accept, "MQE0255": Warning, "MQE9999": Error, "nonsense": Warning}})
	r := v.Decode([]byte(raw))
	sev := map[string]Severity{}
	for _, is := range r.Issues {
		sev[is.Detection] = is.Severity
	}
	if sev["MQE0344"] != Error || v.AckCode(r) != "AE" {
		t.Errorf("MQE0344 %c, ACK %s", sev["MQE0344"], v.AckCode(r))
	}
	if _, raised := sev["MQE0227"]; raised {
		t.Error("MQE0227 raised although set to A")
	}
	r = v.Decode([]byte(edit(t, base, "RXA-3", "20000101")))
	if i := slices.IndexFunc(r.Issues, func(is Issue) bool { return is.Detection == "MQE0255" }); i < 0 || r.Issues[i].Severity != Error || r.Issues[i].Scope != ScopeGroup {
		t.Errorf("MQE0255 (rejects) changed: %+v", r.Issues)
	}
}

// TestNewerVISEdition: a barcode of a VIS the table knows, with an edition
// after the table's latest (the CDC publishes new editions), is recognized
// (no MQE0501) and checked against its published date (MQE0535).
func TestNewerVISEdition(t *testing.T) {
	base := readSample(t, baseSample)
	v := New(Config{Now: testNow})
	for _, tc := range []struct {
		published string
		want      []string
	}{{"20240806", nil}, {"20240805", []string{"MQE0535"}}} {
		raw := edit(t, edit(t, edit(t, base, visDocument[0], visDocument[1]), "OBX(2)-5", "253088698300001111240806^Adenovirus Vaccine VIS^cdcgs1vis"), "OBX(3)-5", tc.published)
		var got []string
		for _, is := range v.Decode([]byte(raw)).Issues {
			if strings.HasPrefix(is.Detection, "MQE05") && is.Detection != "MQE0539" && is.Detection != "MQE0540" {
				got = append(got, is.Detection)
			}
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("published %s: %v, want %v", tc.published, got, tc.want)
		}
	}
}

// TestNDCForms: an RXA-5 NDC is recognized in each of its written forms
// (CDC's lists hold Pentacel's unit of use as 49281-0560-05).
func TestNDCForms(t *testing.T) {
	tab := codeset.Default().Table(codeset.NDC)
	for _, tc := range []struct {
		code string
		want bool
	}{
		{"49281056005", true}, {"49281-0560-05", true}, {"49281-560-05", true}, {"4928156005", true},
		{"00006-4047-20", true}, {"0006-4047-20", true}, {"0006404720", true}, {"00006404720", true},
		{"49281-0560-5", true}, {"4928105605", true},
		{"49281-0999-99", false}, {"49281-0560", false}, {"49281-05600-05", false}, {"4928105600A", false}, {"", false}, {"--", false},
	} {
		if got := ndcKnown(tab, tc.code); got != tc.want {
			t.Errorf("ndcKnown(%q) = %v, want %v", tc.code, got, tc.want)
		}
	}
}

// TestVISOfVaccine: a VIS document of the dose's vaccine, in any edition,
// or a VIS CDC gives several vaccines (the multiple vaccines VIS), raises
// no MQE0498; another vaccine's does, and so does a former edition of it.
func TestVISOfVaccine(t *testing.T) {
	base := readSample(t, baseSample)
	v := New(Config{Now: testNow})
	for _, tc := range []struct {
		cvx, barcode string
		want         bool
	}{
		{"141", "253088698300010311250131", false}, // flu VIS, current
		{"141", "253088698300010311150807", false}, // flu VIS, a former edition
		{"20", "253088698300026411211015", false},  // DTaP: multiple vaccines VIS
		{"120", "253088698300017211210806", false}, // DTaP-Hib-IPV: polio VIS
		{"141", "253088698300001111200108", true},  // flu: adenovirus VIS
		{"141", "253088698300012711210806", true},  // flu: MMR VIS
	} {
		raw := edit(t, edit(t, edit(t, base, "RXA-5", tc.cvx+"^Vaccine^CVX"), visDocument[0], visDocument[1]), "OBX(2)-5", tc.barcode+"^VIS^cdcgs1vis")
		got := slices.ContainsFunc(v.Decode([]byte(raw)).Issues, func(is Issue) bool { return is.Detection == "MQE0498" })
		if got != tc.want {
			t.Errorf("CVX %s, VIS %s: MQE0498 %v, want %v", tc.cvx, tc.barcode, got, tc.want)
		}
	}
}

// TestAgeForVaccine: MQE0259 at the bounds of the ages a vaccine is given
// at (varicella from 11 months, DTaP up to 84), in whole calendar months.
func TestAgeForVaccine(t *testing.T) {
	base := readSample(t, baseSample)
	v := New(Config{Now: testNow})
	for _, tc := range []struct {
		cvx, birth, at string
		want           bool
	}{
		{"21", "20200131", "20201230", true},   // 10 months 30 days
		{"21", "20200131", "20201231", false},  // 11 months
		{"21", "20200229", "20210128", true},   // 10 months
		{"21", "20200229", "20210129", false},  // 11 months
		{"106", "20100115", "20170115", false}, // 84 months
		{"106", "20100115", "20170214", false}, // 84 months 30 days
		{"106", "20100115", "20170215", true},  // 85 months
		{"141", "20100115", "20170215", false}, // influenza: 6 months to 120 years
		{"141", "20100115", "20100601", true},  // 4 months
	} {
		raw := edit(t, edit(t, edit(t, base, "RXA-5", tc.cvx+"^Vaccine^CVX"), "PID-7", tc.birth), "RXA-3", tc.at)
		got := slices.ContainsFunc(v.Decode([]byte(raw)).Issues, func(is Issue) bool { return is.Detection == "MQE0259" })
		if got != tc.want {
			t.Errorf("CVX %s born %s given %s: MQE0259 %v, want %v", tc.cvx, tc.birth, tc.at, got, tc.want)
		}
	}
}

// TestResultsOwnTheirIssues: the decoder gathers issues and builds their
// texts in buffers it reuses from message to message; a Result keeps its
// own. Every corpus message and 200 synthetic ones are checked and decoded
// by one validator, one after the other, and each Result is then compared
// with the Result a fresh validator gives for that message alone.
func TestResultsOwnTheirIssues(t *testing.T) {
	var msgs [][]byte
	corpus := corpusMessages(t)
	for _, name := range slices.Sorted(maps.Keys(corpus)) {
		msgs = append(msgs, corpus[name])
	}
	msgs = append(msgs, benchMessages(t)[:200]...)
	shared := New(Config{Now: testNow})
	var checked, decoded []*Result
	for _, raw := range msgs {
		checked = append(checked, shared.Check(raw))
		decoded = append(decoded, shared.Decode(raw))
	}
	raised := 0
	for i, raw := range msgs {
		alone := New(Config{Now: testNow})
		for _, c := range []struct {
			name      string
			got, want *Result
		}{{"Check", checked[i], alone.Check(raw)}, {"Decode", decoded[i], alone.Decode(raw)}} {
			if len(c.got.Issues) != len(c.want.Issues) {
				t.Fatalf("message %d: %s: %d issues, alone %d", i, c.name, len(c.got.Issues), len(c.want.Issues))
			}
			for j := range c.got.Issues {
				if c.got.Issues[j] != c.want.Issues[j] {
					t.Fatalf("message %d: %s: issue %d\n got   %+v\n alone %+v", i, c.name, j, c.got.Issues[j], c.want.Issues[j])
				}
				if c.got.Issues[j].Detection != "" && strings.ContainsRune(c.got.Issues[j].Message, '"') {
					raised++ // a built text quoting a value
				}
			}
		}
	}
	if raised == 0 {
		t.Fatal("no data quality issue with a built text: the test proves nothing")
	}
}
