// The address fields, shared by the address book and the checkout.
import { h } from "./dom.js";

export const ADDRESS_FIELDS = "name line1 line2 city postalCode country phone";

const FIELDS = [
  ["name", "Full name", { required: true, autocomplete: "name" }],
  ["line1", "Address", { required: true, autocomplete: "address-line1" }],
  ["line2", "Address line 2 (optional)", { autocomplete: "address-line2" }],
  ["city", "City", { required: true, autocomplete: "address-level2" }],
  ["postalCode", "Postcode", { required: true, autocomplete: "postal-code" }],
  ["country", "Country code (such as FR)", { required: true, autocomplete: "country", maxlength: "2" }],
  ["phone", "Phone (optional)", { autocomplete: "tel", type: "tel" }],
];

export function addressFields() {
  return h("fieldset", { class: "address" }, h("legend", {}, "Address"),
    FIELDS.map(([name, label, attributes]) => h("label", {}, label, h("input", { name, ...attributes }))),
  );
}

/** The AddressInput of a form holding `addressFields()`. */
export function addressInput(values) {
  const input = {};
  for (const [name] of FIELDS) if (values[name]) input[name] = name === "country" ? values[name].toUpperCase() : values[name];
  return input;
}

export function addressLines(address) {
  return h("address", {},
    [address.name, address.line1, address.line2, `${address.postalCode} ${address.city}`, address.country]
      .filter(Boolean)
      .flatMap((text) => [text, h("br")]),
  );
}
