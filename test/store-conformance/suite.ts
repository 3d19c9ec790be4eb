/**
 * The storage contract's conformance suite: every backend (sqlite/, postgres/) passes it.
 * Each case gets a fresh, empty backend from `open` and cleans it up afterwards.
 */
import { describe, test } from "node:test";
import type { ConformanceBackend, Case, Open } from "./fixtures.js";
import type { Store } from "../../src/store/types.js";
import { directoryCases } from "./directory-cases.js";
import { queueCases } from "./queue-cases.js";
import { mailstoreCases } from "./mailstore-cases.js";
import { concurrencyCases } from "./concurrency-cases.js";
import { imapCases } from "./imap-cases.js";
import { dkimCases } from "./dkim-cases.js";
import { sendingCases } from "./sending-cases.js";
import { queueAdminCases } from "./queue-admin-cases.js";
import { authCases } from "./auth-cases.js";
import { keyValueCases } from "./kv-cases.js";
import { dmarcCases } from "./dmarc-cases.js";
import { deliveryEventCases } from "./delivery-events-cases.js";
import { counterCases } from "./counters-cases.js";
import { observabilityCases } from "./observability-cases.js";

export type { ConformanceBackend } from "./fixtures.js";

export function runStoreConformance(name: string, open: Open): void {
  const it: Case = (title: string, fn: (s: Store, b: ConformanceBackend) => Promise<void>) =>
    test(title, async () => {
      const b = await open();
      try {
        await fn(b.store, b);
      } finally {
        await b.cleanup();
      }
    });
  describe(`store conformance: ${name}`, () => {
    describe("directory", () => directoryCases(it));
    describe("queue", () => queueCases(it));
    describe("mailstore", () => mailstoreCases(it));
    describe("several nodes", () => concurrencyCases(it));
    describe("imap mailstore", () => imapCases(it));
    describe("dkim keys", () => dkimCases(it));
    describe("sending", () => sendingCases(it));
    describe("queue administration and DSNs", () => queueAdminCases(it));
    describe("authentication", () => authCases(it));
    describe("key-value (greylisting)", () => keyValueCases(it));
    describe("DMARC aggregate reports", () => dmarcCases(it));
    describe("delivery events (incoming DSNs), deferrals without an attempt", () => deliveryEventCases(it));
    describe("mailbox status counters", () => counterCases(it));
    describe("metrics and tracing reads", () => observabilityCases(it));
  });
}
