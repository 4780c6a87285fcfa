// The storefront in a real browser, as a shopper uses it: browsing, the bag, signing in, checking out.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { launchBrowser, visit, finish, screenshot, openShop, settled, productWithTwoSizes, newCustomer, register } from "./support.js";

let browser;
let product;

before(async () => {
  browser = await launchBrowser();
  product = await productWithTwoSizes();
});

after(() => browser?.close());

const bagCount = (page) => page.locator("#bag-count");
const resultCount = async (page) => Number((await page.getByTestId("result-count").textContent()).split(" ")[0]);


/** Clicks the first value of a facet and checks that the listing then shows as many products as it said. */
async function chooseFirstFacet(page, facet) {
  const link = page.getByRole("group", { name: facet }).getByRole("link").first();
  const [, label, promised] = (await link.getAttribute("aria-label")).match(/^(.*), (\d+) products$/);
  await link.click();
  await settled(page);
  await page.getByRole("group", { name: facet }).locator("a[aria-current=true]", { hasText: label }).waitFor();
  assert.equal(await resultCount(page), Number(promised), `the ${facet} ${label} promised ${promised} products`);
}

async function addSize(page, size) {
  await page.getByRole("button", { name: product.colour, exact: true }).click();
  await page.getByRole("button", { name: size, exact: true }).click();
  await page.getByRole("button", { name: "Add to bag" }).click();
  await page.getByRole("complementary", { name: "Bag" }).waitFor();
}

/** Adds one of each of the product's two sizes, from its page. */
async function addBothSizes(page) {
  await openShop(page, `#/product/${product.slug}`);
  await page.getByRole("heading", { level: 1, name: product.name }).waitFor();
  for (const [index, variant] of product.sizes.entries()) {
    await addSize(page, variant.size);
    await page.waitForFunction((count) => document.querySelector("#bag-count").textContent === String(count), index + 1);
  }
}

/** The session is an HttpOnly cookie: nothing the page's scripts can read holds a token. */
async function assertSessionOutOfReach({ context, page }) {
  const session = (await context.cookies()).find((cookie) => cookie.name === "mc_session");
  assert.ok(session?.httpOnly, "the session cookie is HttpOnly");
  const readable = await page.evaluate(() => [document.cookie, JSON.stringify(localStorage), JSON.stringify(sessionStorage)]);
  assert.deepEqual(readable, ["", "{}", "{}"]);
}

/** Types the test address into the address fields within `scope` (a page or a form). */
async function fillAddress(scope) {
  const fields = { "Full name": "Ada Shopper", Address: "1 Test Street", City: "Lyon", Postcode: "69001", "Country code (such as FR)": "FR" };
  for (const [label, value] of Object.entries(fields)) await scope.getByLabel(label, { exact: true }).fill(value);
}

async function placeOrder(page, card) {
  // The shipping methods load for the address's country; the cheapest is chosen.
  await page.getByRole("group", { name: "Shipping method" }).getByRole("radio", { checked: true }).waitFor();
  // The one list box whose label starts with "Card" (a product in the bag may be a cardigan).
  await page.getByRole("combobox", { name: /^Card/ }).selectOption(card);
  await page.getByRole("button", { name: "Place order" }).click();
}


/** An order's page after checkout: its number, with the access key that opens it in any browser. */
const ORDER_PAGE = /#\/order\/MC-\d+\?key=[0-9a-f]{32}$/;

function orderPage(page) {
  const { hash } = new URL(page.url());
  return { hash, number: decodeURIComponent(hash.split("/").pop().split("?")[0]) };
}

test("browse the catalogue and narrow it with the facets", async () => {
  const visitor = await visit(browser);
  const { page } = visitor;
  await openShop(page);
  const everything = await resultCount(page);
  await page.getByRole("navigation", { name: "Categories" }).getByRole("link").first().click();
  await page.waitForURL(/category=/);
  await settled(page);
  const department = await resultCount(page);
  assert.ok(department > 0 && department < everything, `a department (${department}) holds some of the ${everything} products`);
  await page.getByRole("navigation", { name: "Subcategories" }).getByRole("link").nth(1).click();
  await page.locator("nav[aria-label=Subcategories] a[aria-current=page]:not(:first-child)").waitFor();
  await settled(page);
  const category = await resultCount(page);
  assert.ok(category > 0 && category < department, `a category (${category}) holds some of its department's ${department}`);
  await chooseFirstFacet(page, "Size");
  await chooseFirstFacet(page, "Colour");
  await page.getByRole("link", { name: "In stock only" }).click();
  await page.waitForURL(/inStock=1/);
  await settled(page);
  const price = page.getByRole("form", { name: "Price" });
  await price.getByLabel("Price from").fill("1");
  await price.getByRole("button", { name: "Apply" }).click();
  await page.waitForURL(/minPrice=1/);
  await settled(page);
  await screenshot(page, "filtered-listing");
  const first = page.getByRole("list", { name: "Products" }).getByRole("link").first();
  if ((await first.count()) > 0) {
    await first.click();
    await page.getByRole("button", { name: "Add to bag" }).waitFor();
  }
  await finish(visitor, "product-from-the-listing");
});

