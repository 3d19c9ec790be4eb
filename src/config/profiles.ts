import type { ConfigInput } from "./schema.js";

/** What `npm start` runs with no config file: loopback, high ports, data in ./data. */
export const DEVELOPMENT_PROFILE: ConfigInput = {
  hostname: "localhost",
  dataDir: "./data",
  listen: {
    smtp: "127.0.0.1:2525",
    submission: "127.0.0.1:2587",
    submissions: "127.0.0.1:2465",
    imap: "127.0.0.1:2143",
    imaps: "127.0.0.1:2993",
    pop3: "127.0.0.1:2110",
    pop3s: "127.0.0.1:2995",
    http: "127.0.0.1:8025",
  },
};

/** The local domain the development profile creates on first start. */
export const DEVELOPMENT_DOMAIN = "localhost";
