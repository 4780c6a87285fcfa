// The pages the mailed links open, in a real browser: a forgotten password reset, an email address
// confirmed. The links are read from the mail sink, as a shopper reads their mailbox.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, visit, finish, screenshot, openShop, settled, mailedLink, newCustomer, register } from "./support.js";

let browser;

before(async () => {
  browser = await launchBrowser();
});

after(() => browser?.close());

async function logIn(page, email, password) {
  await openShop(page, "#/account");
  const form = page.getByRole("form", { name: "Log in" });
  await form.getByLabel("Email").fill(email);
  await form.getByLabel("Password").fill(password);
  await form.getByRole("button", { name: "Log in" }).click();
}

test("a customer who forgot their password chooses a new one through the mailed link, which then ends their sessions", async () => {
  const customer = newCustomer();
  const signedIn = await visit(browser);
  await register(signedIn.page, customer);

  const visitor = await visit(browser);
  const { page } = visitor;
  await openShop(page, "#/account");
  await page.getByRole("link", { name: "Forgot your password?" }).click();
  const request = page.getByRole("form", { name: "Reset your password" });
  await request.getByLabel("Email").fill(customer.email);
  await request.getByRole("button", { name: "Send the link" }).click();
  await page.getByRole("status").getByText(/a link to choose a new password is on its way/).waitFor();
  await screenshot(page, "reset-requested");

  const link = await mailedLink(customer.email, "reset-password");
  await openShop(page, link);
  const reset = page.getByRole("form", { name: "Choose a new password" });
  await reset.getByLabel(/^New password/).fill("short");
  await reset.getByRole("button", { name: "Set the password" }).click();
  await reset.getByRole("alert").filter({ hasText: "10" }).waitFor();
  await reset.getByLabel(/^New password/).fill("a brand new passphrase");
  await reset.getByRole("button", { name: "Set the password" }).click();
  await page.getByRole("status").getByRole("heading", { name: "Your password is changed" }).waitFor();
  await screenshot(page, "password-reset");

  // The other browser, still on its account page, finds itself signed out when it comes back.
  await signedIn.page.reload();
  await settled(signedIn.page);
  await signedIn.page.getByRole("form", { name: "Log in" }).waitFor();
  await finish(signedIn, "session-ended-by-reset");

  await logIn(page, customer.email, customer.password);
  await page.getByRole("form", { name: "Log in" }).getByRole("alert").waitFor();
  await logIn(page, customer.email, "a brand new passphrase");
  await page.getByRole("heading", { level: 1, name: customer.name }).waitFor();

  await openShop(page, link);
  const again = page.getByRole("form", { name: "Choose a new password" });
  await again.getByLabel(/^New password/).fill("yet another passphrase");
  await again.getByRole("button", { name: "Set the password" }).click();
  await again.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
  await finish(visitor, "reset-link-used-up");
});

test("a new customer confirms their email address with the link mailed again", async () => {
  const customer = newCustomer();
  const visitor = await visit(browser);
  const { page } = visitor;
  await register(page, customer);
  const profile = page.getByRole("heading", { level: 1, name: customer.name }).locator("..");
  await profile.getByText("Your email address is not confirmed yet").waitFor();
  const first = await mailedLink(customer.email, "verify-email");
  await profile.getByRole("button", { name: "Send the link again" }).click();
  await profile.getByRole("status").getByText("A new link is on its way").waitFor();
  let link = first;
  for (const deadline = Date.now() + 15_000; link === first && Date.now() < deadline;) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    link = await mailedLink(customer.email, "verify-email");
  }
  assert.notEqual(link, first, "a second link is mailed");

  await openShop(page, link);
  await page.getByRole("button", { name: "Confirm my email address" }).click();
  await page.getByRole("status").getByRole("heading", { name: "Your email address is confirmed" }).waitFor();
  await screenshot(page, "email-confirmed");
  await openShop(page, "#/account");
  await page.getByRole("heading", { level: 1, name: customer.name }).waitFor();
  assert.equal(await page.getByText("Your email address is not confirmed yet").count(), 0);

  await openShop(page, first);
  await page.getByRole("button", { name: "Confirm my email address" }).click();
  await page.getByRole("alert").filter({ hasText: "not valid" }).waitFor();
  await finish(visitor, "verification-link-used");
});
