// What every view shares: who is signed in and what is in the bag, with a way to hear of changes.
import { graphql } from "./api.js";

export const MONEY = "amount currencyCode";

export const CART_FIELDS = `
  totalQuantity
  subtotal { ${MONEY} }
  discount { code amount { ${MONEY} } problem }
  lines {
    quantity
    unitPrice { ${MONEY} }
    lineTotal { ${MONEY} }
    warnings { code message }
    variant { id sku size colour quantityAvailable product { name slug } }
  }`;

const changes = new EventTarget();

export const state = {
  /** The signed-in customer ({ name, email }), or null for a guest. */
  me: null,
  /** The category tree's top level, each with its `children`. */
  categories: [],
  cart: { totalQuantity: 0, lines: [], subtotal: null },
  /** The order just placed, so that a guest sees its confirmation without looking it up. */
  lastOrder: null,
};

/** Calls `listener` whenever `what` ("me" or "cart") changes. */
export function onChange(what, listener) {
  changes.addEventListener(what, listener);
}

export function setCart(cart) {
  state.cart = cart;
  changes.dispatchEvent(new Event("cart"));
}

export function setMe(me) {
  state.me = me;
  changes.dispatchEvent(new Event("me"));
}

/** Reloads the customer and the cart, as after signing in or out. */
export async function refresh() {
  const data = await graphql(`query Refresh { me { name email } cart { ${CART_FIELDS} } }`);
  setMe(data.me);
  setCart(data.cart);
}
