// Drives the iis FHIR API with fhir-kit-client (a FHIR client iis did not
// write): capabilities, a search with paging, a read, $match, Immunization
// search, ImmunizationRecommendation and $immds-forecast. Prints one JSON
// object of what it saw; the Go test (TestThirdPartyClient) checks it.
// Usage: IIS_NODE_MODULES=<node_modules> node client.mjs <base URL> <family name> <patient id>
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

async function main() {
  const entry = join(process.env.IIS_NODE_MODULES, 'fhir-kit-client', 'dist', 'index.js');
  const { Client } = await import(pathToFileURL(entry).href);
  const [baseUrl, family, patientId] = process.argv.slice(2);
  const client = new Client({ baseUrl });
  const out = {};
  const cap = await client.capabilityStatement();
  out.fhirVersion = cap.fhirVersion;
  out.resources = cap.rest[0].resource.map((r) => r.type);

  // Every patient, two a page, following the next links.
  let page = await client.search({ resourceType: 'Patient', searchParams: { _count: 2 } });
  out.pagedIds = [];
  for (;;) {
    (page.entry || []).forEach((e) => out.pagedIds.push(e.resource.id));
    if (!(page.link || []).some((l) => l.relation === 'next')) break;
    page = await client.nextPage({ bundle: page });
  }

  const found = await client.search({ resourceType: 'Patient', searchParams: { family } });
  out.foundIds = (found.entry || []).map((e) => e.resource.id);
  const patient = await client.read({ resourceType: 'Patient', id: patientId });
  out.readFamily = patient.name[0].family;
  out.readBirthDate = patient.birthDate;

  const matched = await client.operation({
    resourceType: 'Patient', name: '$match',
    input: { resourceType: 'Parameters', parameter: [{ name: 'resource', resource: { resourceType: 'Patient', name: patient.name, birthDate: patient.birthDate, gender: patient.gender } }] },
  });
  out.matchIds = (matched.entry || []).map((e) => e.resource.id);
  out.matchGrades = (matched.entry || []).map((e) => e.search.extension[0].valueCode);

  const imms = await client.search({ resourceType: 'Immunization', searchParams: { patient: `Patient/${patientId}` } });
  out.immunizations = (imms.entry || []).map((e) => ({ cvx: e.resource.vaccineCode.coding[0].code, status: e.resource.status, primarySource: e.resource.primarySource }));

  const recs = await client.search({ resourceType: 'ImmunizationRecommendation', searchParams: { patient: patientId } });
  out.recommendationGroups = recs.entry[0].resource.recommendation.length;

  const fc = await client.operation({ resourceType: 'Patient', id: patientId, name: '$immds-forecast', method: 'GET' });
  out.forecastParameters = fc.parameter.map((p) => p.name);

  try {
    await client.read({ resourceType: 'Patient', id: '999999999' });
    out.unknownRead = 'found';
  } catch (e) {
    out.unknownRead = e.response ? e.response.status : String(e);
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => {
  console.error(e && e.response ? JSON.stringify(e.response.data) : e);
  process.exit(1);
});
