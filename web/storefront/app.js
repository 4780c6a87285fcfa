// The storefront: a hash router over the views, the header, and the bag drawer.
import { graphql, RequestFailed } from "./api.js";
import { h, show } from "./dom.js";
import { state, onChange, refresh } from "./state.js";
import { listingView, productView } from "./catalog.js";
import { openCart, renderCart } from "./cart.js";
import { accountView, forgotPasswordView, orderView, resetPasswordView, verifyEmailView } from "./account.js";
import { checkoutView } from "./checkout.js";

const main = document.querySelector("main");

const routes = [
  [/^#\/product\/([^/?]+)$/, ([slug]) => productView(decodeURIComponent(slug))],
  [/^#\/account$/, () => accountView()],
  [/^#\/forgot-password$/, () => forgotPasswordView()],
  // The pages of the mailed links; a token cut short is refused by the server with its message.
  [/^#\/reset-password\?token=([^&]*)$/, ([token]) => resetPasswordView(decodeURIComponent(token))],
  [/^#\/verify-email\?token=([^&]*)$/, ([token]) => verifyEmailView(decodeURIComponent(token))],
  [/^#\/checkout$/, () => checkoutView()],
  [/^#\/order\/([^/?]+)(?:\?key=([0-9a-f]+))?$/, ([number, key]) => orderView(decodeURIComponent(number), key)],
  [/^#\/shop(\?.*)?$/, ([query]) => listingView(new URLSearchParams(query ?? ""))],
];

let latestRoute = 0;

/** Shows the view of the URL; when the URL changes again before a view has loaded, only the last shows. */
async function route() {
  const hash = location.hash || "#/shop";
  const match = routes.map(([pattern, view]) => [hash.match(pattern), view]).find(([found]) => found);
  const turn = ++latestRoute;
  main.setAttribute("aria-busy", "true");
  let view;
  try {
    view = match ? await match[1](match[0].slice(1)) : notFound();
  } catch (error) {
    view = h("section", { class: "panel", role: "alert" }, h("h1", {}, "Something went wrong"), h("p", {}, error.message));
  }
  if (turn !== latestRoute) return;
  show(main, view);
  // Which URL is on screen, for tests and tools to wait on.
  main.dataset.shown = hash;
  main.removeAttribute("aria-busy");
}

function notFound() {
  return h("section", { class: "panel" }, h("h1", {}, "Page not found"), h("a", { href: "#/shop" }, "Back to the shop"));
}

async function renderHeader() {
  const { shop, categories } = await graphql(`query Header { shop { name } categories { slug name children { slug name } } }`);
  state.categories = categories;
  document.title = shop.name;
  show(document.querySelector("#shop-name"), shop.name);
  show(
    document.querySelector("#categories"),
    categories.map((category) => h("a", { href: `#/shop?category=${encodeURIComponent(category.slug)}` }, category.name)),
  );
}

function renderAccountLink() {
  show(document.querySelector("#account-link"), state.me ? `Hi, ${state.me.name}` : "Sign in");
}

function renderBagCount() {
  show(document.querySelector("#bag-count"), String(state.cart.totalQuantity));
}

document.querySelector("#bag-button").addEventListener("click", openCart);
document.querySelector("#search").addEventListener("submit", (event) => {
  event.preventDefault();
  const words = new FormData(event.target).get("q").trim();
  location.hash = words ? `#/shop?q=${encodeURIComponent(words)}` : "#/shop";
});
onChange("me", renderAccountLink);
onChange("cart", () => {
  renderBagCount();
  renderCart();
});
window.addEventListener("hashchange", route);
// A call that failed as a whole (the shop unreachable, a rate limit) inside a button's handler.
window.addEventListener("unhandledrejection", (event) => {
  if (!(event.reason instanceof RequestFailed)) return;
  event.preventDefault();
  showNotice(event.reason.message);
});

function showNotice(message) {
  const notice = document.querySelector("#notice");
  show(notice, message);
  notice.hidden = false;
  setTimeout(() => (notice.hidden = true), 6000);
}

try {
  await Promise.all([renderHeader(), refresh()]);
  await route();
} catch (error) {
  show(main, h("section", { class: "panel", role: "alert" }, h("h1", {}, "The shop is not available"), h("p", {}, error.message)));
}
document.body.dataset.ready = "true";
