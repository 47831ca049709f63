// The browser build of the SDK: one ES module with socket.io-client's browser build inside, so a page
// imports it without a bundler (`<script type="module">import { createClient } from "/herald-client.browser.js"`).
// Also an IIFE for a plain <script> tag (global `Herald`).
import { build } from "rolldown";

const input = new URL("./index.ts", import.meta.url).pathname;
// `node bundle.mjs [OUTDIR]`: OUTDIR defaults to client/dist (the package); the server's build puts a copy in dist/browser for the demo page.
const dir = process.argv[2] ? `${process.argv[2].replace(/\/$/, "")}/` : new URL("./dist/", import.meta.url).pathname;
await build({ input, platform: "browser", output: { file: `${dir}herald-client.browser.js`, format: "esm", minify: true, sourcemap: true } });
await build({ input, platform: "browser", output: { file: `${dir}herald-client.browser.iife.js`, format: "iife", name: "Herald", minify: true, sourcemap: true } });
