/** SEARCH evaluation over a mailbox's messages. */
export { searchMessages, type SearchItem } from "./evaluate.js";
