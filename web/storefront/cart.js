// The bag: adding from the product page, and the drawer where quantities change.
import { graphql, userErrorMessages } from "./api.js";
import { h, show, money } from "./dom.js";
import { state, setCart, CART_FIELDS } from "./state.js";

const drawer = document.querySelector("#cart");
const notice = h("p", { class: "error", role: "alert" });

async function change(mutation, variables) {
  const data = await graphql(`mutation Cart(${mutation.params}) { result: ${mutation.call} { userErrors { message } cart { ${CART_FIELDS} } } }`, variables);
  setCart(data.result.cart);
  return userErrorMessages(data.result);
}

/** Adds a unit of the variant (the first add starts the session and its cookie); returns the problems. */
export async function addToCart(variantId, quantity) {
  const problems = await change({ params: "$variantId: ID!, $quantity: Int!", call: "addToCart(variantId: $variantId, quantity: $quantity)" }, { variantId, quantity });
  if (problems.length === 0) openCart();
  return problems;
}

function setQuantity(variantId, quantity) {
  return change({ params: "$variantId: ID!, $quantity: Int!", call: "updateCartLine(variantId: $variantId, quantity: $quantity)" }, { variantId, quantity });
}

export function openCart() {
  drawer.hidden = false;
  drawer.querySelector("h2").focus();
}

function closeCart() {
  drawer.hidden = true;
}

export function renderCart() {
  const { cart } = state;
  const body = drawer.querySelector(".cart-body");
  if (cart.lines.length === 0) {
    show(body, h("p", {}, "Your bag is empty."));
    return;
  }
  show(body,
    h("ul", { class: "lines" }, cart.lines.map(line)),
    notice,
    h("p", { class: "subtotal" }, "Subtotal ", h("strong", { "data-testid": "subtotal" }, money(cart.subtotal))),
    h("a", { class: "button primary", href: "#/checkout", onClick: closeCart }, "Check out"),
  );
}

function line({ variant, quantity, unitPrice, lineTotal, warnings }) {
  const name = `${variant.product?.name ?? variant.sku}, ${variant.colour}, ${variant.size}`;
  const step = (delta, label, text) =>
    h("button", {
      type: "button", class: "step", "aria-label": `${label} ${name}`,
      onClick: async () => show(notice, ...(await setQuantity(variant.id, quantity + delta))),
    }, text);
  return h("li", { class: "line", "data-sku": variant.sku },
    h("div", {},
      h("p", { class: "name" }, variant.product ? h("a", { href: `#/product/${variant.product.slug}`, onClick: closeCart }, variant.product.name) : variant.sku),
      h("p", { class: "muted" }, `${variant.colour} · Size ${variant.size} · ${money(unitPrice)}`),
      warnings.map((warning) => h("p", { class: "warning" }, warning.message)),
    ),
    h("div", { class: "quantity" },
      step(-1, "One fewer", "−"),
      h("span", { "aria-label": `Quantity of ${name}` }, String(quantity)),
      step(1, "One more", "+"),
      h("button", { type: "button", class: "link", "aria-label": `Remove ${name}`, onClick: async () => show(notice, ...(await setQuantity(variant.id, 0))) }, "Remove"),
    ),
    h("p", { class: "line-total" }, money(lineTotal)),
  );
}

drawer.querySelector(".close").addEventListener("click", closeCart);
window.addEventListener("hashchange", closeCart);
document.addEventListener("keydown", (event) => {
  if (event.key === "Escape") closeCart();
});