test("two sizes of a product stay in the bag across a reload", async () => {
  const visitor = await visit(browser);
  const { page } = visitor;
  await addBothSizes(page);
  await page.reload();
  await settled(page);
  assert.equal(await bagCount(page).textContent(), "2");
  await page.getByRole("button", { name: /^Bag/ }).click();
  const bag = page.getByRole("complementary", { name: "Bag" });
  for (const variant of product.sizes) await bag.locator(`li[data-sku]`, { hasText: `Size ${variant.size} ` }).waitFor();
  const [first, second] = product.sizes.map((variant) => `${product.name}, ${product.colour}, ${variant.size}`);
  await bag.getByRole("button", { name: `One more ${first}` }).click();
  await page.waitForFunction(() => document.querySelector("#bag-count").textContent === "3");
  await screenshot(page, "bag-after-reload");
  await bag.getByRole("button", { name: `One fewer ${second}` }).click();
  await page.waitForFunction(() => document.querySelector("#bag-count").textContent === "2");
  assert.equal(await bag.locator("li[data-sku]").count(), 1, "a line down to 0 leaves the bag");
  await bag.getByRole("button", { name: `Remove ${first}` }).click();
  await bag.getByText("Your bag is empty.").waitFor();
  assert.equal(await bagCount(page).textContent(), "0");
  await finish(visitor, "bag-emptied");
});

test("logging in merges the guest's bag into the customer's", async () => {
  const customer = newCustomer();
  const before = await visit(browser);
  await register(before.page, customer);
  await openShop(before.page, `#/product/${product.slug}`);
  await addSize(before.page, product.sizes[0].size);
  await before.context.close();

  const visitor = await visit(browser);
  const { page } = visitor;
  await openShop(page, `#/product/${product.slug}`);
  await addSize(page, product.sizes[1].size);
  await page.waitForFunction(() => document.querySelector("#bag-count").textContent === "1");
  await openShop(page, "#/account");
  const form = page.getByRole("form", { name: "Log in" });
  await form.getByLabel("Email").fill(customer.email);
  await form.getByLabel("Password").fill(customer.password);
  await form.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("heading", { level: 1, name: customer.name }).waitFor();
  await page.waitForFunction(() => document.querySelector("#bag-count").textContent === "2");
  await page.getByRole("button", { name: /^Bag/ }).click();
  const lines = page.getByRole("complementary", { name: "Bag" }).locator("li[data-sku]");
  assert.deepEqual((await lines.evaluateAll((items) => items.map((item) => item.dataset.sku))).sort(), product.sizes.map((variant) => variant.sku).sort());
  await assertSessionOutOfReach(visitor);
  await finish(visitor, "login-merges-bag");
});

