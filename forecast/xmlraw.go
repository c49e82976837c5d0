package forecast

// Raw mirrors of CDC's two XSDs (AntigenSupportingData.xsd,
// ScheduleSupportingData.xsd). Every leaf is kept as text; compile.go turns
// them into typed, indexed structures once, at load.

type xSchedule struct {
	LiveVirusConflicts []xLiveVirusConflict `xml:"liveVirusConflicts>liveVirusConflict"`
	VaccineGroups      []xVaccineGroup      `xml:"vaccineGroups>vaccineGroup"`
	GroupMaps          []xVaccineGroupMap   `xml:"vaccineGroupToAntigenMap>vaccineGroupMap"`
	CVXMaps            []xCVXMap            `xml:"cvxToAntigenMap>cvxMap"`
	Observations       []xObservation       `xml:"observations>observation"`
}

type xVaccineRef struct {
	VaccineType string `xml:"vaccineType"`
	CVX         string `xml:"cvx"`
}

type xLiveVirusConflict struct {
	Previous       xVaccineRef `xml:"previous"`
	Current        xVaccineRef `xml:"current"`
	ConflictBegin  string      `xml:"conflictBeginInterval"`
	MinConflictEnd string      `xml:"minConflictEndInterval"`
	ConflictEnd    string      `xml:"conflictEndInterval"`
}

type xVaccineGroup struct {
	Name                       string `xml:"name"`
	AdministerFullVaccineGroup string `xml:"administerFullVaccineGroup"`
}

type xVaccineGroupMap struct {
	Name     string   `xml:"name"`
	Antigens []string `xml:"antigen"`
}

type xCVXMap struct {
	CVX              string         `xml:"cvx"`
	ShortDescription string         `xml:"shortDescription"`
	Associations     []xAssociation `xml:"association"`
}

type xAssociation struct {
	Antigen  string `xml:"antigen"`
	BeginAge string `xml:"associationBeginAge"`
	EndAge   string `xml:"associationEndAge"`
}

type xObservation struct {
	Code                 string `xml:"observationCode"`
	Title                string `xml:"observationTitle"`
	Group                string `xml:"group"`
	IndicationText       string `xml:"indicationText"`
	ContraindicationText string `xml:"contraindicationText"`
	ClarifyingText       string `xml:"clarifyingText"`
	CodedValues          []struct {
		Code       string `xml:"code"`
		CodeSystem string `xml:"codeSystem"`
		Text       string `xml:"text"`
	} `xml:"codedValues>codedValue"`
}

type xAntigen struct {
	Immunity struct {
		ClinicalHistory []struct {
			Code  string `xml:"guidelineCode"`
			Title string `xml:"guidelineTitle"`
		} `xml:"clinicalHistory"`
		DateOfBirth []struct {
			ImmunityBirthDate string `xml:"immunityBirthDate"`
			BirthCountry      string `xml:"birthCountry"`
			Exclusions        []struct {
				Code  string `xml:"exclusionCode"`
				Title string `xml:"exclusionTitle"`
			} `xml:"exclusion"`
		} `xml:"dateOfBirth"`
	} `xml:"immunity"`
	GroupContraindications   []xContraindication `xml:"contraindications>vaccineGroup>contraindication"`
	VaccineContraindications []xContraindication `xml:"contraindications>vaccine>contraindication"`
	Series                   []xSeries           `xml:"series"`
}

type xContraindication struct {
	Code     string `xml:"observationCode"`
	Title    string `xml:"observationTitle"`
	Text     string `xml:"contraindicationText"`
	BeginAge string `xml:"beginAge"`
	EndAge   string `xml:"endAge"`
	Vaccines []struct {
		VaccineType string `xml:"vaccineType"`
		CVX         string `xml:"cvx"`
		BeginAge    string `xml:"beginAge"`
		EndAge      string `xml:"endAge"`
	} `xml:"contraindicatedVaccine"`
}

