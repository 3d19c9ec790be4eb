/** The dkim_keys row, as both backends read it. */
import type { DkimAlgorithm, DkimKey, DkimKeyState } from "./types.js";

export interface DkimKeyRow {
  domain_ascii: string;
  selector: string;
  algorithm: string;
  private_key: string;
  public_key: string;
  state: string;
  created_at: number | string;
  retire_at: number | string | null;
}

export const toDkimKey = (r: DkimKeyRow): DkimKey => ({
  domain: r.domain_ascii,
  selector: r.selector,
  algorithm: r.algorithm as DkimAlgorithm,
  privateKey: r.private_key,
  publicKey: r.public_key,
  state: r.state as DkimKeyState,
  createdAt: Number(r.created_at),
  retireAt: r.retire_at === null ? null : Number(r.retire_at),
});