test("a customer saves an address, checks out to it with tok_visa, finds the order in their history and cancels it", async () => {
  const visitor = await visit(browser);
  const { page } = visitor;
  await register(page, newCustomer());
  await fillAddress(page.getByRole("form", { name: "Add an address" }));
  await page.getByRole("button", { name: "Save address" }).click();
  await page.getByRole("region", { name: "Address book" }).getByText("1 Test Street").waitFor();
  await addBothSizes(page);
  await page.getByRole("link", { name: "Check out" }).click();
  const checkout = page.getByRole("form", { name: "Checkout" });
  assert.ok(await checkout.getByRole("radio", { name: /1 Test Street/ }).isChecked(), "the saved address is chosen");
  const shipping = checkout.getByRole("group", { name: "Shipping method" });
  await shipping.getByRole("radio", { name: /^Standard/, checked: true }).waitFor();
  const express = shipping.getByRole("radio", { name: /^Express · 1 working day ·/ });
  await express.check();
  const code = checkout.getByRole("group", { name: "Discount code" });
  await code.getByLabel("Code").fill("welcome10");
  await code.getByLabel("Code").press("Enter");
  await code.getByText("Discount (WELCOME10)").waitFor();
  assert.ok(await express.isChecked(), "applying a code keeps the method chosen");
  assert.match(page.url(), /#\/checkout$/, "Enter in the code's field places no order");
  const total = await checkout.locator("p.subtotal", { hasText: /^Total/ }).textContent();
  await placeOrder(page, "tok_visa");
  await page.waitForURL(ORDER_PAGE);
  const { number } = orderPage(page);
  await page.getByRole("heading", { level: 1, name: `Order ${number}` }).waitFor();
  const order = page.getByRole("region", { name: `Order ${number}` });
  await order.getByText("1 Test Street").waitFor();
  const terms = await order.getByRole("term").allTextContents();
  const amounts = await order.getByRole("definition").allTextContents();
  const amount = (term) => amounts[terms.indexOf(term)];
  assert.deepEqual(terms, ["Subtotal", "Shipping (Express)", "Discount (WELCOME10)", "Total", "Including VAT"]);
  assert.equal(`Total ${amount("Total")}`, total, "the order costs the total shown at checkout");
  assert.match(amount("Including VAT"), /\d/, "the VAT in it");
  const payment = page.getByRole("region", { name: "Payment" });
  await payment.getByText(/^Authorised\b/).waitFor();
  assert.equal(await bagCount(page).textContent(), "0");
  await openShop(page, "#/account");
  const history = page.getByRole("region", { name: "Order history" });
  await history.getByRole("link", { name: number }).click();
  await page.getByRole("button", { name: "Cancel this order" }).click();
  await page.getByRole("region", { name: `Order ${number}` }).getByText(/^Cancelled ·/).waitFor();
  // Released before the worker captured it, refunded after.
  await payment.getByText(/^(Released|Refunded)\b/).waitFor();
  assert.equal(await page.getByRole("button", { name: "Cancel this order" }).count(), 0, "a cancelled order stays cancelled");
  await openShop(page, "#/account");
  await history.getByText(/Cancelled/).waitFor();
  await finish(visitor, "checkout-history-and-cancellation");
});

test("a declined card is reported and the bag is kept for another try", async () => {
  const visitor = await visit(browser);
  const { page } = visitor;
  await addBothSizes(page);
  await page.getByRole("link", { name: "Check out" }).click();
  const { email } = newCustomer();
  await page.getByLabel("Email for the confirmation").fill(email);
  await fillAddress(page);
  const code = page.getByRole("group", { name: "Discount code" });
  await code.getByLabel("Code").fill("nope");
  await code.getByRole("button", { name: "Apply" }).click();
  await code.getByRole("alert").filter({ hasText: "no such discount code" }).waitFor();
  await code.getByLabel("Code").fill("welcome10");
  await code.getByRole("button", { name: "Apply" }).click();
  await code.getByText("Discount (WELCOME10)").waitFor();
  await placeOrder(page, "tok_declined");
  await page.getByRole("alert").filter({ hasText: "declined" }).waitFor();
  assert.match(page.url(), /#\/checkout$/);
  assert.equal(await bagCount(page).textContent(), "2");
  await screenshot(page, "declined");
  await placeOrder(page, "tok_visa");
  await page.waitForURL(ORDER_PAGE);
  assert.equal(await bagCount(page).textContent(), "0");
  const { number, hash } = orderPage(page);
  await page.getByText("Bookmark this page").waitFor();
  await page.getByRole("term").filter({ hasText: "Discount (WELCOME10)" }).waitFor();
  await finish(visitor, "declined-then-paid");

  // Later, in another browser, the page's address (the confirmation mail's link) shows the order.
  const bookmarked = await visit(browser);
  await openShop(bookmarked.page, hash);
  await bookmarked.page.getByRole("region", { name: `Order ${number}` }).getByText("1 Test Street").waitFor();
  await finish(bookmarked, "guest-opens-order-link");

  // Without the link, the guest finds the order with its email (and only with it).
  const later = await visit(browser);
  await openShop(later.page, `#/order/${number}`);
  const find = later.page.getByRole("form", { name: `Find order ${number}` });
  await find.getByLabel("The email the order was placed with").fill(newCustomer().email);
  await find.getByRole("button", { name: "Find my order" }).click();
  await find.getByRole("alert").filter({ hasText: "No order with this number" }).waitFor();
  await find.getByLabel("The email the order was placed with").fill(email);
  await find.getByRole("button", { name: "Find my order" }).click();
  await later.page.getByRole("region", { name: `Order ${number}` }).getByText("1 Test Street").waitFor();
  await finish(later, "guest-finds-order");
});
