/** The deliveries of one queued message (`petrel trace`), the same query and rows in both backends. */
import type { DeliveryRecord } from "./types.js";

export const DELIVERIES_OF = `SELECT d.rcpt_idx, a.address, b.name AS mailbox, d.uid, d.delivered_at
  FROM deliveries d LEFT JOIN accounts a ON a.id = d.account_id LEFT JOIN mailboxes b ON b.id = d.mailbox_id
  WHERE d.queue_id = ? ORDER BY d.rcpt_idx, d.account_id`;

export interface DeliveryRow {
  rcpt_idx: number;
  address: string | null;
  mailbox: string | null;
  uid: number | string | null;
  delivered_at: number | string;
}

export const toDeliveryRecord = (r: DeliveryRow): DeliveryRecord => ({ rcptIdx: Number(r.rcpt_idx), account: r.address, mailbox: r.mailbox, uid: r.uid === null ? null : Number(r.uid), deliveredAt: Number(r.delivered_at) });
