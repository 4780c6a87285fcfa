// The guard every browser test relies on: a request to another host is blocked and fails the test.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, visit, screenshot } from "./support.js";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

test("a request to another host is blocked and reported", async () => {
  const { context, page, problems } = await visit(browser);
  await assert.rejects(page.goto("http://example.com/"), /ERR_BLOCKED_BY_CLIENT/);
  await screenshot(page, "other-host-blocked");
  await context.close();
  assert.deepEqual(problems, ["request to another host: http://example.com/"]);
});