type xSeries struct {
	Name                   string   `xml:"seriesName"`
	TargetDisease          string   `xml:"targetDisease"`
	VaccineGroup           string   `xml:"vaccineGroup"`
	Type                   string   `xml:"seriesType"`
	EquivalentSeriesGroups string   `xml:"equivalentSeriesGroups"`
	RequiredGender         []string `xml:"requiredGender"`
	Select                 struct {
		DefaultSeries    string `xml:"defaultSeries"`
		ProductPath      string `xml:"productPath"`
		SeriesGroupName  string `xml:"seriesGroupName"`
		SeriesGroup      string `xml:"seriesGroup"`
		SeriesPriority   string `xml:"seriesPriority"`
		SeriesPreference string `xml:"seriesPreference"`
		MinAgeToStart    string `xml:"minAgeToStart"`
		MaxAgeToStart    string `xml:"maxAgeToStart"`
	} `xml:"selectSeries"`
	Indications []struct {
		Code        string `xml:"observationCode>code"`
		Text        string `xml:"observationCode>text"`
		Description string `xml:"description"`
		BeginAge    string `xml:"beginAge"`
		EndAge      string `xml:"endAge"`
	} `xml:"indication"`
	Doses []xSeriesDose `xml:"seriesDose"`
}

type xSeriesDose struct {
	DoseNumber string `xml:"doseNumber"`
	Ages       []struct {
		AbsMinAge      string `xml:"absMinAge"`
		MinAge         string `xml:"minAge"`
		EarliestRecAge string `xml:"earliestRecAge"`
		LatestRecAge   string `xml:"latestRecAge"`
		MaxAge         string `xml:"maxAge"`
		EffectiveDate  string `xml:"effectiveDate"`
		CessationDate  string `xml:"cessationDate"`
	} `xml:"age"`
	Intervals []struct {
		FromPrevious   string `xml:"fromPrevious"`
		FromTargetDose string `xml:"fromTargetDose"`
		FromMostRecent string `xml:"fromMostRecent"`
		FromObsCode    string `xml:"fromRelevantObs>code"`
		FromObsText    string `xml:"fromRelevantObs>text"`
		AbsMinInt      string `xml:"absMinInt"`
		MinInt         string `xml:"minInt"`
		EarliestRecInt string `xml:"earliestRecInt"`
		LatestRecInt   string `xml:"latestRecInt"`
		Priority       string `xml:"intervalPriority"`
		EffectiveDate  string `xml:"effectiveDate"`
		CessationDate  string `xml:"cessationDate"`
	} `xml:"interval"`
	AllowableIntervals []struct {
		FromPrevious   string `xml:"fromPrevious"`
		FromTargetDose string `xml:"fromTargetDose"`
		AbsMinInt      string `xml:"absMinInt"`
		EffectiveDate  string `xml:"effectiveDate"`
		CessationDate  string `xml:"cessationDate"`
	} `xml:"allowableInterval"`
	Preferable []struct {
		VaccineType     string `xml:"vaccineType"`
		CVX             string `xml:"cvx"`
		BeginAge        string `xml:"beginAge"`
		EndAge          string `xml:"endAge"`
		TradeName       string `xml:"tradeName"`
		MVX             string `xml:"mvx"`
		Volume          string `xml:"volume"`
		ForecastVaccine string `xml:"forecastVaccineType"`
	} `xml:"preferableVaccine"`
	Allowable []struct {
		VaccineType string `xml:"vaccineType"`
		CVX         string `xml:"cvx"`
		BeginAge    string `xml:"beginAge"`
		EndAge      string `xml:"endAge"`
	} `xml:"allowableVaccine"`
	Inadvertent []xVaccineRef `xml:"inadvertentVaccine"`
	Skips       []struct {
		Context  string `xml:"context"`
		SetLogic string `xml:"setLogic"`
		Sets     []struct {
			ID             string `xml:"setID"`
			Description    string `xml:"setDescription"`
			EffectiveDate  string `xml:"effectiveDate"`
			CessationDate  string `xml:"cessationDate"`
			ConditionLogic string `xml:"conditionLogic"`
			Conditions     []struct {
				ID             string `xml:"conditionID"`
				Type           string `xml:"conditionType"`
				StartDate      string `xml:"startDate"`
				EndDate        string `xml:"endDate"`
				BeginAge       string `xml:"beginAge"`
				EndAge         string `xml:"endAge"`
				Interval       string `xml:"interval"`
				DoseCount      string `xml:"doseCount"`
				DoseType       string `xml:"doseType"`
				DoseCountLogic string `xml:"doseCountLogic"`
				VaccineTypes   string `xml:"vaccineTypes"`
				SeriesGroups   string `xml:"seriesGroups"`
			} `xml:"condition"`
		} `xml:"set"`
	} `xml:"conditionalSkip"`
	Recurring string `xml:"recurringDose"`
	Season    struct {
		StartDate string `xml:"startDate"`
		EndDate   string `xml:"endDate"`
	} `xml:"seasonalRecommendation"`
}
