// The checkout: who and where, a test card, then the order. One idempotency key per attempt at this
// bag, so pressing the button twice (or retrying after a lost answer) never places two orders. The
// order is placed only at the total shown: if a price moved meanwhile, the new total is shown instead.
import { graphql, userErrorMessages } from "./api.js";
import { h, show, formValues, errorList, money } from "./dom.js";
import { state, refresh } from "./state.js";
import { addressFields, addressInput, addressLines, ADDRESS_FIELDS } from "./address.js";
import { ORDER_FIELDS } from "./account.js";

const TEST_CARDS = [
  ["tok_visa", "Test Visa (approved)"],
  ["tok_declined", "Test card that is declined"],
  ["tok_unavailable", "Test card whose provider is down"],
];

export async function checkoutView() {
  const { cart } = state;
  if (cart.lines.length === 0) return h("section", { class: "panel" }, h("h1", {}, "Checkout"), h("p", {}, "Your bag is empty."), h("a", { href: "#/shop" }, "Continue shopping"));
  const addresses = state.me ? (await graphql(`query SavedAddresses { me { addresses { id ${ADDRESS_FIELDS} isDefaultShipping } } }`)).me?.addresses ?? [] : [];
  const idempotencyKey = crypto.randomUUID();
  const errors = h("div");
  const subtotal = h("strong", {}, money(cart.subtotal));

  const place = async (event) => {
    event.preventDefault();
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const input = checkoutInput(formValues(event.target), idempotencyKey);
      show(errors, errorList(await placeOrder(input)));
      if (state.cart.subtotal) show(subtotal, money(state.cart.subtotal));
    } catch (error) {
      show(errors, errorList([error.message]));
    } finally {
      button.disabled = false;
    }
  };

  return h("form", { class: "checkout", "aria-label": "Checkout", onSubmit: place },
    h("section", { class: "panel" },
      h("h1", {}, "Checkout"),
      h("ul", { class: "summary" }, cart.lines.map((line) => h("li", {}, `${line.quantity} × ${line.variant.product?.name ?? line.variant.sku} (${line.variant.colour}, ${line.variant.size}) — ${money(line.lineTotal)}`))),
      h("p", { class: "subtotal" }, "Subtotal ", subtotal),
    ),
    h("section", { class: "panel" },
      h("h2", {}, "Delivery"),
      state.me ? null : h("label", {}, "Email for the confirmation", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
      addresses.length ? savedAddressPicker(addresses) : addressFields(),
    ),
    h("section", { class: "panel" },
      h("h2", {}, "Payment"),
      h("label", {}, "Card", h("select", { name: "paymentToken" }, TEST_CARDS.map(([value, label]) => h("option", { value }, label)))),
      errors,
      h("button", { type: "submit", class: "primary" }, "Place order"),
    ),
  );
}

/** A customer's saved addresses, the default preselected, or a new one typed in. */
function savedAddressPicker(addresses) {
  const fields = addressFields();
  const toggle = (event) => {
    const typing = event.target.value === "new";
    fields.hidden = !typing;
    fields.disabled = !typing;
  };
  fields.hidden = fields.disabled = true;
  const preselected = addresses.find((address) => address.isDefaultShipping) ?? addresses[0];
  return h("div", {},
    addresses.map((address) => h("label", { class: "saved-address" },
      h("input", { type: "radio", name: "shippingAddressId", value: address.id, checked: address === preselected, onChange: toggle }),
      addressLines(address))),
    h("label", { class: "saved-address" }, h("input", { type: "radio", name: "shippingAddressId", value: "new", onChange: toggle }), "A new address"),
    fields,
  );
}

function checkoutInput(values, idempotencyKey) {
  const input = { paymentToken: values.paymentToken, idempotencyKey, expectedTotal: minorUnits(state.cart.subtotal) };
  if (values.email) input.email = values.email;
  if (values.shippingAddressId && values.shippingAddressId !== "new") input.shippingAddressId = values.shippingAddressId;
  else input.shippingAddress = addressInput(values);
  return input;
}

/** An amount's minor units: its decimal string has exactly the currency's digits ("89.99" is 8999). */
function minorUnits({ amount }) {
  return Number(amount.replace(".", ""));
}

/** Places the order and shows its confirmation; a declined card leaves the bag as it was, and a price
 * that moved brings the bag's new total. */
async function placeOrder(input) {
  const { checkout } = await graphql(`mutation Checkout($input: CheckoutInput!) { checkout(input: $input) { order { ${ORDER_FIELDS} } accessToken userErrors { code message } } }`, { input });
  const problems = userErrorMessages(checkout);
  if (checkout.userErrors.some((error) => error.code === "PRICE_CHANGED")) await refresh();
  if (checkout.order) {
    state.lastOrder = checkout.order;
    await refresh();
    // The order's own address: it shows the order in any browser, as the confirmation mail's link does.
    location.hash = `#/order/${checkout.order.number}?key=${checkout.accessToken}`;
  }
  return problems;
}
