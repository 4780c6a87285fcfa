// GraphiQL, served by the api itself: it loads without the internet and runs its example query.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, visit, finish } from "./support.js";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

test("GraphiQL loads from the api, runs the example query and shows the schema's docs", async () => {
  const visitor = await visit(browser);
  const { page } = visitor;
  await page.goto("/graphiql");
  await page.locator(".graphiql-query-editor").getByText("query NewArrivals").waitFor();
  await page.locator(".graphiql-execute-button").click();
  const result = page.locator(".result-window");
  await result.getByText('"shop"').waitFor();
  assert.match(await result.textContent(), /"currency": "[A-Z]{3}"/);
  await page.getByRole("button", { name: "Show Documentation Explorer" }).click();
  await page.locator(".graphiql-doc-explorer").getByText("CheckoutInput").waitFor();
  await finish(visitor, "graphiql");
});
