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
  });
}
