// What every browser test shares: Debian's Chromium driven by playwright-core, a context per test (so
// each starts as a new visitor, without cookies), a guard that fails the test on any request to a host
// other than this machine, on a Content-Security-Policy violation or on an uncaught error, and a
// screenshot per test.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { chromium } from "playwright-core";

export const BASE_URL = process.env.MYCLOTHES_E2E_URL ?? "http://127.0.0.1:8000";
const SCREENSHOTS = process.env.MYCLOTHES_E2E_SCREENSHOTS ?? fileURLToPath(new URL("../../.e2e/screenshots", import.meta.url));
const LOCAL_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]"]);

export async function launchBrowser() {
  return chromium.launch({ executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium", timeout: 30_000 });
}

let visitors = 0;

/**
 * The address a new visitor comes from, as the balancer in front of the shop tells it (in
 * `X-Forwarded-For`, which the shop believes of 127.0.0.1): one of its own, as every shopper has, so
 * that the per-address budgets (ten sign-ins a minute) count one visitor's requests, not the suite's.
 * Distinct across the test files' processes by their ids, and within one for its first 256 visitors
 * (past 255 the last part would not be an address, and the shop would not believe it).
 */
function newAddress() {
  visitors += 1;
  return `10.${(process.pid >> 8) & 255}.${process.pid & 255}.${visitors & 255}`;
}

/** A fresh visitor: its own cookies and address, every request checked, every page problem recorded. */
export async function visit(browser) {
  const context = await browser.newContext({
    baseURL: BASE_URL,
    viewport: { width: 1280, height: 900 },
    extraHTTPHeaders: { "X-Forwarded-For": newAddress() },
  });
  context.setDefaultTimeout(10_000);
  const problems = [];
  await context.route("**/*", (route) => {
    const url = new URL(route.request().url());
    if (url.protocol === "data:" || LOCAL_HOSTS.has(url.hostname)) return route.continue();
    problems.push(`request to another host: ${url.href}`);
    return route.abort("blockedbyclient");
  });
  const page = await context.newPage();
  page.on("pageerror", (error) => problems.push(`uncaught: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.addInitScript(() =>
    document.addEventListener("securitypolicyviolation", (event) =>
      console.error(`CSP violation: ${event.violatedDirective} ${event.blockedURI}`)),
  );
  return { context, page, problems };
}

export async function screenshot(page, name) {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Saves the page's screenshot as `name`.png, then fails if anything went wrong on the way. */
export async function finish({ context, page, problems }, name) {
  await screenshot(page, name);
  await context.close();
  assert.deepEqual(problems, [], "the pages made requests to other hosts, broke their policy or threw");
}

/** Opens the storefront at `hash` and waits until it shows it. */
export async function openShop(page, hash = "#/shop") {
  await page.goto(`/${hash}`);
  await settled(page);
}

/** Waits until the storefront shows the view of the URL it is at. */
export async function settled(page) {
  await page.waitForFunction(() => {
    const main = document.querySelector("main");
    return document.body.dataset.ready === "true" && !main.hasAttribute("aria-busy") && main.dataset.shown === (location.hash || "#/shop");
  });
}

/** A GraphQL call from the test itself, to set up or check data (the pages make their own). */
export async function graphql(query, variables = {}) {
  const response = await fetch(new URL("/graphql", BASE_URL), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  assert.equal(body.errors, undefined, JSON.stringify(body.errors));
  return body.data;
}

/** A product with two sizes of one colour in stock, enough for a few test orders. */
export async function productWithTwoSizes() {
  const { products } = await graphql(`{
    products(first: 60, filter: { inStock: true }) {
      nodes { slug name variants { id sku size colour quantityAvailable } }
    }
  }`);
  for (const product of products.nodes) {
    for (const colour of new Set(product.variants.map((variant) => variant.colour))) {
      const sizes = product.variants.filter((variant) => variant.colour === colour && variant.quantityAvailable >= 5);
      if (sizes.length >= 2) return { ...product, colour, sizes: sizes.slice(0, 2) };
    }
  }
  throw new Error("no product has two sizes of one colour with 5 or more in stock");
}

/** Opens an account for `customer` from the account page; it ends signed in, on its profile. */
export async function register(page, customer) {
  await openShop(page, "#/account");
  const form = page.getByRole("form", { name: "Create an account" });
  await form.getByLabel("Name").fill(customer.name);
  await form.getByLabel("Email").fill(customer.email);
  await form.getByLabel("Password").fill(customer.password);
  await form.getByRole("button", { name: "Create account" }).click();
  await page.getByRole("heading", { level: 1, name: customer.name }).waitFor();
}

let customers = 0;

/** A new customer's credentials, unique to this run. */
export function newCustomer() {
  customers += 1;
  const id = `${Date.now().toString(36)}-${process.pid}-${customers}`;
  return { name: `Test Shopper ${customers}`, email: `e2e-${id}@example.test`, password: "correct horse battery" };
}

const STACK = fileURLToPath(new URL("../../scripts/stack", import.meta.url));

/**
 * The route (`#/page?token=…`) of the newest link to `page` mailed to `email`, read from the mail sink
 * (the `mail` table the worker writes, in the stack's database) as a shopper reads their mailbox;
 * waits up to 15 s for the worker.
 */
export async function mailedLink(email, page) {
  const link = `#/${page}?token=`;
  const sql = `SELECT substring(body from position('${link}' in body) for ${link.length + 64}) FROM mail
    WHERE recipient = '${email}' AND position('${link}' in body) > 0 ORDER BY created_at DESC LIMIT 1`;
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const { stdout } = await promisify(execFile)(STACK, ["psql", "-At", "-c", sql]);
    if (stdout.trim()) return stdout.trim();
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`no link to ${page} was mailed to ${email} within 15 s`);
}
