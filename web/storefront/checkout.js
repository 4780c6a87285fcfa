// The checkout: who and where, how it ships, a discount code, a test card, then the order. One
// idempotency key per attempt at this bag, so pressing the button twice (or retrying after a lost
// answer) never places two orders. The order is placed only at the total shown (the bag and its
// shipping, less the discount): if a price moved meanwhile, the new total is shown instead.
import { graphql, userErrorMessages } from "./api.js";
import { h, show, formValues, errorList, money } from "./dom.js";
import { state, refresh, MONEY } from "./state.js";
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
  const shipping = shippingChoice();

  const place = async (event) => {
    event.preventDefault();
    const button = event.target.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const input = checkoutInput(formValues(event.target), idempotencyKey, shipping.total);
      show(errors, errorList(await placeOrder(input)));
      if (state.cart.subtotal) {
        show(subtotal, money(state.cart.subtotal));
        await shipping.load();
      }
    } catch (error) {
      show(errors, errorList([error.message]));
    } finally {
      button.disabled = false;
    }
  };

  const form = h("form", { class: "checkout", "aria-label": "Checkout", onSubmit: place, onInput: shipping.load },
    h("section", { class: "panel" },
      h("h1", {}, "Checkout"),
      h("ul", { class: "summary" }, cart.lines.map((line) => h("li", {}, `${line.quantity} × ${line.variant.product?.name ?? line.variant.sku} (${line.variant.colour}, ${line.variant.size}) — ${money(line.lineTotal)}`))),
      h("p", { class: "subtotal" }, "Subtotal ", subtotal),
      discountControl(() => shipping.load()),
    ),
    h("section", { class: "panel" },
      h("h2", {}, "Delivery"),
      state.me ? null : h("label", {}, "Email for the confirmation", h("input", { name: "email", type: "email", required: true, autocomplete: "email" })),
      addresses.length ? savedAddressPicker(addresses) : addressFields(),
    ),
    shipping.section,
    h("section", { class: "panel" },
      h("h2", {}, "Payment"),
      h("label", {}, "Card", h("select", { name: "paymentToken" }, TEST_CARDS.map(([value, label]) => h("option", { value }, label)))),
      errors,
      h("button", { type: "submit", class: "primary" }, "Place order"),
    ),
  );
  shipping.form = form;
  shipping.countries = new Map(addresses.map((address) => [address.id, address.country]));
  await shipping.load();
  return form;
}

/** The shipping methods to the address's country, the cheapest chosen unless the shopper chose
 * another, and the total with the one chosen; loaded again whenever the address or the bag changes. */
function shippingChoice() {
  const choices = h("div");
  const total = h("strong");
  const choice = {
    form: null,
    countries: new Map(),
    section: h("section", { class: "panel" },
      h("h2", {}, "Shipping"),
      h("fieldset", { class: "shipping", "aria-label": "Shipping method" }, choices),
      h("p", { class: "subtotal" }, "Total ", total),
    ),
    load: async (event) => {
      if (event && !["country", "shippingAddressId", "shippingMethodId"].includes(event.target.name)) return;
      const values = formValues(choice.form);
      if (event?.target.name === "shippingMethodId") return showTotal(values.shippingMethodId);
      const saved = values.shippingAddressId && values.shippingAddressId !== "new";
      const country = saved ? choice.countries.get(values.shippingAddressId) : values.country?.toUpperCase();
      if (!country || country.length !== 2) {
        show(choices, h("p", {}, "Enter the address to see how it can ship."));
        return show(total);
      }
      const { cart } = await graphql(`query Shipping($country: String!) { cart { availableShippingMethods(country: $country) {
        method { id name minDeliveryDays maxDeliveryDays } price { ${MONEY} } } } }`, { country });
      choice.options = cart.availableShippingMethods;
      if (choice.options.length === 0) {
        show(choices, h("p", { role: "alert" }, `We do not ship to ${country}.`));
        return show(total);
      }
      const kept = choice.options.find((option) => option.method.id === values.shippingMethodId) ?? choice.options[0];
      show(choices, choice.options.map((option) => h("label", { class: "shipping-method" },
        h("input", { type: "radio", name: "shippingMethodId", value: option.method.id, required: true, checked: option === kept }),
        `${option.method.name} · ${days(option.method)} · ${money(option.price)}`)));
      showTotal(kept.method.id);
    },
  };
  const showTotal = (methodId) => {
    const option = choice.options.find((candidate) => candidate.method.id === methodId);
    const discount = state.cart.discount && !state.cart.discount.problem ? minorUnits(state.cart.discount.amount) : 0;
    choice.total = minorUnits(state.cart.subtotal) + minorUnits(option.price) - discount;
    show(total, money(inUnitsOf(choice.total, option.price)));
  };
  return choice;
}

/** The bag's discount code: a field to apply one, or the one applied with what it takes off. */
function discountControl(changed) {
  const control = h("div", { class: "discount", role: "group", "aria-label": "Discount code" });
  const render = (problems = []) => {
    const { discount } = state.cart;
    const applied = discount && h("p", { class: "subtotal" },
      `Discount (${discount.code})`,
      h("span", {}, discount.problem ? `does not apply: ${discount.problem.toLowerCase().replaceAll("_", " ")}` : `−${money(discount.amount)}`),
      h("button", { type: "button", onClick: () => act(`mutation RemoveCode { removeDiscountCode { userErrors { code message } } }`, {}) }, "Remove"));
    const apply = () => act(`mutation ApplyCode($code: String!) { applyDiscountCode(code: $code) { userErrors { code message } } }`, { code: field.value });
    // Enter applies the code; it must not place the order.
    const field = h("input", { name: "discountCode", autocomplete: "off", "aria-label": "Code", onKeydown: (event) => {
      if (event.key === "Enter") { event.preventDefault(); apply(); }
    } });
    show(control, applied || h("span", {}, field, h("button", { type: "button", onClick: apply }, "Apply")), errorList(problems));
  };
  // The total is brought up to date before the code shows as applied.
  const act = async (mutation, variables) => {
    const answer = Object.values(await graphql(mutation, variables))[0];
    await refresh();
    await changed();
    render(userErrorMessages(answer));
  };
  render();
  return control;
}

function days({ minDeliveryDays, maxDeliveryDays }) {
  const range = minDeliveryDays === maxDeliveryDays ? `${maxDeliveryDays}` : `${minDeliveryDays}–${maxDeliveryDays}`;
  return `${range} working day${maxDeliveryDays === 1 ? "" : "s"}`;
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

function checkoutInput(values, idempotencyKey, expectedTotal) {
  const input = { paymentToken: values.paymentToken, idempotencyKey, expectedTotal, shippingMethodId: values.shippingMethodId };
  if (values.email) input.email = values.email;
  if (values.shippingAddressId && values.shippingAddressId !== "new") input.shippingAddressId = values.shippingAddressId;
  else input.shippingAddress = addressInput(values);
  return input;
}

/** An amount's minor units: its decimal string has exactly the currency's digits ("89.99" is 8999). */
function minorUnits({ amount }) {
  return Number(amount.replace(".", ""));
}

/** `minor` units as an amount with the digits and currency of `like`. */
function inUnitsOf(minor, { amount, currencyCode }) {
  const digits = amount.split(".")[1]?.length ?? 0;
  return { amount: (minor / 10 ** digits).toFixed(digits), currencyCode };
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
