/** Operations: the DNS records a domain needs, checking them, and `petrel doctor`. */
export { domainRecords, formatZone, zoneLine, dmarcValue, spfValue, mtaStsPolicy, mtaStsId, type DnsRecord, type DomainRecords, type DkimKeyInfo, type RecordsInput } from "./records.js";
export { checkDomain, formatCheck, type DomainCheck, type RecordCheck, type CheckStatus } from "./check.js";
export { runDoctor, formatDoctor, BLOCKLISTS, type DoctorReport, type DoctorCheck, type DoctorInput } from "./doctor.js";
